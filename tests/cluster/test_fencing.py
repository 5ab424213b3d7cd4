"""Fencing across hosts: a lost host is powered off through its BMC (OpenIPMI's ipmi_sim, driven by the real
fence_ipmilan from another host) before its resources are started elsewhere; they never run twice.

Each case builds three host namespaces with a management network and a BMC per host (tests/cluster/bmc.py);
a BMC's power-off kills that host's corosync and drover daemon, as pulling its power would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.model.history import set_transient
from appliance.store import replicated
from appliance.store.cib_store import CibStore
from tests.cluster import bmc
from tests.cluster.harness import DroverCluster
from tests.cluster.test_cluster import (
    RESOURCES,
    _dc_and_online,
    active_by_log,
    create_resources,
    never_twice,
    running_once,
    start,
)
from tests.ipmi_sim import available

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not available(), reason="needs ipmi_sim, ipmitool and fence-agents (make deps)")]


def warnings(cluster: DroverCluster, host) -> list[str]:
    return cluster.status(host)["summary"]["warnings"]


def add_devices(cluster: DroverCluster, on) -> None:
    """One fence_ipmilan device per host, kept off the host it fences (as Pacemaker users place them)."""
    for host in cluster.hosts:
        cluster.drover(on, "stonith", "create", *bmc.device_args(host, cluster.bmcs[host.name]),
                       "op", "monitor", "interval=10s")
        cluster.drover(on, "constraint", "location", f"ipmi-{host.name}", "avoids", host.name)


def devices_started(cluster: DroverCluster, host) -> bool:
    placement = cluster.placement(host)
    return all(len(placement.get(f"ipmi-{h.name}", [])) == 1 for h in cluster.hosts)


def test_a_cut_off_host_is_fenced_through_its_bmc_before_its_resources_run_on_the_others(tmp_path: Path):
    with DroverCluster(tmp_path / "c", bmcs=True) as cluster:
        start(cluster, fencing=True)
        h1, h2, h3 = cluster.hosts
        _version, configuration = cluster.version(h2)
        assert configuration.cluster_options.get("stonith-enabled") == "true"       # 2+ hosts: fencing on
        assert any("no fence device is configured: no resource is started" in w for w in warnings(cluster, h1))
        add_devices(cluster, h2)
        create_resources(cluster, h1)
        cluster.drover(h1, "constraint", "location", "r1", "prefers", "h3=100")
        placement = cluster.wait(lambda: devices_started(cluster, h1) and running_once(cluster, h1),
                                 "every resource and device running once", timeout=60)
        assert placement["r1"] == "h3"
        assert not any("fence" in w for w in warnings(cluster, h1)), warnings(cluster, h1)
        on_h3 = sorted(rid for rid, host in placement.items() if host == "h3")
        cluster.cut(h3)
        cluster.wait(lambda: cluster.powered_off(h3), "h3 to be powered off through its BMC", timeout=60)
        cluster.wait(lambda: cluster.daemons["h3"].poll() is not None and h3.corosync.poll() is not None,
                     "h3's daemon and corosync to be dead (its power was cut)", timeout=10)
        moved = cluster.wait(lambda: (lambda p: p if all(p[r] in ("h1", "h2") for r in RESOURCES) else None)(
            running_once(cluster, h1)), "h3's resources to run on h1 and h2", timeout=60)
        assert set(on_h3) <= set(moved)
        never_twice(cluster)                               # nothing started elsewhere before h3's power was cut
        assert cluster.actions().count("poweroff h3") == 1
        history = cluster.drover(h2, "stonith", "history", "h3").stdout
        assert "reboot of h3 successful: delegate=h" in history and "client=drover-controller" in history
        assert "delegate=h3" not in history
        assert cluster.bmcs["h3"].powered()               # a reboot: powered on again (its services not started)
        nodes = {n["name"]: n["state"] for n in cluster.status(h1)["nodes"]}
        assert nodes["h3"] == "offline"
        # h3 comes back: it joins, is probed (nothing runs there after the power cut) and r1 goes back to it.
        # Its copy of the state is made the newest first (as when it recorded more while cut off than the others
        # since): it wins the sync, the survivors' records of r1 on h2, r3 and r6 on h1 are replaced, and the DC
        # must probe them again instead of starting those resources a second time
        ahead = CibStore.open(cluster.root(h3) / "var/lib/drover/state.db")
        try:
            for number in range(200):
                replicated.apply_status(ahead, replicated.prepare_status(
                    ahead, lambda s, n=number: set_transient(s, "h3", "alone", str(n))))
        finally:
            ahead.close()
        cluster.heal(h3)
        cluster.start(h3)
        cluster.start_daemon(h3)
        cluster.wait(lambda: all(_dc_and_online(cluster, h) for h in cluster.hosts), "h3 back in the cluster",
                     timeout=60)
        final = cluster.wait(lambda: (lambda p: p if p["r1"] == "h3" else None)(running_once(cluster, h2)),
                             "r1 back on h3", timeout=60)
        active = active_by_log(cluster)
        assert {rid: sorted(active[rid]) for rid in RESOURCES} == {rid: [final[rid]] for rid in RESOURCES}
        never_twice(cluster)


def test_a_host_no_device_could_fence_stays_unclean_and_is_recovered_once_a_working_level_is_added(
        tmp_path: Path):
    with DroverCluster(tmp_path / "c", bmcs=True) as cluster:
        start(cluster, fencing=True)
        h1, h2, h3 = cluster.hosts
        cluster.drover(h1, "property", "set", "stonith-max-attempts=2")
        wrong = [a if not a.startswith("password=") else "password=not-the-password"
                 for a in bmc.device_args(h3, cluster.bmcs["h3"])]
        cluster.drover(h1, "stonith", "create", "ipmi-h3-wrong", *wrong[1:])
        cluster.drover(h1, "constraint", "location", "ipmi-h3-wrong", "avoids", "h3")
        cluster.drover(h1, "stonith", "level", "add", "1", "h3", "ipmi-h3-wrong")
        cluster.drover(h1, "stonith", "create", *bmc.device_args(h3, cluster.bmcs["h3"]))   # in no level: unused
        cluster.drover(h1, "constraint", "location", "ipmi-h3", "avoids", "h3")
        create_resources(cluster, h1)
        cluster.drover(h1, "constraint", "location", "r1", "prefers", "h3=100")
        placement = cluster.wait(lambda: running_once(cluster, h1), "every resource running once", timeout=60)
        on_h3 = sorted(rid for rid, host in placement.items() if host == "h3")
        assert "r1" in on_h3
        cluster.cut(h3)
        cluster.wait(lambda: any("stopped trying" in w for w in warnings(cluster, h1)),
                     "the controller to give up fencing h3 after 2 failures", timeout=90)
        history = cluster.drover(h2, "stonith", "history", "h3").stdout
        assert history.count("reboot of h3 failed") == 2, history
        assert not cluster.powered_off(h3) and cluster.actions().count("poweroff h3") == 0
        text = cluster.drover(h1, "status").stdout
        assert "Node h3: UNCLEAN (offline)" in text and "Failed Fencing Actions:" in text
        placement = cluster.placement(h1)
        assert all(placement[rid] == ["h3"] for rid in on_h3), placement      # not recovered elsewhere
        never_twice(cluster)
        # a second level with the right password: a configuration change, so the controller tries once more
        cluster.drover(h1, "stonith", "level", "add", "2", "h3", "ipmi-h3")
        cluster.wait(lambda: cluster.powered_off(h3), "h3 to be powered off by level 2", timeout=60)
        cluster.wait(lambda: (lambda p: p if all(p[r] in ("h1", "h2") for r in RESOURCES) else None)(
            running_once(cluster, h1)), "h3's resources to run on h1 and h2", timeout=60)
        never_twice(cluster)
        assert cluster.actions().count("poweroff h3") == 1
        history = cluster.drover(h2, "stonith", "history", "h3").stdout
        assert history.count("reboot of h3 successful") == 1 and history.count("reboot of h3 failed") == 2
        assert not any("stopped trying" in w for w in warnings(cluster, h1))
        assert "Failed Fencing Actions:" not in cluster.drover(h1, "status").stdout


@pytest.mark.parametrize("winner", ["h1", "h2"])
def test_a_two_host_cluster_split_in_two_keeps_exactly_one_host_the_one_whose_fencing_waits(tmp_path: Path,
                                                                                           winner: str):
    """Both sides keep quorum (corosync's two_node) and race to fence the other. h1 wins when the device that
    fences it waits (pcmk_delay_base, as pcs users set pcmk_delay_max/base to pick a winner); h2 wins when it
    runs the resource with the highest priority and priority-fencing-delay is set (fencing it waits)."""
    with DroverCluster(tmp_path / "c", size=2, bmcs=True) as cluster:
        h1, h2 = cluster.hosts
        loser = h2 if winner == "h1" else h1
        cluster.start_all()
        for host in cluster.hosts:
            cluster.start_daemon(host)

        def both_online(host) -> bool:
            status = cluster.status(host)
            return status["summary"]["current_dc"] == "h1" and \
                sorted(n["name"] for n in status["nodes"] if n["state"] == "online") == ["h1", "h2"]
        for host in cluster.hosts:
            cluster.wait(lambda h=host: both_online(h), f"{host.name} to see both hosts online, h1 the DC")
        delayed = {"h1": ["pcmk_delay_base=20s"] if winner == "h1" else [], "h2": []}
        for host in cluster.hosts:
            cluster.drover(h1, "stonith", "create", *bmc.device_args(host, cluster.bmcs[host.name]),
                           *delayed[host.name])
            cluster.drover(h1, "constraint", "location", f"ipmi-{host.name}", "avoids", host.name)
        create_resources(cluster, h1)
        cluster.drover(h1, "constraint", "location", "r1", "prefers", "h2=100")
        if winner == "h2":
            cluster.drover(h1, "resource", "meta", "r1", "priority=10")
            cluster.drover(h1, "property", "set", "priority-fencing-delay=20s")
        cluster.wait(lambda: devices_started(cluster, h1) and running_once(cluster, h1),
                     "every resource and device running once", timeout=60)
        cluster.cut(h2)                                     # each side sees the other lost; both are quorate
        cluster.wait(lambda: cluster.powered_off(loser), f"{loser.name} to be powered off by {winner}", timeout=60)
        cluster.wait(lambda: cluster.daemons[loser.name].poll() is not None, f"{loser.name}'s daemon to be dead",
                     timeout=10)
        survivor = h1 if winner == "h1" else h2
        cluster.wait(lambda: (lambda p: p if all(p[r] == winner for r in RESOURCES) else None)(
            running_once(cluster, survivor)), f"every resource to run on {winner}", timeout=60)
        never_twice(cluster)
        assert cluster.actions().count(f"poweroff {loser.name}") == 1
        assert f"poweroff {winner}" not in cluster.actions()
        assert not cluster.powered_off(survivor) and cluster.daemons[winner].poll() is None
        history = cluster.drover(survivor, "stonith", "history").stdout
        assert f"reboot of {loser.name} successful: delegate={winner}" in history and f"of {winner}" not in history


def test_a_fenced_hosts_vm_starts_on_another_host_and_its_guests_service_runs_again(tmp_path: Path):
    """The walk-through's failover: guest1's VM (with a host-local disk it needs, the agent's log says where
    that ran) and the web server inside guest1 run on h2; h2 is cut off. Nothing of h2's starts elsewhere
    before its BMC cut its power, which also ends the guest (its daemon stands for the VM's insides, so it
    dies with the host that ran the VM, and is started again with an empty /run, as a rebooted VM is);
    then the VM runs on a survivor, the cluster reconnects to guest1 from there and the web server runs in it
    again."""
    with DroverCluster(tmp_path / "c", bmcs=True) as cluster:
        guest = cluster.start_guest(tmp_path / "guest1")
        try:
            start(cluster, fencing=True)
            h1, h2, h3 = cluster.hosts
            add_devices(cluster, h1)
            vm_xml = tmp_path / "vm-guest1.xml"
            vm_xml.write_text("<domain type='test'><name>vm-guest1</name><memory unit='MiB'>64</memory>"
                              "<os><type>hvm</type></os></domain>")
            cluster.drover(h1, "resource", "create", "vm-disk", "ocf:test:hostlocal", f"log={cluster.log}",
                           "op", "monitor", "interval=2s")
            cluster.drover(h1, "resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                           f"config={vm_xml}", "op", "monitor", "interval=2s", "meta", "remote-node=guest1",
                           f"remote-addr={cluster.GUEST_ADDRESS}", f"remote-port={guest.port}")
            cluster.drover(h1, "constraint", "colocation", "add", "vm-guest1", "with", "vm-disk", "INFINITY")
            cluster.drover(h1, "constraint", "order", "vm-disk", "then", "vm-guest1")
            cluster.drover(h1, "constraint", "location", "vm-disk", "prefers", "h2=50")
            cluster.drover(h1, "resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor",
                           "interval=2s")
            cluster.drover(h1, "constraint", "location", "webserver", "prefers", "guest1")

            def placed(host, expected_vm_hosts) -> dict[str, list[str]] | None:
                placement = cluster.placement(host)
                vm = placement.get("vm-guest1", [])
                if placement.get("webserver") == ["guest1"] and len(vm) == 1 and vm[0] in expected_vm_hosts \
                        and placement.get("vm-disk") == vm and placement.get("guest1") == vm:
                    return placement
                return None
            cluster.wait(lambda: devices_started(cluster, h1) and placed(h1, ["h2"]),
                         "the devices running, vm-disk and vm-guest1 on h2, webserver in guest1", timeout=60)
            bmc.vm_pids(h2).write_text(f"{guest.process.pid}\n")
            cluster.cut(h2)
            cluster.wait(lambda: cluster.powered_off(h2), "h2 to be powered off through its BMC", timeout=60)
            guest.process.wait(10)                                  # the VM's insides died with h2
            for state in guest.base.glob("Dummy-*.state"):          # a rebooted VM's /run is empty
                state.unlink()
            assert "webserver" not in {rid for line in cluster.actions() for rid in line.split()[1:2]}
            guest.start(wait=False)                                 # the VM boots again wherever it is started
            after = cluster.wait(lambda: placed(h1, ["h1", "h3"]),
                                 "vm-guest1 on a survivor, guest1 reconnected, webserver running in it", timeout=90)
            assert after["webserver"] == ["guest1"]
            starts_in_guest = [line for line in guest.log().splitlines() if "webserver_start_0" in line]
            assert len(starts_in_guest) >= 2, "the service was not started again in the guest"
            nodes = {n["name"]: n["state"] for n in cluster.status(h3)["nodes"]}
            assert nodes == {"h1": "online", "h2": "offline", "h3": "online", "guest1": "online"}, nodes
            never_twice(cluster)                       # vm-disk: started on the survivor only after the power cut
            active = active_by_log(cluster)
            assert sorted(active["vm-disk"]) == after["vm-guest1"]
            assert cluster.actions().count("poweroff h2") == 1
            history = cluster.drover(h3, "stonith", "history", "h2").stdout
            assert "reboot of h2 successful" in history
        finally:
            guest.stop()
