"""The hypervisor's side of a guest connection against a real drover-guest: what a failed request is called."""

from __future__ import annotations

import asyncio

import pytest

from appliance.guestlink.connections import Connections
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation
from guest.protocol.operations import MAX_TIMEOUT_MS
from tests.guestd import GuestDaemon

pytestmark = pytest.mark.timeout(60)
CONNECTION = AgentSpec("ocf", "remote", "pacemaker")


@pytest.fixture
def guest(tmp_path):
    daemon = GuestDaemon(tmp_path).start()
    yield daemon
    if daemon.process.poll() is None:                   # not killed by the test: it must stop cleanly
        assert daemon.stop() == 0, daemon.log()


def connections(guest: GuestDaemon, lost: list[str]) -> Connections:
    return Connections(guest.identities, guest.port, "node1", "drover test", on_lost=lost.append)


def connection_op(guest: GuestDaemon, action: str, interval_ms: int = 0) -> Operation:
    return Operation("guest1", CONNECTION, action, interval_ms, 10_000,
                     {"server": "127.0.0.1", "port": str(guest.port)})


def test_an_operation_the_guest_refuses_is_a_refusal_not_a_lost_connection(guest):
    async def scenario():
        lost: list[str] = []
        links = connections(guest, lost)
        assert (await links.run(connection_op(guest, "start"))).rc == OcfRc.OK
        refused = await links.executor("guest1").execute(
            Operation("webserver", AgentSpec("ocf", "Dummy", "heartbeat"), "start", timeout_ms=MAX_TIMEOUT_MS + 1))
        still_up = await links.run(connection_op(guest, "monitor", 30_000))
        await links.close_all()
        return refused, still_up, lost

    refused, still_up, lost = asyncio.run(scenario())
    assert refused.exec_status == ExecStatus.ERROR
    assert refused.exit_reason.startswith("guest1 refused start: ") and "timeout_ms" in refused.exit_reason
    assert "lost" not in refused.exit_reason
    assert still_up.rc == OcfRc.OK and lost == []


def test_a_guest_that_dies_is_reported_lost_at_once(guest):
    async def scenario():
        lost: list[str] = []
        links = connections(guest, lost)
        assert (await links.run(connection_op(guest, "start"))).rc == OcfRc.OK
        guest.process.kill()
        guest.process.wait(10)
        for _ in range(100):
            if lost:
                break
            await asyncio.sleep(0.05)
        gone = await links.run(connection_op(guest, "monitor", 30_000))
        await links.close_all()
        return lost, gone

    lost, gone = asyncio.run(scenario())
    assert lost == ["guest1"]
    assert gone.rc == OcfRc.NOT_RUNNING and gone.exit_reason == "not connected to guest1"


def test_every_resource_id_the_hypervisor_accepts_is_one_the_guest_runs(guest):
    from appliance.model.values import MAX_DURATION_MS
    longest = "w" + "x" * 254                                   # the longest id drover's CLI accepts

    async def scenario():
        links = connections(guest, [])
        assert (await links.run(connection_op(guest, "start"))).rc == OcfRc.OK
        probe = await links.executor("guest1").execute(
            Operation(f"{longest}:12", AgentSpec("ocf", "Dummy", "heartbeat"), "monitor", 0, MAX_DURATION_MS))
        await links.close_all()
        return probe

    probe = asyncio.run(scenario())
    assert probe.exec_status == ExecStatus.DONE and probe.rc == OcfRc.NOT_RUNNING, probe
