"""Live migration end to end: two drover hosts (corosync and a drover daemon each) with a libvirtd each, a real
micro-VM with `allow-migrate=true`, `drover resource move` and then `drover node standby`: the DC plans
migrate_to/migrate_from, each host's daemon runs its half with its own libvirtd, and the guest's service runs on
throughout (the same boot).

Each host namespace of the cluster harness also runs a libvirtd (tests/libvirt_pair.py's LibvirtHost: private
/etc/libvirt, /run/libvirt, ..., listening on TCP for the peer-to-peer migration); the host's eth0 is moved into
a bridge br0 (the guest's NIC lands on the cluster's L2 segment wherever the VM runs), which also carries
10.216.0.N, the address hN has in each libvirtd's /etc/hosts. Each host's drover.conf names its own libvirtd as
`[libvirt] uri`, so the resource carries no per-host URI, as on real hosts with qemu:///system. The guest is the
one of tests/test_live_migration.py (HTTP: its boot id and a counter).

Needs root, libvirtd, qemu-system-x86, corosync and Debian's cloud kernel (build/microvm).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from appliance.model.cib_read import read_cib
from appliance.model.status import OpRecord
from tests import microvm
from tests.cluster.harness import DroverCluster
from tests.conftest import BUILD, built_binary
from tests.corosync_harness import run
from tests.libvirt_pair import (
    GUEST_BRIDGE,
    PRIVATE_DIRS,
    SUBNET,
    LibvirtHost,
    ensure_qemu_user,
    namespace_pids,
)
from tests.test_live_migration import (
    BOOT_TIMEOUT_S,
    STATE_URL,
    Guest,
    Poller,
    domain_config,
    guest_initrd,
    state,
)

pytestmark = [pytest.mark.timeout(600),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and libvirtd")]
CLIENT = f"{SUBNET}.254"
GUEST_ADDRESS = f"{SUBNET}.20"
GUEST_BOOT_TIMEOUT_S = 240
class BridgeClient:
    """What Poller and state() fetch through: curl from the cluster's bridge namespace (SUBNET.254)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def fetch(self, url: str, timeout_s: float = 1.0) -> str | None:
        try:
            done = subprocess.run(["ip", "netns", "exec", self.namespace, "curl", "-sf", "--max-time",
                                   str(timeout_s), url], capture_output=True, text=True, timeout=timeout_s + 10)
        except subprocess.TimeoutExpired:
            return None
        return done.stdout if done.returncode == 0 else None


