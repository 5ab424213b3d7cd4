"""The controller's fencing of a lost host over an in-memory Env in virtual time: retried after a failure, given
up after stonith-max-attempts failures in a row (the count read from the replicated history, so a new DC goes
on counting), tried again once the configuration changes or the history is cleaned up; the lost host's
resources start elsewhere only after a fencing that succeeded.

The Env's `fence` stands in for RealEnv.fence, whose Fencer is tested with real agents in test_fencer.py and
across hosts in tests/cluster/test_fencing.py.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from appliance.cli import status_cmd, status_fencing, status_view
from appliance.engine import records
from appliance.engine.controller import Controller
from appliance.model import fence_history
from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib, Configuration
from appliance.model.fence_history import FenceEvent
from appliance.model.nodes import Node
from appliance.model.resources import AgentRef, Primitive
from appliance.model.status import Status
from appliance.scheduler.fencing_delay import node_priorities, priority_fencing_delay_ms
from appliance.scheduler.unpack import unpack
from tests.test_engine import FAILED, OK, MemoryEnv, ScriptedExecutor

pytestmark = pytest.mark.timeout(30)
DEVICE = Primitive("fence-node2", AgentRef("stonith", "fence_ipmilan"),
                   Attributes.of({"ip": "10.0.0.2", "pcmk_host_list": "node2"}))
WEB = Primitive("web", AgentRef("ocf", "Dummy", "heartbeat"))


class FencingEnv(MemoryEnv):
    """Fencing succeeds when `fixed`, else fails; each request is recorded as the Fencer records it."""

    def __init__(self, cib: Cib, executors):
        super().__init__(cib, executors)
        self.fenced: list[str] = []
        self.delays: list[float] = []
        self.fixed = False

    async def fence(self, target: str, action: str, delay_s: float = 0.0) -> bool:
        self.fenced.append(target)
        self.delays.append(delay_s)
        self.clock += 5
        state = "done" if self.fixed else "failed"
        event = FenceEvent(f"e{len(self.fenced)}", target, action, state, "node1", fence_history.CONTROLLER,
                           int(self.clock), "node1", DEVICE.id, int(self.clock), "" if self.fixed else "bad login")

        def edit(status: Status) -> Status:
            status = dataclasses.replace(status, fencing=fence_history.recorded(status.fencing, event))
            return records.host_fenced(status, target) if self.fixed else status
        self.edit_status(edit)
        return self.fixed


def lost_node2(max_attempts: str | None = "3", options: dict | None = None, web: Primitive = WEB,
               others: tuple[Primitive, ...] = (), hosts: int = 2) -> FencingEnv:
    options = {"stonith-enabled": "true", **(options or {})} | (
        {"stonith-max-attempts": max_attempts} if max_attempts else {})
    nodes = tuple(Node(f"node{n}", str(n)) for n in range(1, hosts + 1))
    configuration = Configuration(nodes=nodes, resources=(DEVICE, web, *others),
                                  cluster_options=Attributes.of(options))
    status = Status()
    for node in nodes:
        status = records.cluster_node_up(status, node.name, node.id)
    status = records.record_result(status, records.Outcome("node2", web.id, web.agent, "start", 0, OK, 100))
    for other in others:
        status = records.record_result(status, records.Outcome("node1", other.id, other.agent, "start", 0, OK, 100))
    status = records.cluster_node_down(status, "node2", "2")                 # lost: not a clean leave
    log: list = []
    env = FencingEnv(Cib(configuration, status, epoch=7),
                     {"node1": ScriptedExecutor({("fence-node2", "probe"): OK,
                                                 **{(o.id, "probe"): OK for o in others}}, log)})
    env.log = log
    return env


def rounds(env: FencingEnv, controller: Controller, limit: int = 30) -> None:
    async def run() -> None:
        for _ in range(limit):
            if not await controller.round():
                return
        raise AssertionError("the controller did not settle")
    asyncio.run(run())


def web_started_on_node1(env: FencingEnv) -> bool:
    return ("web", "start", 0) in env.log


def test_a_failing_fence_is_retried_up_to_stonith_max_attempts_then_given_up():
    env = lost_node2("3")
    controller = Controller(env)
    rounds(env, controller)
    assert env.fenced == ["node2"] * 3
    assert not web_started_on_node1(env)                                     # never before node2 is fenced
    rounds(env, controller)                                                  # a later round: still given up
    assert env.fenced == ["node2"] * 3
    rounds(env, Controller(env))                                             # a new DC reads the same count
    assert env.fenced == ["node2"] * 3
    warning = [w for w in status_fencing.warnings(env.read()) if "stopped trying" in w]
    assert warning and "fencing node2 failed 3 times in a row (stonith-max-attempts=3)" in warning[0]


def test_a_configuration_change_tries_again_and_a_success_recovers_the_lost_hosts_resources():
    env = lost_node2("2")
    controller = Controller(env)
    rounds(env, controller)
    assert env.fenced == ["node2"] * 2
    env.cib = dataclasses.replace(env.cib, epoch=env.cib.epoch + 1)          # an edit that does not help
    rounds(env, controller)
    assert env.fenced == ["node2"] * 3                                       # one more attempt, as Pacemaker
    env.fixed = True                                                         # the device's password corrected
    env.cib = dataclasses.replace(env.cib, epoch=env.cib.epoch + 1)
    rounds(env, controller)
    assert env.fenced == ["node2"] * 4
    assert web_started_on_node1(env)
    assert not [w for w in status_fencing.warnings(env.read()) if "stopped trying" in w]


def test_cleaning_up_the_fencing_history_starts_the_count_again():
    env = lost_node2("2")
    controller = Controller(env)
    rounds(env, controller)
    env.cib = dataclasses.replace(env.cib, epoch=env.cib.epoch + 1)
    rounds(env, controller)
    assert env.fenced == ["node2"] * 3
    env.edit_status(lambda s: dataclasses.replace(s, fencing=()))           # drover stonith history cleanup
    rounds(env, controller)
    assert env.fenced == ["node2"] * 5


def test_the_default_is_ten_attempts():
    env = lost_node2(None)
    rounds(env, Controller(env), limit=40)
    assert env.fenced == ["node2"] * 10


@pytest.mark.parametrize(("text", "expected"), [("", 10), ("0", 10), ("-3", 10), ("many", 10), ("2", 2),
                                                ("INFINITY", 1_000_000), ("+INFINITY", 1_000_000)])
def test_stonith_max_attempts_values(text: str, expected: int):
    assert fence_history.max_attempts({"stonith-max-attempts": text}) == expected


def test_failures_in_a_row_count_the_controllers_since_the_last_success():
    def event(n: int, state: str, client: str = fence_history.CONTROLLER, target: str = "h2", action="reboot"):
        return FenceEvent(f"e{n}", target, action, state, "h1", client, n)
    history = (event(1, "failed"), event(2, "done", client="drover stonith fence"), event(3, "failed"),
               event(4, "failed", client="drover stonith fence"), event(5, "failed", target="h3"),
               event(6, "failed", action="on"), event(7, "pending"), event(8, "failed"))
    assert fence_history.failures_in_a_row(history, "h2") == 2
    assert fence_history.failures_in_a_row(history, "h3") == 1
    assert fence_history.failures_in_a_row(history, "h4") == 0


def with_priority(primitive: Primitive, priority: int) -> Primitive:
    return dataclasses.replace(primitive, meta=Attributes.of({"priority": str(priority)}))


DB = with_priority(Primitive("db", AgentRef("ocf", "Dummy", "heartbeat")), 5)


def test_priority_fencing_delay_delays_fencing_the_host_with_the_most_important_resources():
    env = lost_node2(options={"priority-fencing-delay": "20s"}, web=with_priority(WEB, 10), others=(DB,))
    working = unpack(env.read())
    assert node_priorities(working) == {"node2": 10, "node1": 5}
    assert priority_fencing_delay_ms(working, "node2", 20_000) == 20_000
    assert priority_fencing_delay_ms(working, "node1", 20_000) == 0          # online here: not delayed
    rounds(env, Controller(env))
    assert env.fenced[0] == "node2" and env.delays[0] == 20.0


@pytest.mark.parametrize(("web_priority", "hosts", "delay", "why"), [
    (5, 2, "20s", "equal priorities"), (1, 2, "20s", "node1's resources matter more"),
    (10, 3, "20s", "this partition is a majority (2 of 3)"), (10, 2, "", "priority-fencing-delay unset")])
def test_priority_fencing_delay_does_not_apply(web_priority: int, hosts: int, delay: str, why: str):
    env = lost_node2(options={"priority-fencing-delay": delay} if delay else {},
                     web=with_priority(WEB, web_priority), others=(DB,), hosts=hosts)
    rounds(env, Controller(env))
    assert env.fenced and env.delays[0] == 0.0, why


REMOTE = Primitive("remote1", AgentRef("ocf", "remote", "pacemaker"), Attributes.of({"server": "10.0.0.21"}))
REMOTE_DEVICE = Primitive("fence-remote1", AgentRef("stonith", "fence_ipmilan"),
                          Attributes.of({"ip": "10.0.0.31", "pcmk_host_list": "remote1"}))


def lost_remote_node() -> FencingEnv:
    """remote1's connection (run from node1) failed its monitor while web ran on remote1."""
    configuration = Configuration(nodes=(Node("node1", "1"),), resources=(REMOTE_DEVICE, REMOTE, WEB),
                                  cluster_options=Attributes.of({"stonith-enabled": "true",
                                                                 "stonith-max-attempts": "2"}))
    status = records.cluster_node_up(Status(), "node1", "1")
    status = records.record_result(status, records.Outcome("node1", REMOTE_DEVICE.id, REMOTE_DEVICE.agent, "start",
                                                           0, OK, 100))
    status = records.record_result(status, records.Outcome("node1", REMOTE.id, REMOTE.agent, "start", 0, OK, 100))
    status = records.remote_node_state(status, "remote1", up=True)
    status = records.record_result(status, records.Outcome("remote1", WEB.id, WEB.agent, "start", 0, OK, 110))
    status = records.record_result(status, records.Outcome("node1", REMOTE.id, REMOTE.agent, "monitor", 30_000,
                                                           FAILED, 200))
    log: list = []
    env = FencingEnv(Cib(configuration, status, epoch=3), {"node1": ScriptedExecutor({}, log)})
    env.log = log
    return env


def test_a_remote_node_whose_connection_failed_is_fenced_through_its_device_before_its_resources_move():
    env = lost_remote_node()
    controller = Controller(env)
    rounds(env, controller)
    assert env.fenced == ["remote1", "remote1"]                              # the device, as a host's
    assert not web_started_on_node1(env)                                     # web may still run on remote1
    env.fixed = True
    env.cib = dataclasses.replace(env.cib, epoch=env.cib.epoch + 1)
    rounds(env, controller)
    assert env.fenced[-1] == "remote1"
    assert web_started_on_node1(env)
    assert ("remote1", "stop", 0) in env.log and ("remote1", "start", 0) in env.log   # the connection recovered
    assert not [h for h in env.read().status.history if h.node == "remote1" and h.resource == "web"]


def test_status_shows_the_lost_remote_node_unclean_as_crm_mon_does():
    env = lost_remote_node()
    text = status_cmd.render_text(status_view.build(env.read(), "c", "node1", "x"), env.clock)
    assert "RemoteNode remote1: UNCLEAN (offline)" in text
