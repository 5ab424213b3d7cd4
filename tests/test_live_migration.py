"""Live migration by drover's own VirtualDomain agent: a real micro-VM moves between two libvirtds.

tests/libvirt_pair.py gives two hosts, h1 and h2, each a libvirtd in its own
network namespace on one bridge. The guest is Debian's cloud kernel with a
busybox initramfs whose init serves, over HTTP on a NIC on that bridge, its
boot id and a counter it increments every 0.2 s since boot: a migrated guest
keeps both (a rebooted one would have a new boot id and a counter from 0).
The agent is driven as the executor drives it: `start` on h1, then Pacemaker's
migrate_to on the source and migrate_from on the target (with the
migrate_source/migrate_target meta), then `stop` on the source; both agents
get the same parameters (remoteuri and migrateuri name the target by %n, which
each libvirtd resolves), and their own libvirtd as the default hypervisor.
A migration to a host whose libvirtd cannot be reached fails with the target
named, and leaves the guest running where it was.

Needs root (network namespaces, libvirtd), libvirtd and qemu-system-x86, and
Debian's cloud kernel (downloaded into build/microvm, as for tests/test_system.py).
Run with -s to see the migration's time and the service's downtime.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest

from appliance.hypervisor.libvirt_domain import Hypervisors, VirtualDomain
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation, OpResult
from tests import microvm
from tests.conftest import BUILD
from tests.libvirt_pair import GUEST_BRIDGE, SUBNET, LibvirtHost, LibvirtPair

pytestmark = [pytest.mark.system,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and libvirtd")]

AGENT = AgentSpec("ocf", "VirtualDomain", "heartbeat")
GUEST_ADDRESS = f"{SUBNET}.20"
STATE_URL = f"http://{GUEST_ADDRESS}/state"
BANNER = "migration-guest: booted"
BOOT_TIMEOUT_S = 120
ABSENT_HOST = "h9"                 # resolves on both hosts to an address where nothing answers
PARAMS = {"remoteuri": "qemu+tcp://%n/system", "migrateuri": "tcp://%n"}

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /www
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in {modules}; do insmod /lib/modules/$m.ko; done
ip link set lo up; ip link set eth0 up; ip addr add {address}/24 dev eth0
boot=$(cat /proc/sys/kernel/random/boot_id)
echo "{banner} $boot"
(i=0; while true; do echo "$boot $i" > /www/.state; mv /www/.state /www/state; i=$((i+1)); sleep 0.2; done) &
httpd -p 80 -h /www
while true; do sleep 3600; done
"""


def guest_initrd(target: Path, modules: Path) -> Path:
    """busybox, the virtio-net modules and INIT, as a gzipped cpio."""
    work = target.with_suffix(".d")
    (work / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", work / "bin/busybox")
    (work / "lib/modules").mkdir(parents=True)
    for name in microvm.MODULES:
        shutil.copy(next(modules.rglob(f"{name}.ko*")), work / "lib/modules" / f"{name}.ko")
    init = work / "init"
    init.write_text(INIT.format(modules=" ".join(microvm.MODULES), address=GUEST_ADDRESS, banner=BANNER))
    init.chmod(0o755)
    return microvm.pack(work, target)


def domain_config(base: Path, name: str, vmlinuz: Path, initrd: Path) -> Path:
    """base/vm.xml: the micro-VM `name` (256 MiB) with its console in base/console.log and its NIC on
    GUEST_BRIDGE, so it lands on the same segment whichever host runs it."""
    xml = microvm.domain_xml(name, vmlinuz, initrd, base / "console.log", bridge=GUEST_BRIDGE)
    config = base / "vm.xml"
    config.write_text(xml.replace("<memory unit='MiB'>512</memory>", "<memory unit='MiB'>256</memory>"))
    return config


@dataclass
class Guest:
    name: str
    config: Path
    console: Path

    def boots(self) -> int:
        return self.console.read_text(errors="replace").count(BANNER) if self.console.exists() else 0


def agent_run(host: LibvirtHost, action: str, guest: Guest, meta: dict[str, str] | None = None,
              timeout_ms: int = 60_000) -> OpResult:
    """One action of a VirtualDomain agent on `host` (its libvirtd the default hypervisor, as drover.conf sets it)."""
    agent = VirtualDomain(Hypervisors(), host.uri)
    operation = Operation("vm", AGENT, action, 0, timeout_ms, {"config": str(guest.config), **PARAMS}, meta or {})
    try:
        return asyncio.run(agent.run(operation))
    finally:
        agent.hypervisors.close()


def domain_on(host: LibvirtHost, name: str) -> libvirt.virDomain | None:
    connection = host.open()
    try:
        return connection.lookupByName(name)
    except libvirt.libvirtError:
        return None


def running_on(pair: LibvirtPair, name: str) -> list[str]:
    return [host.name for host in pair.hosts if (domain := domain_on(host, name)) is not None and domain.isActive()]


def state(pair: LibvirtPair, timeout_s: float = 1.0) -> tuple[str, int] | None:
    """(boot id, counter) served by the guest, or None."""
    body = pair.fetch(STATE_URL, timeout_s)
    if body is None or len(body.split()) != 2:
        return None
    boot, tick = body.split()
    return boot, int(tick)


class Poller:
    """Fetches the guest's state as often as it can while `with` lasts: [(monotonic time, state or None)]."""

    def __init__(self, pair: LibvirtPair):
        self.pair = pair
        self.samples: list[tuple[float, tuple[str, int] | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="guest poller", daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), state(self.pair, timeout_s=0.3)))
            self._stop.wait(0.05)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def longest_gap_s(self) -> float:
        """The longest time between two answers in a row: the service's downtime, as a client saw it."""
        answered = [at for at, value in self.samples if value is not None]
        return max((b - a for a, b in itertools.pairwise(answered)), default=0.0)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibvirtPair]:
    with LibvirtPair(tmp_path_factory.mktemp("libvirt-pair")) as hosts:
        yield hosts


