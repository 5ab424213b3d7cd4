"""The fault suite's figures: each case records tries / survived / lost (and what it measured); the suite's
summary prints them (tests/fault/conftest.py) and writes build/fault-summary.txt for the README."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import BUILD


@dataclass(frozen=True)
class Figure:
    case: str
    tries: int
    survived: int
    lost: int
    detail: str = ""

    def line(self) -> str:
        return f"{self.case:<66} {self.tries:>5} {self.survived:>8} {self.lost:>5}  {self.detail}"


RECORDED: list[Figure] = []
HEADER = f"{'fault case':<66} {'tries':>5} {'survived':>8} {'lost':>5}  measured"


def record(case: str, tries: int, survived: int, lost: int, detail: str = "") -> Figure:
    figure = Figure(case, tries, survived, lost, detail)
    RECORDED.append(figure)
    return figure


def summary() -> str:
    return "\n".join([HEADER, *(figure.line() for figure in RECORDED)])


def write_summary() -> None:
    if RECORDED:
        BUILD.mkdir(exist_ok=True)
        (BUILD / "fault-summary.txt").write_text(summary() + "\n")
