"""Ticket constraints (rsc_ticket) against real Pacemaker: granted, revoked, never granted, standby, and each
loss-policy, for a primitive and for a promotable clone's Promoted role. The cases in tests/scheduler/tickets/
come from tests/scheduler/ticket_cases.py with crm_simulate's results."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.model.cib_read import read_cib
from appliance.model.values import ModelError
from tests.scheduler.conformance import diff, run_case
from tests.scheduler.ticket_cases import OUT, cases

CASES = sorted(p for p in OUT.iterdir() if (p / "cib.xml").is_file())


def test_every_case_of_the_generator_is_committed():
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tickets_are_scheduled_as_pacemaker_schedules_them(case: Path) -> None:
    same, got, expected = run_case(case)
    assert same, "\n".join(diff(got, expected))


def test_an_import_still_refuses_ticket_constraints_it_would_lose():
    cib = OUT / "revoked-stops-it" / "cib.xml"
    with pytest.raises(ModelError, match="ticket constraints are not supported"):
        read_cib(cib.read_bytes(), str(cib))
