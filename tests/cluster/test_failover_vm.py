"""Failover of a real VM: two drover hosts, each with its libvirtd and a BMC (OpenIPMI's ipmi_sim, driven by the
real fence_ipmilan); the micro-VM runs on h1; h1's links are cut. h2 fences h1 through its BMC (whose power-off
also kills h1's qemu), and only then starts the VM itself: the guest serves again from h2 with a new boot, and
libvirt on both hosts shows it ran on one host at a time.

The split is a 1|1 one (corosync's two_node): h1, cut off, races too; the device that fences h2 waits
(pcmk_delay_base), so h2 wins, as a pcs user picks the survivor. The hosts, libvirtds and guest are those of
tests/cluster/test_live_migration_cluster.py (the guest serves its boot id and a counter over HTTP).

Needs root, libvirtd, qemu-system-x86, corosync, ipmi_sim, ipmitool, fence-agents and Debian's cloud kernel.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests import microvm
from tests.cluster import bmc
from tests.cluster.test_live_migration_cluster import (
    GUEST_ADDRESS,
    GUEST_BOOT_TIMEOUT_S,
    BridgeClient,
    _history,
    _running_on,
    guest_node_domain,
    two_hosts_with_libvirtds,
    web_server_in_guest1_on_h1,
)
from tests.conftest import BUILD
from tests.ipmi_sim import available
from tests.libvirt_pair import namespace_pids
from tests.test_live_migration import BOOT_TIMEOUT_S, STATE_URL, domain_config, guest_initrd, state

pytestmark = [pytest.mark.timeout(600),
              pytest.mark.skipif(os.geteuid() != 0 or not available(),
                                 reason="needs root, ipmi_sim, ipmitool and fence-agents")]


def _qemus(namespace: str) -> list[int]:
    found = []
    for pid in namespace_pids(namespace):
        try:
            if Path(f"/proc/{pid}/comm").read_text().startswith("qemu"):
                found.append(pid)
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie its libvirtd has not reaped yet is dead)."""
    try:
        process_state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return process_state != "Z"


def _fence_devices(cluster) -> None:
    """One BMC device per host, each run away from its target; fencing h2 waits 15s (pcmk_delay_base), so in a
    race h2 fences h1 first and survives."""
    h1, h2 = cluster.hosts
    for host, delay in ((h1, []), (h2, ["pcmk_delay_base=15s"])):
        cluster.drover(h1, "stonith", "create", *bmc.device_args(host, cluster.bmcs[host.name]), *delay)
        cluster.drover(h1, "constraint", "location", f"ipmi-{host.name}", "avoids", host.name)


def test_a_cut_off_hosts_vm_is_started_on_the_other_host_only_after_its_power_was_cut(tmp_path: Path):
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    with two_hosts_with_libvirtds(tmp_path / "c", bmcs=True) as (cluster, libvirtds):
        h1, h2 = cluster.hosts
        _fence_devices(cluster)
        base = tmp_path / "guest"
        base.mkdir()
        name = f"drover-cluster-failover-{os.getpid()}"
        config = domain_config(base, name, vmlinuz, guest_initrd(base / "initrd.gz", modules))
        cluster.drover(h1, "resource", "create", "vm", "VirtualDomain", f"config={config}", "op", "monitor",
                       "interval=5s")
        cluster.drover(h1, "constraint", "location", "vm", "prefers", "h1=50")
        client = BridgeClient(cluster.bridge_namespace)
        cluster.wait(lambda: cluster.placement(h2).get("vm") == ["h1"] and state(client) is not None,
                     f"the VM on h1 serving {STATE_URL}", timeout=BOOT_TIMEOUT_S)
        before = state(client)
        qemus = _qemus(h1.namespace)
        assert len(qemus) == 1 and _running_on(libvirtds, name) == ["h1"]
        bmc.vm_pids(h1).write_text(f"{qemus[0]}\n")          # the VM dies with h1's power

        cluster.cut(h1)
        cluster.wait(lambda: cluster.powered_off(h1), "h1 to be powered off through its BMC", timeout=90)
        powered_off_at = bmc.powered_off_mark(h1).stat().st_mtime
        after = cluster.wait(lambda: (lambda s: s if s is not None and s[0] != before[0] else None)(state(client)),
                             "the guest serving again, booted anew on h2", timeout=BOOT_TIMEOUT_S)
        served_at = time.time()
        assert cluster.placement(h2)["vm"] == ["h2"]
        assert not _alive(qemus[0])                          # h1's VM ended with h1's power
        assert _running_on(libvirtds, name) == ["h2"]        # libvirt on both hosts: h2 only
        started = _history(cluster, h2, "vm")[("h2", "start")]
        assert started.last_rc_change is not None and started.last_rc_change >= int(powered_off_at), \
            (started, powered_off_at)                        # started on h2 only after h1's power was cut
        assert after[0] != before[0]
        assert cluster.actions().count("poweroff h1") == 1 and "poweroff h2" not in cluster.actions()
        history = cluster.drover(h2, "stonith", "history", "h1").stdout
        assert "reboot of h1 successful: delegate=h2" in history, history
        print(f"\nthe guest served again from h2 {served_at - powered_off_at:.1f}s after h1's power-off")


