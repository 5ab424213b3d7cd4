"""The fencer's decisions and their outcome: which devices (fencing-topology levels, priorities, pcmk_host_*),
run from which host, within which time, recorded how. Each "host" runs real agent processes (a shell fence
agent speaking the stdin key=value protocol) through its own FenceDevices; real fence_ipmilan is in
test_fence_agent.py and test_stonith.py."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from appliance.engine import records
from appliance.fencing.agent import FenceAgents
from appliance.fencing.devices import FenceDevices
from appliance.fencing.fencer import DeviceRun, Fencer
from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration
from appliance.model.constraints import Location
from appliance.model.fence_history import MAX_EVENTS, FenceEvent, describe, recorded
from appliance.model.fencing import FencingLevel
from appliance.model.nodes import Node
from appliance.model.resources import AgentRef, Primitive
from appliance.model.status import NodeState, OpRecord, ResourceHistory, Status
from appliance.model.values import INFINITY
from guest.agents.process import ProcessRunner

pytestmark = pytest.mark.timeout(60)
HOSTS = ["node1", "node2", "node3"]
AGENT = """#!/bin/sh
while IFS='=' read -r key value; do
  case "$key" in
    action) action=$value;; port) plug=$value;; log) log=$value;; fail) fail=$value;; list) list=$value;;
    hang) hang=$value;;
  esac
