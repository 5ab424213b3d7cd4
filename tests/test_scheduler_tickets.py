"""Ticket constraints (rsc_ticket) against real Pacemaker: granted, revoked, never granted, standby, and each
loss-policy, for a primitive and for a promotable clone's Promoted role. The cases in tests/scheduler/tickets/
come from tests/scheduler/ticket_cases.py with crm_simulate's results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.model.cib_read import read_cib
from appliance.model.cib_write import write_cib
from appliance.model.values import ModelError
from appliance.scheduler.schedule import schedule
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.golden import committed
from tests.scheduler.golden import stored as stored_cib
from tests.scheduler.ticket_cases import OUT, cases

CASES = committed(OUT)


def test_every_case_of_the_generator_is_committed():
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tickets_are_scheduled_as_pacemaker_schedules_them(case: Path) -> None:
    assert_placement_is_pacemakers(case)


@pytest.mark.parametrize("name", ["revoked-with-fence-fences-its-node", "granted-promoted-ticket-keeps-it-promoted"])
def test_an_import_keeps_ticket_constraints_and_states_and_exports_them_unchanged(name: str, tmp_path: Path) -> None:
    original = read_cib((OUT / name / "cib.xml").read_bytes(), name)
    assert original.configuration.tickets and original.status.tickets
    stored = stored_cib(original, tmp_path)
    assert stored.configuration.constraints == original.configuration.constraints
    assert stored.status.tickets == original.status.tickets
    exported = read_cib(write_cib(stored).encode(), "exported")
    assert exported.configuration.constraints == original.configuration.constraints
    assert exported.status.tickets == original.status.tickets
    assert schedule(exported) == schedule(original)


def test_a_ticket_constraint_with_an_unknown_loss_policy_is_refused_with_its_id() -> None:
    cib = (OUT / "revoked-stops-it" / "cib.xml").read_text()
    broken = re.sub(r'loss-policy="\w+"', 'loss-policy="explode"', cib)
    if broken == cib:
        broken = cib.replace("<rsc_ticket ", '<rsc_ticket loss-policy="explode" ')
    with pytest.raises(ModelError, match="invalid loss-policy 'explode'"):
        read_cib(broken.encode(), "broken.xml")
