"""Writing one golden scheduler case: a directory with cib.xml, real Pacemaker's expected.json (crm_simulate)
and meta.json. The generators (failure_cases.py, migration_cases.py, ticket_cases.py) share it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.scheduler import oracle


def write_case(out: Path, name: str, text: str, tier: str, source: str) -> tuple[Path, dict]:
    """Returns the case's directory and crm_simulate's placement for it."""
    case = out / name
    case.mkdir(parents=True, exist_ok=True)
    (case / "cib.xml").write_text(text)
    with tempfile.TemporaryDirectory() as scratch:
        stdout, _ = oracle.run_crm_simulate(str(case / "cib.xml"), str(Path(scratch) / "out.xml"))
    placement = oracle.placement_from_simulate_xml(stdout)
    (case / "expected.json").write_text(oracle.dumps(placement) + "\n")
    (case / "meta.json").write_text(json.dumps({"tier": tier, "source": source}) + "\n")
    return case, placement
