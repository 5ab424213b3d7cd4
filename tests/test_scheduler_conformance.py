"""The scheduler against real Pacemaker: every committed corpus case must give Pacemaker's result, except the
ones listed in tests/scheduler/known_differences.txt, which must still differ (so the list stays honest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scheduler.conformance import DEFAULT_CORPUS, diff, run_case

CASES = sorted(p for p in DEFAULT_CORPUS.iterdir() if (p / "cib.xml").is_file())
KNOWN = Path(__file__).parent / "scheduler" / "known_differences.txt"


def _known() -> dict[str, str]:
    known = {}
    for line in KNOWN.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            case, _, reason = line.partition(" ")
            known[case] = reason.strip()
    return known


KNOWN_DIFFERENCES = _known()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_scheduler_places_everything_where_pacemaker_does(case: Path) -> None:
    same, got, expected = run_case(case)
    if case.name in KNOWN_DIFFERENCES:
        assert not same, f"{case.name} now matches Pacemaker: remove it from {KNOWN.name}"
        return
    assert same, "\n".join(diff(got, expected))


def test_known_differences_are_real_cases_with_reasons() -> None:
    names = {c.name for c in CASES}
    for case, reason in KNOWN_DIFFERENCES.items():
        assert case in names
        assert reason, f"{case} needs a reason"


def test_t1_and_t2_have_no_known_differences() -> None:
    tiers = {c.name: json.loads((c / "meta.json").read_text())["tier"] for c in CASES}
    assert not [case for case in KNOWN_DIFFERENCES if tiers[case] in ("T1", "T2")]
