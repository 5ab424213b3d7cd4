"""The controller runs live migrations as Pacemaker's does: migrate_to on the source (told the target), migrate_from
on the target (told the source), then the source's stop; a guest's services stay up while its VM migrates; a
failed or interrupted migration ends with the resource running once. In-memory Env in virtual time
(tests/test_engine.py); the libvirt side is tested in tests/test_virtual_domain.py."""

from __future__ import annotations

import asyncio
import dataclasses

from appliance.engine import records
from appliance.engine.controller import Controller
from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib, Configuration
from appliance.model.constraints import Location
from appliance.model.nodes import Node
from appliance.model.resources import Op, Primitive
from appliance.model.status import Status
from appliance.model.values import INFINITY
from appliance.scheduler.schedule import schedule
from guest.agents.results import Operation, OpResult
from tests.test_engine import DUMMY, FAILED, OK, VD, MemoryEnv, ScriptedExecutor, converge, node_up, two_nodes

MIGRATABLE = Attributes.of({"allow-migrate": "true"})


class Recording(ScriptedExecutor):
    def __init__(self, answers, log, seen: list[tuple[str, Operation]], node: str):
        super().__init__(answers, log)
        self.seen, self.node = seen, node

    async def execute(self, operation: Operation) -> OpResult:
        self.seen.append((self.node, operation))
        return await super().execute(operation)


def _prefer(cib: Cib, rid: str, node: str) -> Cib:
    constraints = tuple(c for c in cib.configuration.constraints if c.id != f"prefer-{rid}")
    constraints += (Location(f"prefer-{rid}", rid, node=node, score=100),)
    return dataclasses.replace(cib, configuration=dataclasses.replace(cib.configuration, constraints=constraints))


def _one_off(seen: list[tuple[str, Operation]]) -> list[tuple[str, str, str]]:
    return [(node, op.resource, op.action) for node, op in seen if op.action not in ("monitor", "meta-data")]


def test_a_move_of_a_migratable_resource_is_a_live_migration():
    seen: list[tuple[str, Operation]] = []
    db = Primitive("db", DUMMY, meta=MIGRATABLE, ops=(Op("m", "monitor", 10000),))
    env = MemoryEnv(_prefer(two_nodes(db), "db", "node1"), {n: Recording({}, [], seen, n) for n in ("node1", "node2")})
    converge(env)
    seen.clear()
    env.cib = _prefer(env.cib, "db", "node2")
    converge(env)
    assert _one_off(seen) == [("node1", "db", "migrate_to"), ("node2", "db", "migrate_from"), ("node1", "db", "stop")]
    operations = {op.action: op for _, op in seen}
    assert operations["migrate_to"].meta["migrate_target"] == "node2"
    assert operations["migrate_from"].meta["migrate_source"] == "node1"
    assert ("node2", "db", "monitor", 10000) in [(n, op.resource, op.action, op.interval_ms) for n, op in seen]
    assert schedule(env.cib).resources["db"] == [("node2", "Started")]
    last = next(op for h in env.cib.status.history if h.node == "node2" for op in h.ops if op.id == "db_last_0")
    assert (last.operation, last.extra.get("migrate_source"), last.extra.get("migrate_target")) == \
        ("migrate_from", "node1", "node2")


def test_a_failed_migrate_to_stops_it_on_both_sides_and_starts_it_once():
    seen: list[tuple[str, Operation]] = []
    db = Primitive("db", DUMMY, meta=MIGRATABLE)
    executors = {"node1": Recording({("db", "migrate_to"): FAILED}, [], seen, "node1"),
                 "node2": Recording({}, [], seen, "node2")}
    env = MemoryEnv(_prefer(two_nodes(db), "db", "node1"), executors)
    converge(env)
    seen.clear()
    env.cib = _prefer(env.cib, "db", "node2")
    converge(env)
    actions = _one_off(seen)
    assert actions[0] == ("node1", "db", "migrate_to")
    assert {("node1", "db", "stop"), ("node2", "db", "stop")} <= set(actions[1:3])      # wherever it may run
    assert actions[3:] == [("node2", "db", "start")]
    assert schedule(env.cib).resources["db"] == [("node2", "Started")]


def test_a_controller_killed_after_migrate_to_goes_on_with_migrate_from():
    seen: list[tuple[str, Operation]] = []
    db = Primitive("db", DUMMY, meta=MIGRATABLE)
    env = MemoryEnv(_prefer(two_nodes(db), "db", "node1"), {n: Recording({}, [], seen, n) for n in ("node1", "node2")})
    converge(env)
    env.cib = _prefer(env.cib, "db", "node2")
    # what a controller killed right after the migrate_to's result leaves behind
    env.edit_status(lambda s: records.record_result(s, records.Outcome(
        "node1", "db", DUMMY, "migrate_to", 0, OK, 2_000_000, migration=("node1", "node2"))))
    seen.clear()
    converge(env)
    assert _one_off(seen) == [("node2", "db", "migrate_from"), ("node1", "db", "stop")]


def test_a_guests_services_keep_running_while_its_vm_migrates():
    seen: list[tuple[str, Operation]] = []
    vm = Primitive("vm-guest1", VD, Attributes.of({"config": "/vm.xml"}),
                   Attributes.of({"remote-node": "guest1", "allow-migrate": "true"}))
    web = Primitive("webserver", DUMMY, ops=(Op("web-monitor", "monitor", 30000),))
    configuration = Configuration(nodes=(Node("node1", "1"), Node("node2", "2")), resources=(vm, web),
                                  constraints=(Location("web-in-guest", "webserver", node="guest1", score=INFINITY),),
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    cib = _prefer(Cib(configuration, node_up(node_up(Status()), "node2")), "vm-guest1", "node1")
    env = MemoryEnv(cib, {n: Recording({}, [], seen, n) for n in ("node1", "node2", "guest1")})
    converge(env)
    assert ("guest1", "webserver", "start") in _one_off(seen)
    seen.clear()
    env.cib = _prefer(env.cib, "vm-guest1", "node2")
    converge(env)
    actions = _one_off(seen)
    assert actions.index(("node1", "guest1", "stop")) < actions.index(("node1", "vm-guest1", "migrate_to")) < \
        actions.index(("node2", "vm-guest1", "migrate_from")) < actions.index(("node2", "guest1", "start"))
    assert not [a for a in actions if a[1] == "webserver"], actions         # never stopped, never started again
    placement = schedule(env.cib).resources
    assert placement["vm-guest1"] == [("node2", "Started")] and placement["webserver"] == [("guest1", "Started")]


def test_nothing_is_migrated_to_a_node_the_controller_cannot_reach():
    """node2 online but without an executor (a host whose daemon does not answer): the VM is not sent there."""
    seen: list[tuple[str, Operation]] = []
    db = Primitive("db", DUMMY, meta=MIGRATABLE)
    env = MemoryEnv(_prefer(two_nodes(db), "db", "node1"), {n: Recording({}, [], seen, n) for n in ("node1", "node2")})
    converge(env)
    del env.executors["node2"]
    env.cib = _prefer(env.cib, "db", "node2")
    seen.clear()

    async def rounds():
        controller = Controller(env)
        for _ in range(3):
            await controller.round()
    asyncio.run(rounds())
    assert _one_off(seen) == []
    assert schedule(env.cib).resources["db"] == [("node2", "Started")]      # what it would do, once it can
    running = [(h.node, op.operation) for h in env.cib.status.history for op in h.ops if op.id == "db_last_0"]
    assert ("node1", "start") in running
