"""`drover simulate --show-scores` against `crm_simulate -s` on the committed corpus: each clone's, group's and
primitive's allocation scores on every node and each promotable instance's promotion score, in placement order
(crm_simulate's pcmk__clone_allocate, pcmk__group_assign and pcmk__primitive_assign lines and its "promotion score"
lines), must be crm_simulate's line for line; the cases listed in scheduler/known_score_differences.txt must still
differ (so a fix shows)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from appliance.cli.simulate_cmd import effective_date, summary
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import schedule

CORPUS = Path(__file__).parent / "scheduler" / "corpus"
KNOWN = {line.strip() for line in (CORPUS.parent / "known_score_differences.txt").read_text().splitlines()
         if line.strip() and not line.startswith("#")}
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "cib.xml").exists())


def crm_simulate_scores(cib: Path) -> list[str]:
    out = subprocess.run(["crm_simulate", "-x", str(cib), "-s"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines()
            if line.startswith(("pcmk__primitive_assign: ", "pcmk__group_assign: ", "pcmk__clone_allocate: "))
            or " promotion score on " in line]


@pytest.mark.parametrize("case", CASES)
def test_allocation_scores_are_crm_simulates(case: str):
    path = CORPUS / case / "cib.xml"
    ours = list(schedule(read_cib(path.read_bytes(), str(path), SIMULATED), show_scores=True).scores)
    theirs = crm_simulate_scores(path)
    assert ours, "no score lines"
    if case in KNOWN:
        assert ours != theirs, f"{case} now matches: remove it from known_score_differences.txt"
    else:
        assert ours == theirs


def test_scores_are_printed_only_when_asked_and_between_status_and_summary():
    path = CORPUS / "t1-0003" / "cib.xml"
    cib = read_cib(path.read_bytes(), str(path), SIMULATED)
    now = effective_date(cib)
    plain, scored = summary(cib, now), summary(cib, now, show_scores=True)
    assert "allocation score" not in plain
    block = scored.split("Allocation Scores:\n")[1].split("\n\nTransition Summary:")[0]
    assert block.splitlines() == crm_simulate_scores(path)
    assert scored.replace("\n\nAllocation Scores:\n" + block, "") == plain