done
echo "$DROVER_HOST $action $plug" >> "$log"
if [ "$action" = list ]; then printf '%s\\n' $list; exit 0; fi
if [ -n "$hang" ]; then sleep 60; fi
case " $fail " in *" $action "*) echo "the BMC refused $action"; exit 1;; esac
exit 0
"""


class World:
    """Three hosts, each with its own agent directory (a host may lack the agent), and the status they share."""

    def __init__(self, tmp_path: Path, configuration: Configuration, without_agent: tuple[str, ...] = ()):
        self.log = tmp_path / "fence.log"
        self.log.touch()
        self.configuration = configuration
        self.status = Status(nodes=tuple(NodeState(h, str(i), "true", "online", "member", "member")
                                         for i, h in enumerate(HOSTS, 1)),
                             history=(ResourceHistory("node2", "web", AgentRef("ocf", "Dummy", "pacemaker")),))
        self.devices = {}
        for host in HOSTS:
            directory = tmp_path / host
            directory.mkdir()
            if host not in without_agent:
                (directory / "fence_test").write_text(AGENT)
                (directory / "fence_test").chmod(0o755)
            agents = FenceAgents(ProcessRunner(), directory, {"PATH": "/usr/bin:/bin", "DROVER_HOST": host})
            self.devices[host] = FenceDevices(agents)
        self.slept: list[float] = []

    async def run_on(self, host: str, run: DeviceRun):
        return await self.devices[host].fence(run)

    def record(self, edit) -> None:
        self.status = edit(self.status)

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def fence(self, target: str, action: str = "reboot", origin: str = "node1", draw: float = 0.5,
              members: list[str] | None = None, delay_s: float = 0.0) -> FenceEvent:
        fencer = Fencer(origin, self.run_on, self.record, lambda: 1000.0, self._sleep, lambda: draw)
        return asyncio.run(fencer.fence(self.configuration, self.status, target, action, members or HOSTS,
                                        "stonith_admin", delay_s))

    def runs(self) -> list[str]:
        return self.log.read_text().splitlines()


def device(rid: str, log: Path, **params: str) -> Primitive:
    return Primitive(rid, AgentRef("stonith", "fence_test"), Attributes.of({"log": str(log), **params}))


def configuration(*resources, levels=(), constraints=()) -> Configuration:
    return Configuration(nodes=tuple(Node(h, str(i)) for i, h in enumerate(HOSTS, 1)), resources=resources,
                         fencing_levels=levels, constraints=constraints)


def test_a_listed_device_fences_from_the_host_that_asked_and_the_target_is_recorded_down(tmp_path: Path):
    world = World(tmp_path, configuration())
    world.configuration = configuration(device("f1", world.log, pcmk_host_map="node2:plug-2"))
    event = world.fence("node2")
    assert (event.state, event.delegate, event.device, event.action) == ("done", "node1", "f1", "reboot")
    assert world.runs() == ["node1 reboot plug-2"]
    state = world.status.node_state("node2")
    assert (state.in_ccm, state.crmd, state.join, state.expected) == ("false", "offline", "down", "down")
    assert not [h for h in world.status.history if h.node == "node2"]        # nothing runs on a fenced host
    assert [e.state for e in world.status.fencing] == ["done"] and world.status.fencing[0].id == event.id


def test_the_device_runs_where_its_resource_runs_never_on_the_target_nor_where_it_is_banned(tmp_path: Path):
    world = World(tmp_path, configuration())
    ban = Location("ban-f1", rsc="f1", node="node1", score=-INFINITY)
    world.configuration = configuration(device("f1", world.log, pcmk_host_list="node1 node2 node3"),
                                        constraints=(ban,))
    running = OpRecord("f1_last_0", "start", 0, 3, 0, 0)
    world.status = dataclasses.replace(world.status, history=(
        *world.status.history, ResourceHistory("node3", "f1", AgentRef("stonith", "fence_test"), (running,))))
    world.fence("node2", "off")
    assert world.runs() == ["node3 off node2"]
    world.fence("node3", "off")                             # not on node3 itself, not on node1 (banned)
    assert world.runs()[-1] == "node2 off node3"


def test_a_failing_host_hands_over_to_the_next_and_a_failed_level_to_the_next_level(tmp_path: Path):
    world = World(tmp_path, configuration(), without_agent=("node1",))
    levels = (FencingLevel("fl-node2-1", 1, ("broken",), target="node2"),
              FencingLevel("fl-node2-2", 2, ("psu-a", "psu-b"), target_pattern="^node[23]$"))
    world.configuration = configuration(device("broken", world.log, pcmk_host_list="node2", fail="off reboot"),
                                        device("psu-a", world.log, pcmk_host_list="node2"),
                                        device("psu-b", world.log, pcmk_host_list="node2"), levels=levels)
    event = world.fence("node2")
    assert world.runs() == ["node3 reboot node2", "node3 reboot node2", "node3 reboot node2"]
    assert (event.state, event.device, event.delegate) == ("done", "psu-a,psu-b", "node3")


def test_nothing_that_can_fence_is_a_failed_event_naming_why_and_the_node_is_left_as_it_was(tmp_path: Path):
    world = World(tmp_path, configuration())
    world.configuration = configuration(device("f1", world.log, pcmk_host_list="node3"))
    event = world.fence("node2")
    assert event.state == "failed"
    assert "no fence device can fence node2" in event.exit_reason and "f1" in event.exit_reason
    assert world.status.node_state("node2").crmd == "online" and world.runs() == []
    failing = configuration(device("f1", world.log, pcmk_host_list="node2", fail="reboot"))
    world.configuration = failing
    event = world.fence("node2")
    assert event.state == "failed" and "the BMC refused reboot (exit code 1)" in event.exit_reason
    assert world.runs() == ["node1 reboot node2", "node3 reboot node2"]    # every allowed host tried
    assert world.status.node_state("node2").crmd == "online"
    level = FencingLevel("fl-node2-1", 1, ("gone",), target="node2")
    world.configuration = dataclasses.replace(failing, fencing_levels=(level,))
    assert "names gone, not configured" in world.fence("node2").exit_reason


def test_a_dynamic_list_asks_the_agent_and_priority_orders_devices(tmp_path: Path):
    world = World(tmp_path, configuration())
    world.configuration = configuration(
        device("low", world.log, list="node2 node3"),
        Primitive("high", AgentRef("stonith", "fence_test"), Attributes.of({"log": str(world.log), "list": "node2"}),
                  meta=Attributes.of({"priority": "10"})))
    assert world.fence("node2").device == "high"
    assert world.runs() == ["node1 list ", "node1 reboot node2"]
    assert world.fence("node3").device == "low"             # high's list does not name node3
    disabled = dataclasses.replace(world.configuration.resources[1], meta=Attributes.of({"target-role": "Stopped",
                                                                                          "priority": "10"}))
    world.configuration = dataclasses.replace(world.configuration, resources=(world.configuration.resources[0],
                                                                              disabled))
    assert world.fence("node2").device == "low"              # a disabled device is not used


def test_the_timeout_kills_a_hanging_agent_and_the_random_delay_is_waited_first(tmp_path: Path):
    world = World(tmp_path, configuration())
    world.configuration = configuration(device("slow", world.log, pcmk_host_list="node2", hang="1",
                                               pcmk_off_timeout="1s", pcmk_delay_base="2s", pcmk_delay_max="6s"))
    event = world.fence("node2", "off", members=["node1", "node2"])
    assert event.state == "failed" and "timed out after 1s" in event.exit_reason
    assert world.slept == [4.0]                              # 2s + 0.5 x (6s - 2s), once per request
    world.configuration = configuration(device("slow", world.log, pcmk_host_list="node2", hang="1"))
    world.configuration = dataclasses.replace(world.configuration,
                                              cluster_options=Attributes.of({"stonith-timeout": "1s"}))
    assert "timed out after 1s" in world.fence("node2", members=["node1", "node2"]).exit_reason
    world.slept.clear()
    world.configuration = configuration(device("f1", world.log, pcmk_host_list="node2", pcmk_delay_base="2s"))
    assert world.fence("node2", delay_s=20.0).state == "done"
    assert world.slept == [22.0]                             # priority-fencing-delay adds to the device's delay


def test_the_target_fences_itself_only_when_no_other_host_can(tmp_path: Path):
    world = World(tmp_path, configuration())
    world.configuration = configuration(device("f1", world.log, pcmk_host_list="node2"))
    world.fence("node2", members=["node2"])
    assert world.runs() == ["node2 reboot node2"]


def test_history_is_bounded_and_reads_as_stonith_admin_prints_it():
    events = ()
    for number in range(MAX_EVENTS + 5):
        events = recorded(events, FenceEvent(f"e{number}", "node2", "reboot", "pending", "node1", "drover", number))
    assert len(events) == MAX_EVENTS and events[0].id == "e5"
    done = events[-1].finished("done", 70, "node3", "ipmi")
    assert recorded(events, done)[-1] == done and len(recorded(events, done)) == MAX_EVENTS
    assert describe(done, str) == "reboot of node2 successful: delegate=node3, client=drover, origin=node1, " \
        "completed='70'"
    failed = done.finished("failed", 80, exit_reason="timed out")
    assert describe(failed, str).endswith("last-failed='80' (timed out)")
    assert records.host_fenced(Status(), "node9").node_state("node9").expected == "down"


def test_a_fencer_cancelled_mid_run_leaves_a_failed_event_not_a_pending_one(tmp_path: Path):
    world = World(tmp_path, configuration())
    world.configuration = configuration(device("slow", world.log, pcmk_host_list="node2", hang="1"))

    async def cancelled() -> None:
        fencer = Fencer("node1", world.run_on, world.record, lambda: 1000.0, world._sleep, lambda: 0.0)
        task = asyncio.ensure_future(fencer.fence(world.configuration, world.status, "node2", "off", HOSTS, "t"))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(cancelled())
    assert [(e.state, e.exit_reason) for e in world.status.fencing] == \
        [("failed", "the fencer stopped before it ended")]
    assert world.status.node_state("node2").crmd == "online"
