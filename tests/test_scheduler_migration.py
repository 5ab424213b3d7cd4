"""Live migration against real Pacemaker: which moves are migrations (migrate_to, migrate_from, then the source's
stop), and what an interrupted migration leads to. The cases in tests/scheduler/migrations/ come from
tests/scheduler/migration_cases.py with crm_simulate's placement and resource actions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli.simulate_text import render
from appliance.model.cib_read import read_cib
from appliance.scheduler import graph
from appliance.scheduler.schedule import schedule
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.golden import committed
from tests.scheduler.migration_cases import OUT

CASES = committed(OUT)


def _schedule(case: Path):
    return schedule(read_cib((case / "cib.xml").read_bytes(), str(case)))


def test_every_case_of_the_generator_is_committed():
    from tests.scheduler.migration_cases import cases
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_placement_and_resource_actions_are_pacemakers(case: Path) -> None:
    assert_placement_is_pacemakers(case)
    ours = sorted([a.task, a.resource, a.node] for a in _schedule(case).actions if a.task != "fence")
    assert ours == json.loads((case / "actions.json").read_text())


def test_a_migrating_vm_keeps_its_guest_and_the_connection_follows_it():
    transition = _schedule(OUT / "guest-vm-migrates")
    index = {(a.task, a.resource, a.node): i for i, a in enumerate(transition.actions)}
    needs = graph.predecessors(len(transition.actions), transition.orderings)

    def before(first, then) -> bool:
        seen, stack = set(), [index[then]]
        while stack:
            for earlier in needs[stack.pop()]:
                if earlier == index[first]:
                    return True
                if earlier not in seen:
                    seen.add(earlier)
                    stack.append(earlier)
        return False

    to, from_ = ("migrate_to", "vm-guest1", "node1"), ("migrate_from", "vm-guest1", "node2")
    assert before(to, from_) and before(from_, ("stop", "vm-guest1", "node1"))
    assert before(("stop", "guest1", "node1"), to)           # the connection leaves before the VM does
    assert before(from_, ("start", "guest1", "node2"))        # and is made again once it runs on node2
    assert not any(a.task == "fence" for a in transition.actions)      # the guest is not reset
    assert transition.actions[index[to]].peer == "node2" and transition.actions[index[from_]].peer == "node1"
    assert "* Migrate    vm-guest1" in render(transition)


def test_a_partial_migration_continues_with_migrate_from_and_names_its_source():
    transition = _schedule(OUT / "partial-migration-continues")
    (migrate_from,) = [a for a in transition.actions if a.task == "migrate_from"]
    assert (migrate_from.node, migrate_from.peer) == ("node2", "node1")
