"""`drover simulate`'s text against crm_simulate 2.1.5 on the committed corpus: the input's status is printed
exactly as crm_simulate prints it (its counts line, node lists, resources)."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from appliance.cli.simulate_cmd import summary
from appliance.model.cib_read import SIMULATED, read_cib

CORPUS = Path(__file__).parent / "scheduler" / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "cib.xml").exists())


def _until_transition(text: str) -> str:
    return text.split("Transition Summary:")[0]


@pytest.mark.parametrize("case", CASES)
def test_the_current_status_is_what_crm_simulate_prints(case: str):
    cib_path = CORPUS / case / "cib.xml"
    theirs = subprocess.run(["crm_simulate", "-S", "-x", str(cib_path)], capture_output=True, text=True, timeout=60)
    assert theirs.returncode == 0, theirs.stderr
    ours = summary(read_cib(cib_path.read_bytes(), str(cib_path), SIMULATED), datetime.now())
    assert _until_transition(ours) == _until_transition(theirs.stdout)
