"""Failures over time against real Pacemaker: failure-timeout expiry, a remote node's reconnect_interval, and a
guest's failed connection keeping its VM off the node (the container's fail count includes it). The cases in
tests/scheduler/failures/ come from tests/scheduler/failure_cases.py with crm_simulate's results."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.model.cib_read import read_cib
from appliance.scheduler.schedule import schedule
from tests.conftest import run_source
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.failure_cases import FUTURE, OUT, PAST
from tests.scheduler.golden import committed

CASES = committed(OUT)


def test_every_case_of_the_generator_is_committed():
    from tests.scheduler.failure_cases import cases
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_failures_expire_as_pacemaker_expires_them(case: Path) -> None:
    assert_placement_is_pacemakers(case)


def test_the_transition_says_when_the_next_failure_expires():
    cib = read_cib((OUT / "guest-connection-failure-not-yet-expired" / "cib.xml").read_bytes(), "case")
    now = datetime.fromtimestamp(FUTURE - 30, UTC).replace(tzinfo=None)
    assert schedule(cib, now).recheck_at == FUTURE + 60 + 1
    later = datetime.fromtimestamp(FUTURE + 61, UTC).replace(tzinfo=None)
    after = schedule(cib, later)
    assert after.recheck_at is None
    assert after.resources["webserver"] == [("guest1", "Started")]
    never = read_cib((OUT / "guest-connection-failed" / "cib.xml").read_bytes(), "case")
    assert schedule(never, datetime.fromtimestamp(PAST + 10**6, UTC).replace(tzinfo=None)).recheck_at is None


def test_a_guest_whose_vm_cannot_start_again_is_fenced_off_and_not_connected():
    """crm_simulate 2.1.5: `Fence (off) guest1 (resource: vm-guest1) 'guest is unclean'`, and no start of guest1
    or of what runs in it (both blocked)."""
    cib = OUT / "vm-stop-failure-blocks-its-guest" / "cib.xml"
    shown = run_source("drover", "simulate", "--xml-file", str(cib))
    assert shown.returncode == 0, shown.stderr
    summary = shown.stdout.split("Transition Summary:\n")[1].split("\n\n")[0].splitlines()
    assert summary == ["  * Fence (off) guest1 (resource: vm-guest1) 'guest is unclean'"]
