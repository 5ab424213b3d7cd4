"""Unauthenticated peers cannot cost the hypervisor its guest: floods of idle, slow and failing connections
against a real drover-guest while the legitimate client connects and is served; log lines stay bounded."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from guest.agents.results import AgentSpec, Operation
from guest.common import tlsauth
from guest.protocol.operations import operation_to_args
from guest.server.admission import Admission, AdmissionLimits, LimitedLog
from tests.guestd import GuestDaemon
from tests.test_guest_daemon import connect

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def daemon(tmp_path):
    guest = GuestDaemon(tmp_path, settings="").start()
    yield guest
    assert guest.stop() == 0, guest.log()


def idle_connections(port: int, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def test_a_flood_of_idle_connections_does_not_lock_the_hypervisor_out(daemon):
    flood = idle_connections(daemon.port, 200)             # from the hypervisor's own address, even
    try:
        async def legitimate():
            began = time.monotonic()
            client = await connect(daemon)
            await client.request("ping")
            await client.close()
            return time.monotonic() - began
        assert asyncio.run(legitimate()) < 2
        more = idle_connections(daemon.port, 100, source="127.0.0.2")
        flood += more
        assert asyncio.run(legitimate()) < 2
    finally:
        for sock in flood:
            sock.close()
    log = daemon.log()
    assert log.count("evicted:") <= 20 + 2              # rate-limited: a burst of lines, then a summary
    assert "Traceback" not in log


def test_slow_loris_peers_are_evicted_or_timed_out_and_the_client_keeps_monitoring(daemon):
    async def scenario():
        client = await connect(daemon)
        writers = []
        for _ in range(40):
            _, writer = await asyncio.open_connection("127.0.0.1", daemon.port)
            writers.append(writer)
        for _ in range(3):                               # one byte a second from each
            for writer in writers:
                writer.write(b"\x16")
            await asyncio.sleep(1)
            await client.request("ping", timeout=2)
        for writer in writers:
            writer.transport.abort()
        await client.close()

    asyncio.run(scenario())
    assert "rejected: no TLS handshake and hello within 1s" in daemon.log()


def test_a_source_failing_many_handshakes_is_slowed_not_refused(daemon):
    wrong = [tlsauth.identity_from_authkey(b"a guess at the key that is long enough....")]

    async def scenario():
        for _ in range(25):
            try:
                client = await connect(daemon, wrong)
            except Exception:
                continue
            await client.close()
        began = time.monotonic()
        client = await connect(daemon)                  # same address: slowed by the penalty, still served
        await client.request("ping")
        await client.close()
        return time.monotonic() - began

    took = asyncio.run(scenario())
    assert 0.9 <= took < 5


def test_admission_evicts_the_oldest_of_a_source_then_of_all():
    clock = [0.0]
    evicted: list[str] = []
    admission = Admission(AdmissionLimits(max_unauthenticated=3, per_source=2, failures_before_penalty=2,
                                          penalty_per_source=1), clock=lambda: clock[0])

    def admit(key, source):
        return admission.admit(key, source, lambda reason, key=key: evicted.append(f"{key}: {reason}"))

    assert admit("a1", "A") == 0 and admit("a2", "A") == 0
    admit("a3", "A")
    assert evicted == ["a1: evicted: 2 unauthenticated connections from A"]
    admit("b1", "B")
    admit("c1", "C")
    assert evicted[-1] == "a2: evicted: 3 unauthenticated connections"
    admission.failed("D")
    admission.failed("D")
    assert admit("d1", "D") == 1.0                     # penalised: waits before its handshake
    admit("d2", "D")
    assert evicted[-1] == "d1: evicted: 1 unauthenticated connections from D"
    clock[0] = 61.0
    assert not admission.penalised("D") and admission.failures == {}


def test_limited_log_summarises_beyond_its_burst(caplog):
    clock = [0.0]
    import logging
    limited = LimitedLog(logging.getLogger("test.limited"), burst=3, window_s=10, clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING):
        for number in range(100):
            limited.warning("rejected peers", "peer %d rejected", number)
        clock[0] = 11.0
        limited.warning("rejected peers", "peer %d rejected", 100)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["peer 0 rejected", "peer 1 rejected", "peer 2 rejected",
                     "... and 97 more rejected peers in the last 11s", "peer 100 rejected"]


def test_a_second_peer_cannot_cancel_the_controllers_monitor(daemon, tmp_path):
    operation = operation_to_args(Operation("web", AgentSpec("ocf", "Dummy", "heartbeat"), "monitor", 500, 5000,
                                            {"state": str(tmp_path / "web.state")}))

    async def scenario():
        controller = await connect(daemon)
        changes = []
        controller.on_event = lambda name, data: changes.append(data["result"]["rc"])
        first = await controller.request("exec", operation)
        assert first["result"]["rc"] == 7
        other = await connect(daemon)              # a second authenticated peer: the same key, then it leaves
        await other.request("exec", operation)
        await other.request("cancel", {"resource": "web", "action": "monitor", "interval_ms": 500})
        await other.close()
        await asyncio.sleep(0.3)
        (tmp_path / "web.state").write_text("")    # the service starts: the controller's monitor must see it
        deadline = time.monotonic() + 5
        while 0 not in changes and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        status = await controller.request("status")
        await controller.close()
        return changes, status

    changes, status = asyncio.run(scenario())
    assert changes == [0]
    assert [entry["owner"].startswith("peer 127.0.0.1") for entry in status["recurring"]] == [True]


def test_state_per_connection_is_bounded_and_status_always_fits_a_frame(daemon):
    async def scenario():
        client = await connect(daemon)
        for start in range(0, 3000, 100):
            await asyncio.gather(*(client.request("exec", operation_to_args(Operation(
                f"r{number}", AgentSpec("ocf", "none", "heartbeat"), "monitor", 0, 1000)))
                for number in range(start, start + 100)))
        status = await client.request("status")
        await client.request("ping")
        await client.close()
        return status

    status = asyncio.run(scenario())
    assert status["truncated"] and 1000 < len(status["last_results"]) <= 2048      # the newest, within budget
    assert "r2999_monitor_0" in status["last_results"] and "r0_monitor_0" not in status["last_results"]
    assert all(result["output"] == "" for result in status["last_results"].values())


def test_a_peer_pipelining_thousands_of_requests_is_served_while_it_reads(daemon):
    # Answers beyond half the send queue wait for the peer to read (TCP slows it); it is not taken for one
    # that does not read its responses.
    async def scenario():
        client = await connect(daemon)
        answers = await asyncio.gather(*(client.request("ping", timeout=60) for _ in range(5000)))
        await client.request("status")
        await client.close()
        return answers

    assert asyncio.run(scenario()) == [{}] * 5000
    assert "not reading its responses" not in daemon.log()


def test_failed_handshakes_are_freed_without_the_cyclic_gc():
    # asyncio keeps a failed handshake's error in a frame of its own traceback (CPython gh-109534), and the
    # waiter future that hands it to us is held by that traceback's frames: each cycle pinned an SSLProtocol and
    # its 256 KiB buffer until the cyclic GC ran, and a flood of bad handshakes rarely makes it run.
    import gc
    import os
    from asyncio import sslproto

    from guest.server.server import GuestServer, ServerSettings

    async def scenario():
        server = GuestServer(ServerSettings("127.0.0.1", 0, 1.0, admission=AdmissionLimits(max_unauthenticated=8)),
                             [tlsauth.identity_from_authkey(b"k" * 32)], {}, "test")
        port = (await server.start())[0][1]
        writers = []
        for _ in range(100):                       # a burst: the oldest are evicted mid-handshake
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x16\x03\x01" + os.urandom(300))
            writers.append(writer)
        deadline = time.monotonic() + 10
        while (server._connection_tasks or server._admission.pending) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for writer in writers:
            writer.close()
        await server.close()

    gc.collect()
    gc.disable()
    try:
        asyncio.run(scenario())
        alive = [o for o in gc.get_objects() if isinstance(o, sslproto.SSLProtocol)]
    finally:
        gc.enable()
    assert alive == []