def _bridge_the_hosts(cluster: DroverCluster) -> None:
    run("ip", "-n", cluster.bridge_namespace, "addr", "add", f"{CLIENT}/24", "dev", "br0")
    for host in cluster.hosts:
        ns = host.namespace
        run("ip", "-n", ns, "link", "add", GUEST_BRIDGE, "type", "bridge")
        run("ip", "-n", ns, "addr", "del", f"{host.address}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "master", GUEST_BRIDGE)
        run("ip", "-n", ns, "addr", "add", f"{host.address}/24", "dev", GUEST_BRIDGE)
        run("ip", "-n", ns, "addr", "add", f"{SUBNET}.{host.index}/24", "dev", GUEST_BRIDGE)
        run("ip", "-n", ns, "link", "set", GUEST_BRIDGE, "up")


def _libvirtds(cluster: DroverCluster) -> list[LibvirtHost]:
    libvirt.registerErrorHandler(lambda _context, _error: None, None)    # probes before libvirtd listens
    ensure_qemu_user()
    for target in PRIVATE_DIRS:
        Path(target).mkdir(parents=True, exist_ok=True)
    hosts = "127.0.0.1 localhost\n" + "".join(f"{SUBNET}.{k} h{k}\n" for k in range(1, 10))
    libvirtds = []
    for host in cluster.hosts:
        libvirtd = LibvirtHost(host.index, cluster.tag, host.directory / "libvirt")
        assert libvirtd.namespace == host.namespace
        libvirtd.write_config(hosts)
        libvirtd.start()
        libvirtds.append(libvirtd)
        with open(cluster.root(host) / "etc/drover/drover.conf", "a") as conf:
            conf.write(f"[libvirt]\nuri = {libvirtd.uri}\n")
    deadline = time.monotonic() + 60
    for libvirtd in libvirtds:
        libvirtd.wait_started(deadline)
    return libvirtds


def _running_on(libvirtds: list[LibvirtHost], name: str) -> list[str]:
    found = []
    for libvirtd in libvirtds:
        connection = libvirtd.open()
        try:
            with contextlib.suppress(libvirt.libvirtError):
                if connection.lookupByName(name).isActive():
                    found.append(libvirtd.name)
        finally:
            connection.close()
    return found


def _history(cluster: DroverCluster, host, resource: str) -> dict[tuple[str, str], OpRecord]:
    """(node, operation) -> the recorded one-off operation of `resource`, from the replicated state."""
    cib = read_cib(cluster.drover(host, "cib", "export").stdout.encode(), "export")
    return {(h.node, op.operation): op for h in cib.status.history if h.resource == resource for op in h.ops
            if op.interval_ms == 0}


def _operations(cluster: DroverCluster, host, resource: str = "vm") -> set[tuple[str, str]]:
    return set(_history(cluster, host, resource))


def guest_node_domain(cluster: DroverCluster, base: Path, name: str, vmlinuz: Path, modules: Path) -> Path:
    """The domain XML of a micro-VM that runs the built drover-guest as guest1 (on the bridge at GUEST_ADDRESS,
    3121, the cluster's authkey)."""
    base.mkdir()
    key = base / "authkey"
    key.write_bytes(cluster.authkey)
    initrd = microvm.initramfs(base / "initrd.gz", built_binary("drover-guest").parent, modules, key,
                               "[remote]\nport = 3121\n[log]\nlevel = info\n", address=GUEST_ADDRESS,
                               gateway=CLIENT)
    return domain_config(base, name, vmlinuz, initrd)


def web_server_in_guest1_on_h1(cluster: DroverCluster) -> None:
    """vm-guest1 (created) preferring h1, the web server (ocf:heartbeat:Dummy) in guest1: until it runs there."""
    h1, h2 = cluster.hosts
    cluster.drover(h1, "constraint", "location", "vm-guest1", "prefers", "h1=50")
    cluster.drover(h1, "resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor", "interval=5s")
    cluster.drover(h1, "constraint", "location", "webserver", "prefers", "guest1")
    cluster.wait(lambda: cluster.placement(h2).get("webserver") == ["guest1"] and
                 cluster.placement(h2).get("guest1") == ["h1"], "the web server running in guest1 (on h1)",
                 timeout=GUEST_BOOT_TIMEOUT_S)


@contextlib.contextmanager
def two_hosts_with_libvirtds(directory: Path, bmcs: bool = False) -> Iterator[tuple[DroverCluster, list[LibvirtHost]]]:
    """h1 and h2 up (h1 the DC), each with its libvirtd; without `bmcs` stonith-enabled=false (no fence device),
    with them a BMC per host (tests/cluster/bmc.py) and stonith-enabled left true."""
    with DroverCluster(directory, size=2, bmcs=bmcs) as cluster:
        try:
            _bridge_the_hosts(cluster)
            libvirtds = _libvirtds(cluster)
            cluster.start_all()
            for host in cluster.hosts:
                cluster.start_daemon(host)
            h1 = cluster.hosts[0]
            cluster.wait(lambda: cluster.status(h1)["summary"]["current_dc"] == "h1" and
                         sum(n["state"] == "online" for n in cluster.status(h1)["nodes"]) == 2, "both hosts online")
            if not bmcs:
                cluster.drover(h1, "property", "set", "stonith-enabled=false")
            yield cluster, libvirtds
        finally:
            for host in cluster.hosts:            # the qemus and libvirtds: not the harness's to stop
                with contextlib.suppress(Exception):
                    for pid in namespace_pids(host.namespace):
                        if not any(pid == p.pid for p in (host.corosync, cluster.daemons.get(host.name)) if p):
                            os.kill(pid, 9)


def test_drover_resource_move_migrates_a_running_vm_live_between_hosts(tmp_path: Path):
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    with two_hosts_with_libvirtds(tmp_path / "c") as (cluster, libvirtds):
        h1, h2 = cluster.hosts
        base = tmp_path / "guest"
        base.mkdir()
        name = f"drover-cluster-migration-{os.getpid()}"
        config = domain_config(base, name, vmlinuz, guest_initrd(base / "initrd.gz", modules))
        guest = Guest(name, config, base / "console.log")
        cluster.drover(h1, "resource", "create", "vm", "VirtualDomain", f"config={config}",
                       "remoteuri=qemu+tcp://%n/system", "migrateuri=tcp://%n", "op", "monitor",
                       "interval=5s", "meta", "allow-migrate=true")
        cluster.drover(h1, "constraint", "location", "vm", "prefers", "h1=50")
        client = BridgeClient(cluster.bridge_namespace)
        cluster.wait(lambda: cluster.placement(h2).get("vm") == ["h1"] and state(client) is not None,
                     f"the VM on h1 serving {STATE_URL}", timeout=BOOT_TIMEOUT_S)
        before = state(client)
        with Poller(client) as poller:
            time.sleep(0.5)
            cluster.drover(h2, "resource", "move", "vm", "h2")
            cluster.wait(lambda: cluster.placement(h1).get("vm") == ["h2"] and
                         _running_on(libvirtds, name) == ["h2"], "the VM migrated to h2", timeout=120)
            time.sleep(1.0)
        after = state(client)

        # the same boot, its counter going on, never back: it was migrated, not restarted
        assert before is not None and after is not None and after[0] == before[0] and after[1] > before[1]
        answers = [value for _, value in poller.samples if value is not None]
        assert {boot for boot, _ in answers} == {before[0]}
        ticks = [tick for _, tick in answers]
        assert ticks == sorted(ticks)
        assert guest.boots() == 1
        assert poller.longest_gap_s() < 10, poller.samples
        # the DC planned a live migration and each host ran its half; nothing was started on h2
        operations = _operations(cluster, h1)
        assert ("h2", "migrate_from") in operations and ("h2", "start") not in operations, operations
        assert ("h1", "stop") in operations                   # the source's stop, after migrate_from
        dc_log = cluster.daemon_log(h1, 100000)
        assert "migrate_to vm on h1" in dc_log and "migrate_from vm on h2" in dc_log
        assert _running_on(libvirtds, name) == ["h2"]
        print(f"\nmigrated h1 -> h2 through drover: longest gap in the guest's service "
              f"{poller.longest_gap_s():.2f}s over {len(poller.samples)} polls")

        # standby drains h2 the same way: the VM migrates back to h1
        cluster.drover(h1, "resource", "clear", "vm")
        with Poller(client) as drained:
            cluster.drover(h1, "node", "standby", "h2")
            cluster.wait(lambda: cluster.placement(h2).get("vm") == ["h1"] and
                         _running_on(libvirtds, name) == ["h1"], "the VM migrated off h2 to h1", timeout=120)
            time.sleep(1.0)
        last = state(client)
        assert last is not None and last[0] == before[0] and last[1] > after[1]
        assert guest.boots() == 1 and drained.longest_gap_s() < 10
        operations = _operations(cluster, h2)
        assert ("h1", "migrate_from") in operations and ("h2", "stop") in operations, operations


@pytest.mark.artifacts
def test_a_guest_node_follows_its_vm_migrating_and_the_service_in_it_keeps_running(tmp_path: Path):
    """The walk-through with allow-migrate: the micro-VM runs the built drover-guest as guest1 (on the bridge, at
    SUBNET.20) with the web server (ocf:heartbeat:Dummy) in it; `drover resource move vm-guest1 h2` migrates it,
    the connection to guest1 is made again from h2, and the web server is neither stopped nor started again."""
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    with two_hosts_with_libvirtds(tmp_path / "c") as (cluster, libvirtds):
        h1, h2 = cluster.hosts
        name = f"drover-cluster-guest-{os.getpid()}"
        config = guest_node_domain(cluster, tmp_path / "guest", name, vmlinuz, modules)
        cluster.drover(h1, "resource", "create", "vm-guest1", "VirtualDomain", f"config={config}",
                       "remoteuri=qemu+tcp://%n/system", "migrateuri=tcp://%n", "op", "monitor",
                       "interval=5s", "meta", "allow-migrate=true", "remote-node=guest1",
                       f"remote-addr={GUEST_ADDRESS}", "remote-connect-timeout=180s")
        web_server_in_guest1_on_h1(cluster)
        started = _history(cluster, h1, "webserver")[("guest1", "start")]
        cluster.drover(h2, "resource", "move", "vm-guest1", "h2")
        cluster.wait(lambda: (lambda p: p.get("vm-guest1") == ["h2"] and p.get("guest1") == ["h2"] and
                              p.get("webserver") == ["guest1"])(cluster.placement(h1)) and
                     _running_on(libvirtds, name) == ["h2"], "guest1's VM and connection on h2, the web server in it",
                     timeout=120)
        time.sleep(6)                                   # a monitor of the web server has run from h2 since
        history = _history(cluster, h1, "webserver")
        assert history[("guest1", "start")] == started  # not started again, and
        assert ("guest1", "stop") not in history        # never stopped
        assert ("h2", "migrate_from") in _operations(cluster, h1, "vm-guest1")
        assert ("h2", "start") not in _operations(cluster, h1, "vm-guest1")
        nodes = {n["name"]: n["state"] for n in cluster.status(h2)["nodes"]}
        assert nodes == {"h1": "online", "h2": "online", "guest1": "online"}, nodes
        assert "Started guest1" in cluster.drover(h2, "status").stdout
