"""`make bench` (guest part): idle memory of drover-guest beside Debian's pacemaker-remoted, drover-guest's
memory with 1 and 50 recurring monitors and per extra connection, and the round-trip rate of monitor operations
and pings over the real TLS channel.

pacemaker-remoted comes from Debian's pacemaker-remote package, downloaded and unpacked under
build/bench/ (the package itself conflicts with the pacemaker test oracle, so it is not installed).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.guestlink.client import GuestClient
from guest.agents.results import AgentSpec, Operation
from tests.conftest import BUILD
from tests.guestd import GuestDaemon, free_port

IDLE_SECONDS = 2.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pacemaker_remoted(work: Path) -> Path:
    binary = work / "pacemaker-remote/usr/sbin/pacemaker-remoted"
    if not binary.exists():
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "-q", "pacemaker-remote"], cwd=work, check=True, capture_output=True)
        deb = next(work.glob("pacemaker-remote_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "pacemaker-remote")], check=True)
    return binary


def measure_pacemaker_remoted() -> int | str:
    try:
        binary = pacemaker_remoted(BUILD / "bench")
    except (subprocess.CalledProcessError, StopIteration, OSError) as error:
        return f"not measured ({error})"
    with tempfile.TemporaryDirectory() as directory:
        key = Path(directory) / "authkey"
        key.write_bytes(os.urandom(4096))
        key.chmod(0o600)
        env = dict(os.environ, PCMK_authkey_location=str(key), PCMK_remote_port=str(free_port()),
                   PCMK_logfile=str(Path(directory) / "log"))
        process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(IDLE_SECONDS)
            if process.poll() is not None:
                return f"not measured (exited {process.returncode})"
            return rss_kib(process.pid)
        finally:
            process.terminate()
            process.wait(10)


async def round_trips(guest: GuestDaemon, state: Path) -> tuple[float, float]:
    client = await GuestClient.connect("127.0.0.1", guest.port, guest.identities, "bench", "node1")
    dummy = AgentSpec("ocf", "Dummy", "heartbeat")
    params = {"state": str(state)}
    await client.execute(Operation("bench", dummy, "start", params=params))
    count = 200
    began = time.perf_counter()
    for _ in range(count):
        await client.execute(Operation("bench", dummy, "monitor", params=params))
    monitors = count / (time.perf_counter() - began)
    pings = 2000
    began = time.perf_counter()
    for _ in range(pings):
        await client.request("ping")
    ping_rate = pings / (time.perf_counter() - began)
    await client.execute(Operation("bench", dummy, "stop", params=params))
    await client.close()
    return monitors, ping_rate


async def resident_under_load(guest: GuestDaemon, state_dir: Path) -> list[tuple[str, int]]:
    """RSS (KiB) with 1 and then 50 recurring 1 s monitors of ocf:heartbeat:Dummy, then with 10 more idle
    connections (each authenticated), every figure after the monitors have run a few times."""
    dummy = AgentSpec("ocf", "Dummy", "heartbeat")
    client = await GuestClient.connect("127.0.0.1", guest.port, guest.identities, "bench", "node1")
    figures = []
    try:
        for count in (1, 50):
            for index in range(count):
                params = {"state": str(state_dir / f"load-{index}.state")}
                await client.execute(Operation(f"load{index}", dummy, "start", params=params))
                await client.execute(Operation(f"load{index}", dummy, "monitor", interval_ms=1000, params=params))
            await asyncio.sleep(IDLE_SECONDS + 1)
            figures.append((f"{count} recurring monitor{'s' if count > 1 else ''} (1 s)", rss_kib(guest.process.pid)))
        extra = [await GuestClient.connect("127.0.0.1", guest.port, guest.identities, "bench", f"node{n}")
                 for n in range(2, 12)]
        await asyncio.sleep(IDLE_SECONDS)
        figures.append(("and 10 more connections", rss_kib(guest.process.pid)))
        for other in extra:
            await other.close()
    finally:
        await client.close()
    return figures


def main() -> int:
    binary = BUILD / "drover-guest.dist/drover-guest"
    if not binary.exists():
        print("bench: build/drover-guest.dist missing; run `make build`", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as directory:
        guest = GuestDaemon(Path(directory), command=[str(binary)], settings="[log]\nlevel = info\n").start()
        try:
            time.sleep(IDLE_SECONDS)
            ours = rss_kib(guest.process.pid)
            monitors, pings = asyncio.run(round_trips(guest, Path(directory) / "bench.state"))
        finally:
            guest.stop()
        guest = GuestDaemon(Path(directory) / "load", command=[str(binary)],
                            settings="[log]\nlevel = info\n").start()
        try:
            time.sleep(IDLE_SECONDS)
            loaded = asyncio.run(resident_under_load(guest, Path(directory)))
        finally:
            guest.stop()
    theirs = measure_pacemaker_remoted()
    print("guest daemon benchmark")
    print(f"  idle RSS  drover-guest       {ours / 1024:7.1f} MiB")
    if isinstance(theirs, int):
        print(f"  idle RSS  pacemaker-remoted  {theirs / 1024:7.1f} MiB   ratio drover/pacemaker {ours / theirs:.2f}")
    else:
        print(f"  idle RSS  pacemaker-remoted  {theirs}")
    for what, kib in loaded:
        print(f"  RSS       drover-guest, {what}: {kib / 1024:7.1f} MiB")
    print(f"  ocf:heartbeat:Dummy monitor round trips over TLS: {monitors:8.0f} ops/s")
    print(f"  ping round trips over TLS:                       {pings:8.0f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
