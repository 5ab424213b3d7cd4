"""shutdown-lock run by the controller (an in-memory Env in virtual time): a resource on a host that shuts down
cleanly is stopped there and waits for that host (its history entry records the lock), the lock survives the host
leaving and rejoining, and the resource starts there again, which ends the lock. The scheduling itself is compared
with crm_simulate on tests/scheduler/node_states/."""

from __future__ import annotations

import pytest

from appliance.engine import records
from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib, Configuration
from appliance.model.nodes import Node
from appliance.model.resources import AgentRef, Primitive
from appliance.model.status import Status
from tests.test_engine import OK, MemoryEnv, ScriptedExecutor, converge, node_up

pytestmark = pytest.mark.timeout(30)
WEB = Primitive("web", AgentRef("ocf", "Dummy", "heartbeat"))
SHUTDOWN_AT = 1_000_000


def _web_on_node2_shutting_down(lock: str) -> tuple[MemoryEnv, list, list]:
    configuration = Configuration(nodes=(Node("node1", "1"), Node("node2", "2")), resources=(WEB,),
                                  cluster_options=Attributes.of({"stonith-enabled": "false", "shutdown-lock": lock}))
    status = node_up(node_up(Status()), "node2")
    status = records.record_result(status, records.Outcome("node1", "web", WEB.agent, "monitor", 0,
                                                           records.OpResult(records.ExecStatus.DONE, 7), 100))
    status = records.record_result(status, records.Outcome("node2", "web", WEB.agent, "start", 0, OK, 100))
    status = status.with_transient("node2", Attributes.of({"shutdown": str(SHUTDOWN_AT)}))
    on_node1, on_node2 = [], []
    env = MemoryEnv(Cib(configuration, status), {"node1": ScriptedExecutor({}, on_node1),
                                                 "node2": ScriptedExecutor({}, on_node2)})
    return env, on_node1, on_node2


def _entry(env: MemoryEnv, node: str):
    return next(h for h in env.cib.status.history if h.node == node and h.resource == "web")


def test_a_resource_waits_for_its_host_through_its_shutdown_and_starts_there_again() -> None:
    env, on_node1, on_node2 = _web_on_node2_shutting_down("true")
    converge(env)
    assert ("web", "stop", 0) in on_node2 and ("web", "start", 0) not in on_node1
    assert _entry(env, "node2").shutdown_lock == SHUTDOWN_AT
    env.edit_status(lambda s: records.cluster_node_down(s, "node2", "2"))          # it has left
    converge(env)
    assert ("web", "start", 0) not in on_node1
    # it comes back: its history is learned again, but the lock stays (Pacemaker's DC erases unlocked entries)
    env.edit_status(lambda s: node_up(records.forget_hosts(s, frozenset({"node2"})), "node2"))
    assert _entry(env, "node2").shutdown_lock == SHUTDOWN_AT
    before_rejoin = len(on_node2)
    converge(env)
    assert ("web", "start", 0) in on_node2[before_rejoin:] and ("web", "start", 0) not in on_node1
    assert _entry(env, "node2").shutdown_lock is None          # running again: the lock is over


def test_without_shutdown_lock_the_resource_moves() -> None:
    env, on_node1, on_node2 = _web_on_node2_shutting_down("false")
    converge(env)
    assert ("web", "stop", 0) in on_node2 and ("web", "start", 0) in on_node1
    assert _entry(env, "node2").shutdown_lock is None