@pytest.mark.artifacts
def test_a_cut_off_hosts_guest_node_comes_back_on_the_other_host_with_its_service(tmp_path: Path):
    """The walk-through's failover with every part real: the micro-VM runs the built drover-guest as guest1 (TLS
    on 3121 with the cluster's authkey) and the web server (ocf:heartbeat:Dummy) in it, on h1; h1 is cut off.
    h2 fences h1 through its BMC (ending h1's qemu), boots the VM itself, reconnects to guest1 and starts the
    web server in it again: a new start, recorded after the power-off, and one copy of the VM in libvirt."""
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    with two_hosts_with_libvirtds(tmp_path / "c", bmcs=True) as (cluster, libvirtds):
        h1, h2 = cluster.hosts
        _fence_devices(cluster)
        name = f"drover-cluster-guest-failover-{os.getpid()}"
        config = guest_node_domain(cluster, tmp_path / "guest", name, vmlinuz, modules)
        cluster.drover(h1, "resource", "create", "vm-guest1", "VirtualDomain", f"config={config}", "op", "monitor",
                       "interval=5s", "meta", "remote-node=guest1", f"remote-addr={GUEST_ADDRESS}",
                       "remote-connect-timeout=180s")
        web_server_in_guest1_on_h1(cluster)
        qemus = _qemus(h1.namespace)
        assert len(qemus) == 1 and _running_on(libvirtds, name) == ["h1"]
        bmc.vm_pids(h1).write_text(f"{qemus[0]}\n")

        cluster.cut(h1)
        cluster.wait(lambda: cluster.powered_off(h1), "h1 to be powered off through its BMC", timeout=90)
        powered_off_at = bmc.powered_off_mark(h1).stat().st_mtime
        cluster.wait(lambda: (lambda p: p.get("vm-guest1") == ["h2"] and p.get("guest1") == ["h2"] and
                              p.get("webserver") == ["guest1"])(cluster.placement(h2)),
                     "guest1's VM and connection on h2, the web server started in it again",
                     timeout=GUEST_BOOT_TIMEOUT_S)
        assert not _alive(qemus[0]) and _running_on(libvirtds, name) == ["h2"]
        for resource, node in (("vm-guest1", "h2"), ("webserver", "guest1")):
            started = _history(cluster, h2, resource)[(node, "start")]
            assert started.last_rc_change is not None and started.last_rc_change >= int(powered_off_at), \
                (resource, started, powered_off_at)
        assert cluster.actions().count("poweroff h1") == 1 and "poweroff h2" not in cluster.actions()
        nodes = {n["name"]: n["state"] for n in cluster.status(h2)["nodes"]}
        assert nodes == {"h1": "offline", "h2": "online", "guest1": "online"}, nodes
