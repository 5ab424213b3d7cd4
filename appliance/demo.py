"""`make demo`: the user's walk-through on embedded defaults, in a throw-away directory.

Until the controller lands (the appliance issue) it runs the parts that exist:
an authkey, a real drover-guest daemon on 127.0.0.1 standing in for guest1,
and ocf:heartbeat:Dummy as the web server, started and monitored over the
authenticated TLS channel.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.guestlink.client import GuestClient
from guest.agents.results import AgentSpec, Operation
from guest.common import authkey, tlsauth


def drover(root: str, *args: str) -> None:
    print(f"$ drover {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "appliance", *args], env=dict(os.environ, DROVER_ROOT=root), check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_guest(root: str, port: int, log: Path) -> subprocess.Popen:
    conf = Path(root, "etc/drover/guest.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f"[remote]\nport = {port}\nbind_address = 127.0.0.1\n")
    print(f"$ drover-guest daemon   (guest1 on 127.0.0.1:{port}, log {log})", flush=True)
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "guest", "daemon"], stdout=output, stderr=output,
                                   env=dict(os.environ, DROVER_ROOT=root, HA_RSCTMP=root))
    deadline = time.monotonic() + 15
    while "listening on" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"demo: drover-guest did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process


async def webserver_in_guest(root: str, port: int) -> None:
    identities = [tlsauth.identity_from_authkey(authkey.load(Path(root, "etc/pacemaker/authkey")))]
    client = await GuestClient.connect("127.0.0.1", port, identities, "drover demo", "node1")
    print(f"connected to guest1: {client.connection.peer.software}, TLS 1.3, authkey {identities[0].fingerprint}")
    dummy = AgentSpec("ocf", "Dummy", "heartbeat")
    for action, interval in (("monitor", 0), ("start", 0), ("monitor", 30000)):
        result = await client.execute(Operation("webserver", dummy, action, interval_ms=interval))
        label = ("probe" if interval == 0 else f"monitor interval={interval // 1000}s") if action == "monitor" \
            else action
        print(f"  webserver ({dummy}) {label}: {result.exec_status.value} rc={result.rc}")
    await client.execute(Operation("webserver", dummy, "stop"))
    await client.close()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drover-demo-") as root:
        print(f"demo: state and config under DROVER_ROOT={root}")
        drover(root, "authkey", "generate")
        drover(root, "config", "check")
        port = free_port()
        guest = start_guest(root, port, Path(root, "guest1.log"))
        try:
            asyncio.run(webserver_in_guest(root, port))
        finally:
            guest.send_signal(signal.SIGTERM)
            guest.wait(15)
    print("demo: not yet: the controller, libvirt launcher, `resource create` and `drover status` land with "
          "issues 4-6; this demo grows with them.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
