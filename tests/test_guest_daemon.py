"""drover-guest daemon and the appliance's client as two real processes over real TLS on 127.0.0.1,
with real OCF agents; and every kind of bad peer the daemon must survive."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from pathlib import Path

import pytest

from appliance.guestlink.client import GuestClient, GuestLinkError, RemoteError
from appliance.guestlink.link import GuestLink, LinkSettings
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation
from guest.common import authkey, tlsauth
from guest.protocol.connection import Connection, Role
from guest.protocol.framing import encode_frame
from tests.agents import processes_with_argument
from tests.guestd import GuestDaemon, free_port

DUMMY = AgentSpec("ocf", "Dummy", "heartbeat")
STATEFUL = AgentSpec("ocf", "Stateful", "pacemaker")
SLOW = AgentSpec("ocf", "slow", "test")


@pytest.fixture
def daemon(tmp_path):
    guest = GuestDaemon(tmp_path).start()
    yield guest
    assert guest.stop() == 0, guest.log()


async def connect(daemon: GuestDaemon, identities=None, **kwargs) -> GuestClient:
    return await GuestClient.connect("127.0.0.1", daemon.port, identities or daemon.identities, "drover test",
                                     "node1", timeout=5, **kwargs)


def test_dummy_and_stateful_through_tls(daemon, tmp_path):
    events = []

    async def scenario():
        client = await connect(daemon, on_event=lambda name, data: events.append((name, data["result"]["rc"])))
        assert client.connection.peer.software.startswith("drover-guest ")
        dummy = {"state": str(tmp_path / "web.state")}
        rcs = [(await client.execute(Operation("web", DUMMY, a, params=dummy))).rc
               for a in ("monitor", "start", "monitor")]
        first = await client.execute(Operation("web", DUMMY, "monitor", interval_ms=200, params=dummy))
        (tmp_path / "web.state").unlink()
        await asyncio.sleep(0.8)
        stateful = {"state": str(tmp_path / "db.state")}
        promoted = [(await client.execute(Operation("db", STATEFUL, a, params=stateful))).rc
                    for a in ("start", "promote", "monitor", "demote", "stop")]
        status = await client.request("status")
        await client.close()
        return rcs, first.rc, promoted, status

    rcs, first, promoted, status = asyncio.run(scenario())
    assert rcs == [OcfRc.NOT_RUNNING, OcfRc.OK, OcfRc.OK]
    assert first == OcfRc.OK
    assert events == [("op_result", OcfRc.NOT_RUNNING)]
    assert promoted == [0, 0, OcfRc.RUNNING_PROMOTED, 0, 0]
    assert status["last_results"]["db_monitor_0"]["rc"] == OcfRc.RUNNING_PROMOTED
    assert [r["operation"]["resource"] for r in status["recurring"]] == ["web"]


def test_the_daemon_never_loads_cryptography_yet_serves_the_derived_identity(daemon):
    asyncio.run(_ping(daemon))                                      # the TLS identity is the authkey's
    maps = Path(f"/proc/{daemon.process.pid}/maps").read_text()
    assert "cryptography" not in maps and "_cffi_backend" not in maps


async def _ping(daemon: GuestDaemon) -> None:
    client = await connect(daemon)
    try:
        await client.request("ping")
    finally:
        await client.close()


def test_identities_derived_apart_equal_those_derived_here(tmp_path):
    keys = [b"k" * 64, bytes(range(256)) * 16]
    assert tlsauth.identities_apart(keys) == [tlsauth.identity_from_authkey(key) for key in keys]


def test_bad_requests_get_error_responses_and_the_connection_stays(daemon):
    async def scenario():
        client = await connect(daemon)
        errors = []
        for op, args in [("frobnicate", {}), ("exec", {"standard": "ocf", "provider": "../../bin", "type": "sh",
                                                       "resource": "r", "action": "start"}),
                         ("cancel", {"resource": 5})]:
            with pytest.raises(RemoteError) as raised:
                await client.request(op, args)
            errors.append(str(raised.value))
        await client.request("ping")
        await client.close()
        return errors

    errors = asyncio.run(scenario())
    assert "unknown request 'frobnicate'" in errors[0]
    assert "'provider' '../../bin' has characters that are not allowed" in errors[1]
    assert "cancel needs resource, action and interval_ms" in errors[2]


def test_missing_agent_reports_not_installed(daemon):
    async def scenario():
        client = await connect(daemon)
        result = await client.execute(Operation("x", AgentSpec("ocf", "Nope", "heartbeat"), "start"))
        await client.close()
        return result

    result = asyncio.run(scenario())
    assert (result.exec_status, result.rc) == (ExecStatus.NOT_INSTALLED, OcfRc.ERR_INSTALLED)


def test_wrong_key_is_rejected_while_the_legitimate_client_is_served(daemon):
    wrong = [tlsauth.identity_from_authkey(b"not the cluster key")]

    async def scenario():
        good = await connect(daemon)
        with pytest.raises(GuestLinkError) as raised:
            await connect(daemon, wrong)
        await good.request("ping")
        await good.close()
        return str(raised.value)

    message = asyncio.run(scenario())
    assert "not made from our authkey" in message
    daemon.wait_log("rejected: closed the connection during the TLS handshake")


def test_server_rejecting_our_key_is_reported(tmp_path):
    # The client trusts the guest's key too (as during rotation) but presents another: only the server can
    # refuse, and TLS 1.3 tells the client on its first read, which is why the server speaks first.
    guest = GuestDaemon(tmp_path).start()
    other = tlsauth.identity_from_authkey(b"another key")

    async def scenario():
        with pytest.raises(GuestLinkError) as raised:
            await connect(guest, [other, *guest.identities])
        return str(raised.value)

    try:
        assert "rejected our authkey" in asyncio.run(scenario())
        guest.wait_log("rejected: TLS handshake failed")
    finally:
        assert guest.stop() == 0


def test_plain_tcp_garbage_is_dropped(daemon):
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert raw.recv(100) == b""  # closed, nothing learned
    daemon.wait_log("rejected: TLS handshake failed")

    async def still_serving():
        client = await connect(daemon)
        await client.request("ping")
        await client.close()

    asyncio.run(still_serving())


def test_plain_connect_and_close_is_not_blamed_on_the_authkey(daemon):
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5):
        pass                                # a port check: nothing sent, so no TLS was even tried
    daemon.wait_log("rejected: closed the connection before the TLS handshake, without sending anything")
    assert "authkey differs" not in daemon.log()


def test_silent_peer_is_dropped_after_the_handshake_timeout(daemon):
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as raw:
        began = time.monotonic()
        assert raw.recv(100) == b""
        assert time.monotonic() - began >= 0.9
    daemon.wait_log("rejected: no TLS handshake and hello within 1s")


def authenticated_socket(daemon: GuestDaemon) -> ssl.SSLSocket:
    """A raw TLS socket past the hello exchange, for sending hand-made frames."""
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    tls = tlsauth.client_context(daemon.identities).wrap_socket(raw)
    connection = Connection(Role.CLIENT, "raw test", "node1")
    while not connection.ready:
        connection.receive(tls.recv(65536))
    tls.sendall(connection.hello_reply())
    return tls


@pytest.mark.parametrize(("frame", "logged"), [
    (encode_frame(b"this is not json"), "protocol violation: frame is not JSON"),
    ((2**31).to_bytes(4, "big"), "protocol violation: peer announced a 2147483648-byte frame"),
    (encode_frame(b'{"type": "hello", "versions": [1], "software": "x", "node": "y"}'), "second hello"),
    (b"\0\0\0\0", "protocol violation: empty frame"),
    (encode_frame(b'{"type": "request", "id": ' + b"9" * 5000 + b', "op": "ping", "args": {}}'),
     "protocol violation: frame is not JSON: Exceeds the limit"),
])
def test_hostile_frames_close_only_that_connection(daemon, frame, logged):
    async def good_client():
        return await connect(daemon)

    with authenticated_socket(daemon) as tls:
        tls.sendall(frame)
        assert tls.recv(100) == b""
    daemon.wait_log(logged)

    async def still_serving():
        client = await good_client()
        await client.request("ping")
        await client.close()

    asyncio.run(still_serving())


def test_stalled_partial_frame_is_dropped(daemon):
    with authenticated_socket(daemon) as tls:
        tls.sendall(encode_frame(b'{"type": "request"')[:10])
        began = time.monotonic()
        assert tls.recv(100) == b""
        assert time.monotonic() - began >= 0.9
    daemon.wait_log("frame not completed in time; closing the connection")


def test_client_leaving_mid_operation_leaks_nothing(daemon, tmp_path):
    marker = tmp_path / "slow-finished"

    async def leave():
        client = await connect(daemon)
        await client.execute(Operation("watched", DUMMY, "monitor", interval_ms=500,
                                       params={"state": str(tmp_path / "w.state")}))
        task = asyncio.create_task(client.execute(Operation(
            "slow", SLOW, "start", timeout_ms=10000, params={"seconds": "1.23", "marker": str(marker)})))
        await asyncio.sleep(0.4)
        await client.close()
        task.cancel()

    asyncio.run(leave())
    daemon.wait_log("cancelled its 1 recurring operations")
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()  # the start ran to completion after its requester left

    async def look():
        client = await connect(daemon)
        status = await client.request("status")
        await client.close()
        return status

    status = asyncio.run(look())
    assert status["last_results"]["slow_start_0"]["rc"] == 0
    assert status["recurring"] == []
    assert status["running_processes"] == 0
    assert processes_with_argument("1.23") == []


def test_key_rotation_accepts_both_keys(tmp_path):
    guest = GuestDaemon(tmp_path)
    new_key = guest.root / "etc/pacemaker/authkey.new"
    authkey.generate(new_key)
    guest.settings = f"[remote]\nalso_accept_authkey = {new_key}\n"
    guest.start()
    old_identity = guest.identities[0]
    new_identity = tlsauth.identity_from_authkey(new_key.read_bytes())

    async def scenario():
        for identities in ([old_identity], [new_identity, old_identity]):
            client = await connect(guest, identities)
            await client.request("ping")
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        assert guest.stop() == 0


def test_world_readable_key_is_refused(tmp_path):
    guest = GuestDaemon(tmp_path)
    guest.key_path.chmod(0o644)
    guest.start(wait=False)
    assert guest.wait_exit() == 1
    assert f"drover-guest: authkey {guest.key_path} is readable by everyone (mode 0644)" in guest.log()


def test_port_in_use_is_explained(tmp_path):
    guest = GuestDaemon(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", guest.port))
        blocker.listen()
        guest.start(wait=False)
        assert guest.wait_exit() == 1
    assert f"cannot listen on 127.0.0.1:{guest.port}: Address already in use" in guest.log()


def test_sigterm_kills_running_agents_and_exits_cleanly(tmp_path):
    guest = GuestDaemon(tmp_path).start()

    async def begin_slow_start():
        client = await connect(guest)
        pending = asyncio.create_task(client.execute(Operation(
            "slow", SLOW, "start", timeout_ms=60000, params={"seconds": "9.19", "marker": str(tmp_path / "m")})))
        await asyncio.sleep(0.5)
        assert not pending.done()

    asyncio.run(begin_slow_start())
    assert processes_with_argument("9.19")
    assert guest.stop() == 0
    assert processes_with_argument("9.19") == []
    assert "shutting down" in guest.log()


def test_request_timeout_is_reported(daemon, tmp_path):
    async def scenario():
        client = await connect(daemon)
        with pytest.raises(GuestLinkError, match=r"no answer to exec within 0\.3s"):
            await client.request("exec", {"resource": "slow", "standard": "ocf", "provider": "test", "type": "slow",
                                          "action": "start", "params": {"seconds": "1", "marker": str(tmp_path / "x")}},
                                 timeout=0.3)
        await client.request("ping")
        await client.close()

    asyncio.run(scenario())


def test_link_reconnects_after_the_guest_restarts(tmp_path):
    guest = GuestDaemon(tmp_path).start()
    states = []

    async def scenario():
        link = GuestLink("127.0.0.1", guest.port, guest.identities, "drover test", "node1",
                         LinkSettings(connect_timeout=20, keepalive=0.5, max_backoff=0.3),
                         on_state=lambda up, reason: states.append(up))
        link.start()
        await link.request("ping")
        assert guest.stop() == 0
        await asyncio.sleep(0.5)
        assert not link.connected
        guest.start()
        await link.request("ping")
        await link.stop()

    try:
        asyncio.run(scenario())
    finally:
        guest.stop()
    assert states == [True, False, True]


def test_unreachable_guest_is_explained():
    async def scenario():
        with pytest.raises(GuestLinkError, match="cannot connect: "):
            await GuestClient.connect("127.0.0.1", free_port(), [tlsauth.identity_from_authkey(b"k")], "t", "n",
                                      timeout=2)
        link = GuestLink("127.0.0.1", free_port(), [tlsauth.identity_from_authkey(b"k")], "t", "n",
                         LinkSettings(connect_timeout=0.5))
        link.start()
        with pytest.raises(GuestLinkError, match=r"not connected within 0\.5s: guest 127\.0\.0\.1:.*cannot connect"):
            await link.request("ping")
        await link.stop()

    asyncio.run(scenario())


def test_tells_systemd_it_is_ready_once_listening(tmp_path):
    notify_path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(15)
        guest = GuestDaemon(tmp_path).start(env={"NOTIFY_SOCKET": str(notify_path)})
        try:
            assert notify.recv(100) == b"READY=1"
            with socket.create_connection(("127.0.0.1", guest.port), timeout=5):
                pass  # already accepting connections when READY=1 arrived
        finally:
            assert guest.stop() == 0
        assert notify.recv(100) == b"STOPPING=1"
