"""Utilization and placement-strategy against real Pacemaker, and pcs's `resource utilization` / `node
utilization`. The cases in tests/scheduler/utilization/ come from tests/scheduler/utilization_cases.py with
crm_simulate's results."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from appliance.model.status import NodeState
from appliance.scheduler.schedule import schedule
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.golden import committed
from tests.scheduler.utilization_cases import OUT, cases
from tests.test_config_cli import Drover, drover  # noqa: F401  (the fixture)

CASES = committed(OUT)


def test_every_case_of_the_generator_is_committed():
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_utilization_is_scheduled_as_pacemaker_schedules_it(case: Path) -> None:
    assert_placement_is_pacemakers(case)


def test_pcs_utilization_commands_set_what_the_scheduler_places_by(drover: Drover) -> None:  # noqa: F811
    for name in ("vm1", "vm2", "vm3"):
        drover.ok("resource", "create", name, "ocf:pacemaker:Dummy")
        drover.ok("resource", "utilization", name, "cpu=4", "memory=4096")
    drover.ok("node", "utilization", "node1", "cpu=8", "memory=16384")
    drover.ok("property", "set", "placement-strategy=utilization", "stonith-enabled=false")
    assert drover.ok("resource", "utilization").splitlines() == [
        "Resource Utilization:", " vm1: cpu=4 memory=4096", " vm2: cpu=4 memory=4096", " vm3: cpu=4 memory=4096"]
    assert drover.ok("node", "utilization", "--name", "cpu").splitlines() == ["Node Utilization:", " node1: cpu=8"]
    cib = drover.cib()
    online = NodeState("node1", "1", "true", "online", "member", "member")
    placed = schedule(dataclasses.replace(cib, status=dataclasses.replace(cib.status, nodes=(online,)))).resources
    assert sorted(rid for rid, places in placed.items() if places) == ["vm1", "vm2"]     # 8 cpus: two of them
    refused = [
        (("resource", "utilization", "vm1", "cpu=four"),
         "drover: Value of utilization attribute must be integer: 'cpu=four'\n"),
        (("resource", "utilization", "nope", "cpu=1"), "drover: Unable to find a resource: nope\n"),
        (("node", "utilization", "nope", "cpu=1"), "drover: Unable to find a node: nope\n"),
        (("resource", "utilization", "vm1", "cpu"), "drover: missing value of 'cpu' option\n"),
    ]
    before = drover.state_bytes()
    for argv, message in refused:
        result = drover(*argv)
        assert result.code != 0 and result.err == message, (argv, result.err)
        assert drover.state_bytes() == before, argv
    drover.ok("resource", "utilization", "vm3", "cpu=", "memory=")
    assert drover.ok("resource", "utilization", "vm3").splitlines() == ["Resource Utilization:", " vm3: "]
