"""The exec group's protocol over an in-memory bus (the real CPG one is in tests/cluster): requests answered,
a host that leaves ends its requests, bad messages are dropped, an executor that raises still answers."""

from __future__ import annotations

import asyncio
import json

from appliance.cluster.host_exec import ExecHub
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation, OpResult

OPERATION = Operation("r1", AgentSpec("ocf", "Dummy", "pacemaker"), "start")


class Bus:
    """Every message to every hub, in one order, delivered on the loop (as CPG's dispatch would)."""

    def __init__(self) -> None:
        self.hubs: dict[int, ExecHub] = {}

    def endpoint(self, nodeid: int):
        bus = self

        class Endpoint:
            def send(self, payload: bytes) -> None:
                loop = asyncio.get_running_loop()
                for hub in list(bus.hubs.values()):
                    loop.call_soon(hub.delivered, nodeid, payload)
        return Endpoint()


class Executor:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.ran, self.listener = fail, [], None

    async def execute(self, operation: Operation) -> OpResult:
        if self.fail:
            raise RuntimeError("boom")
        self.ran.append(operation.key)
        return OpResult(ExecStatus.DONE, OcfRc.OK)

    async def start_recurring(self, operation: Operation, listener) -> OpResult:
        self.listener = listener
        return OpResult(ExecStatus.DONE, OcfRc.OK)

    async def cancel_recurring(self, resource: str, action: str, interval_ms: int) -> None:
        self.listener = None


def hubs(bus: Bus, executors: dict[str, Executor]) -> tuple[ExecHub, ExecHub]:
    dc = ExecHub(bus.endpoint(1), 1, lambda node: None)
    host = ExecHub(bus.endpoint(2), 2, executors.get)
    bus.hubs = {1: dc, 2: host}
    for hub in (dc, host):
        hub.names = {1: "h1", 2: "h2"}
        hub.membership((1, 2))
    return dc, host


def test_requests_run_on_the_host_that_owns_the_node_and_monitor_changes_come_back():
    async def scenario():
        bus, local = Bus(), Executor()
        dc, _host = hubs(bus, {"h2": local})
        executor = dc.executor(2, "h2")
        assert (await executor.execute(OPERATION)).rc == OcfRc.OK
        assert local.ran == ["r1_start_0"]
        unreachable = await dc.executor(2, "guest9").execute(OPERATION)
        assert unreachable.exec_status == ExecStatus.ERROR and "guest9 is not reachable from h2" in \
            unreachable.exit_reason
        seen = []
        monitor = Operation("r1", OPERATION.agent, "monitor", 2000)
        await executor.start_recurring(monitor, lambda op, result: seen.append((op.key, result.rc)))
        local.listener(monitor, OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING))
        await asyncio.sleep(0.01)
        assert seen == [("r1_monitor_2000", OcfRc.NOT_RUNNING)]
        assert dc.executor(3, "h3") is None                              # not in the group
    asyncio.run(scenario())


def test_a_host_that_leaves_ends_its_requests_and_an_executor_that_raises_still_answers():
    async def scenario():
        bus = Bus()
        dc, _host = hubs(bus, {"h2": Executor(fail=True)})
        failed = await dc.executor(2, "h2").execute(OPERATION)
        assert failed.exec_status == ExecStatus.ERROR and "could not run on h2: boom" in failed.exit_reason
        bus.hubs.pop(2)                                                   # h2 never answers again
        pending = asyncio.create_task(dc.executor(2, "h2").execute(OPERATION))
        await asyncio.sleep(0.01)
        dc.membership((1,))
        result = await asyncio.wait_for(pending, 1)
        assert result.exec_status == ExecStatus.ERROR and result.exit_reason == "host h2 left before answering"
    asyncio.run(scenario())


def test_bad_messages_are_dropped():
    async def scenario():
        bus, local = Bus(), Executor()
        dc, host = hubs(bus, {"h2": local})
        for payload in (b"not json", b"[1]", json.dumps({"protocol": 7, "kind": "exec"}).encode(),
                        json.dumps({"protocol": 1, "to": 2, "kind": "exec", "req": 1, "target": "h2",
                                    "op": {"resource": "../../etc"}}).encode(),
                        json.dumps({"protocol": 1, "to": 2, "kind": "nonsense"}).encode()):
            host.delivered(1, payload)
        await asyncio.sleep(0.01)
        assert local.ran == []
        assert (await dc.executor(2, "h2").execute(OPERATION)).rc == OcfRc.OK   # still serving
    asyncio.run(scenario())


def test_a_fence_request_runs_the_agent_on_the_asked_host_and_ends_when_that_host_leaves():
    from appliance.fencing.agent import FenceResult
    from appliance.fencing.fencer import DeviceRun

    async def scenario():
        bus = Bus()
        dc, host = hubs(bus, {})
        run = DeviceRun("ipmi", "fence_ipmilan", {"ip": "10.0.0.2"}, "off", "node3", 30.0)
        refused = await dc.fence(2, run)                       # h2 has no agents wired
        assert not refused.ok and refused.reason == "h2 cannot run fence agents"
        ran: list[DeviceRun] = []
        release = asyncio.Event()

        async def agents(asked: DeviceRun) -> FenceResult:
            ran.append(asked)
            await release.wait()
            return FenceResult(asked.action, True, duration_ms=5)
        host.run_fence = agents
        pending = asyncio.ensure_future(dc.fence(2, run))
        await asyncio.sleep(0.05)
        release.set()
        assert (await pending).ok and ran == [run]               # the whole run crossed the bus
        release.clear()
        pending = asyncio.ensure_future(dc.fence(2, run))
        await asyncio.sleep(0.05)
        dc.membership((1,))
        lost = await pending
        assert not lost.ok and lost.reason == "host h2 left before answering"
        release.set()
        await asyncio.sleep(0.01)
    asyncio.run(scenario())


def test_a_request_that_cannot_be_read_is_answered_with_the_reason_so_no_asker_waits():
    async def scenario():
        bus = Bus()
        dc, _host = hubs(bus, {"h2": Executor()})
        request = {"kind": "exec", "target": "h2", "op": {"resource": "r1", "standard": "nope", "type": "Dummy",
                                                          "action": "start"}}
        result = await asyncio.wait_for(dc.request(2, request), 5)
        assert result["exec_status"] != "done" and "unknown resource standard 'nope'" in str(result)
        fence = await asyncio.wait_for(dc.request(2, {"kind": "fence", "run": {"device": "x"}}), 5)
        assert fence["ok"] is False and "refused" in fence["reason"]
    asyncio.run(scenario())