@pytest.fixture(scope="module")
def guest(pair: LibvirtPair, tmp_path_factory: pytest.TempPathFactory) -> Guest:
    """The micro-VM, started on h1 by the agent, once it serves its state."""
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    base = tmp_path_factory.mktemp("guest")           # outside the libvirt dirs: the same paths on both hosts
    initrd = guest_initrd(base / "initrd.gz", modules)
    name = f"drover-migration-{pair.tag}"
    console = base / "console.log"
    vm = Guest(name, domain_config(base, name, vmlinuz, initrd), console)
    started = time.monotonic()
    result = agent_run(pair[0], "start", vm)
    assert (result.rc, result.exit_reason) == (OcfRc.OK, ""), pair.logs()
    while state(pair) is None:
        assert time.monotonic() - started < BOOT_TIMEOUT_S, (
            f"the guest did not serve {STATE_URL} within {BOOT_TIMEOUT_S}s; console:\n"
            f"{console.read_text(errors='replace')[-3000:] if console.exists() else ''}\n{pair.logs()}")
        time.sleep(0.5)
    print(f"\nguest {name} booted on h1 and serves its state after {time.monotonic() - started:.1f}s")
    return vm


@pytest.mark.timeout(300)
def test_a_migration_to_an_unreachable_host_fails_and_the_guest_stays(pair: LibvirtPair, guest: Guest):
    [source_name] = running_on(pair, guest.name)
    source = next(host for host in pair.hosts if host.name == source_name)
    before = state(pair)
    assert before is not None
    result = agent_run(source, "migrate_to", guest, {"migrate_source": source.name, "migrate_target": ABSENT_HOST})
    assert (result.exec_status, result.rc) == (ExecStatus.DONE, OcfRc.ERR_GENERIC), result
    assert f"live migration to {ABSENT_HOST} failed" in result.exit_reason, result.exit_reason
    print(f"migrate_to {ABSENT_HOST} failed after {result.duration_ms / 1000:.1f}s: {result.exit_reason}")
    assert running_on(pair, guest.name) == [source.name]
    assert agent_run(source, "monitor", guest).rc == OcfRc.OK
    time.sleep(0.5)
    after = state(pair)
    assert after is not None and after[0] == before[0] and after[1] > before[1], (before, after)
    assert guest.boots() == 1


@pytest.mark.timeout(300)
def test_a_live_migration_keeps_the_guest_running(pair: LibvirtPair, guest: Guest):
    [source_name] = running_on(pair, guest.name)
    source, target = sorted(pair.hosts, key=lambda host: host.name != source_name)
    meta = {"migrate_source": source.name, "migrate_target": target.name}
    before = state(pair)
    assert before is not None
    with Poller(pair) as poller:
        time.sleep(0.5)
        migrated = agent_run(source, "migrate_to", guest, meta)
        assert (migrated.exec_status, migrated.rc, migrated.exit_reason) == (ExecStatus.DONE, OcfRc.OK, ""), \
            f"{migrated}\n{pair.logs()}"
        arrived = agent_run(target, "migrate_from", guest, meta)
        assert (arrived.rc, arrived.exit_reason) == (OcfRc.OK, ""), arrived
        stopped = agent_run(source, "stop", guest)          # Pacemaker stops the source once migrate_from is done
        assert (stopped.rc, stopped.exit_reason) == (OcfRc.OK, ""), stopped
        time.sleep(1.0)
    after = state(pair)

    # libvirt on both sides: running on the target only, and defined there
    assert running_on(pair, guest.name) == [target.name]
    on_target = domain_on(target, guest.name)
    assert on_target is not None and on_target.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert on_target.isPersistent()
    assert agent_run(target, "monitor", guest).rc == OcfRc.OK
    assert agent_run(source, "monitor", guest).rc == OcfRc.NOT_RUNNING

    # the service ran on: the same boot, its counter going on from where it was, never back
    assert after is not None and after[0] == before[0] and after[1] > before[1], (before, after)
    answers = [value for _, value in poller.samples if value is not None]
    assert answers and {boot for boot, _ in answers} == {before[0]}
    ticks = [tick for _, tick in answers]
    assert ticks == sorted(ticks), ticks
    assert guest.boots() == 1, guest.console.read_text(errors="replace")[-2000:]
    assert poller.longest_gap_s() < 10, poller.samples        # paused for the switch-over only, not stopped

    downtime = ""
    stats = on_target.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    if "downtime" in stats:
        downtime = f", qemu's downtime {stats['downtime']} ms"
    print(f"live migration {source.name} -> {target.name}: migrate_to {migrated.duration_ms / 1000:.2f}s"
          f"{downtime}, migrate_from {arrived.duration_ms} ms; the service answered {len(answers)} of "
          f"{len(poller.samples)} polls, longest gap between answers {poller.longest_gap_s():.2f}s")
