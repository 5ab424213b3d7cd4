"""`make bench` (failover part): a host lost, fenced through its BMC, its resources running elsewhere;
drover beside Pacemaker 2.1.5 on the same three network namespaces, BMCs and fence agent.

Both sides: the corosync harness's three hosts (knet, token 1000 ms), a management network with one OpenIPMI
`ipmi_sim` BMC per host whose power-off kills that host's corosync and cluster daemons (tests/cluster/bmc.py),
one real `fence_ipmilan` device per host kept off the host it fences, stonith-enabled=true, six
ocf:pacemaker:Dummy with a 2 s monitor, r1 and r2 preferring h3. h3's links go down at t=0; measured, median of REPEAT:

- detected: h1 shows h3 no longer online (`drover status` / `crm_mon`, polled: each poll's own time is in it);
- fenced: h3's BMC cut its power (the time its power-off mark was written);
- recovered: every resource h3 ran runs on h1 or h2.

(Each phase is polled in turn, so a later one is seen no earlier than the one before it.)

drover's runs also carry the walk-through's guest: vm-guest1 (test:///default) on h3 hosting guest1 with a
web server (ocf:heartbeat:Dummy) in it. Its guest daemon dies with h3 and starts again as soon as h3 is off (a
booting VM); measured to vm-guest1 running on a survivor, then to the web server running in guest1 there.
Pacemaker has no figure for that part: Debian's pacemaker-remote (pacemaker-remoted) conflicts with the
pacemaker package the bench runs.

Needs root, corosync, pacemaker, ipmi_sim, ipmitool and fence-agents; leaves nothing running.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench_cluster import RESOURCES, PacemakerCluster, primitive, start_drover, wait
from tests.cluster import bmc
from tests.cluster.harness import DroverCluster
from tests.corosync_harness import Host
from tests.guestd import GuestDaemon
from tests.ipmi_sim import IpmiSim, available

REPEAT = 3
PHASES = ("detected", "fenced", "recovered")
ON_H3 = ("r1", "r2")                 # on both sides: so h3 runs (at least) the same resources when it is lost


def fenced_at(host: Host) -> float:
    """When the BMC cut `host`'s power, on the monotonic clock."""
    return bmc.powered_off_mark(host).stat().st_mtime - time.time() + time.monotonic()


def device_xml(host: Host, sim: IpmiSim) -> str:
    params = {**sim.params, "pcmk_host_list": host.name}
    pairs = "".join(f'<nvpair id="ipmi-{host.name}-{k}" name="{k}" value="{v}"/>' for k, v in params.items())
    return (f'<primitive id="ipmi-{host.name}" class="stonith" type="fence_ipmilan">'
            f'<instance_attributes id="ipmi-{host.name}-ia">{pairs}</instance_attributes><operations>'
            f'<op id="ipmi-{host.name}-monitor" name="monitor" interval="60s"/></operations></primitive>')


class FencedPacemakerCluster(PacemakerCluster):
    """PacemakerCluster with a BMC per host whose power-off kills that host's corosync and pacemakerd group."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.log = directory / "actions.log"
        self.bmcs: dict[str, IpmiSim] = {}

    def build(self) -> None:
        super().build()
        self.log.touch()
        bmc.build_network(self.bridge_namespace, self.hosts)
        for host in self.hosts:
            self.bmcs[host.name] = bmc.start_bmc(self.bridge_namespace, host, self.log)

    def start_pacemaker(self, host: Host) -> None:
        super().start_pacemaker(host)
        bmc.machine_pids(host).write_text(f"{host.corosync.pid} {self.pacemakers[-1].pid}")

    def close(self) -> None:
        for sim in self.bmcs.values():
            try:
                sim.close()
            except Exception as error:             # closing the rest matters more than one BMC's error
                print(f"bench_failover: closing a BMC: {error}", file=sys.stderr)
        super().close()


def pacemaker_once(base: Path) -> dict[str, float]:
    with FencedPacemakerCluster(base) as cluster:
        cluster.start_all()
        for host in cluster.hosts:
            cluster.start_pacemaker(host)
        h1, _h2, h3 = cluster.hosts
        wait(lambda: len({cluster.dc(h) for h in cluster.hosts}) == 1 and cluster.dc(h1), "a Pacemaker DC")
        for host in cluster.hosts:
            cluster.tool(h1, "cibadmin", "-C", "-o", "resources", "-X", device_xml(host, cluster.bmcs[host.name]))
            cluster.tool(h1, "cibadmin", "-C", "-o", "constraints", "-X",
                         f'<rsc_location id="ipmi-{host.name}-avoids" rsc="ipmi-{host.name}" node="{host.name}" '
                         'score="-INFINITY"/>')
        for rid in RESOURCES:
            cluster.tool(h1, "cibadmin", "-C", "-o", "resources", "-X", primitive(rid))
        for rid in ON_H3:
            cluster.tool(h1, "cibadmin", "-C", "-o", "constraints", "-X",
                         f'<rsc_location id="{rid}-prefers-h3" rsc="{rid}" node="h3" score="100"/>')
        wait(lambda: all(rid in cluster.placement(h1) for rid in RESOURCES) and
             all(f"ipmi-{h.name}" in cluster.placement(h1) for h in cluster.hosts), "Pacemaker to start everything")
        on_h3 = [rid for rid in RESOURCES if cluster.placement(h1)[rid] == [h3.name]]
        begun = time.monotonic()
        cluster.cut(h3)

        def h3_online() -> bool:
            return any(n.get("name") == h3.name and n.get("online") == "true" for n in cluster.mon(h1).iter("node"))
        wait(lambda: not h3_online(), "Pacemaker to see h3 lost")
        detected = time.monotonic()
        wait(lambda: bmc.powered_off_mark(h3).exists(), "Pacemaker to fence h3")
        wait(lambda: all(cluster.placement(h1).get(rid, [h3.name])[0] != h3.name for rid in on_h3),
             "Pacemaker to recover h3's resources")
        recovered = time.monotonic()
        return {"detected": detected - begun, "fenced": fenced_at(h3) - begun, "recovered": recovered - begun,
                "moved": len(on_h3)}


def drover_once(base: Path) -> dict[str, float]:
    with DroverCluster(base, bmcs=True) as cluster:
        guest = cluster.start_guest(base / "guest1")
        try:
            return _drover_run(cluster, guest, base)
        finally:
            guest.stop()


def _drover_run(cluster: DroverCluster, guest: GuestDaemon, base: Path) -> dict[str, float]:
    start_drover(cluster)
    h1, _h2, h3 = cluster.hosts
    for host in cluster.hosts:
        cluster.drover(h1, "stonith", "create", *bmc.device_args(host, cluster.bmcs[host.name]))
        cluster.drover(h1, "constraint", "location", f"ipmi-{host.name}", "avoids", host.name)
    for rid in RESOURCES:
        cluster.drover(h1, "resource", "create", rid, "ocf:pacemaker:Dummy", "op", "monitor", "interval=2s")
    for rid in ON_H3:
        cluster.drover(h1, "constraint", "location", rid, "prefers", "h3=100")
    vm_xml = base / "vm-guest1.xml"
    vm_xml.write_text("<domain type='test'><name>vm-guest1</name><memory unit='MiB'>64</memory>"
                      "<os><type>hvm</type></os></domain>")
    cluster.drover(h1, "resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                   f"config={vm_xml}", "op", "monitor", "interval=2s", "meta", "remote-node=guest1",
                   f"remote-addr={cluster.GUEST_ADDRESS}", f"remote-port={guest.port}")
    cluster.drover(h1, "constraint", "location", "vm-guest1", "prefers", "h3=50")
    cluster.drover(h1, "resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor", "interval=2s")
    cluster.drover(h1, "constraint", "location", "webserver", "prefers", "guest1")

    def placement() -> dict[str, list[str]]:
        return cluster.placement(h1)
    wanted = [*RESOURCES, "vm-guest1", "webserver", *(f"ipmi-{h.name}" for h in cluster.hosts)]
    wait(lambda: all(len(placement().get(rid, [])) == 1 for rid in wanted) and
         placement()["vm-guest1"] == [h3.name] and placement()["webserver"] == ["guest1"],
         "drover to start everything, the VM on h3")
    on_h3 = [rid for rid in RESOURCES if placement()[rid] == [h3.name]]
    bmc.vm_pids(h3).write_text(f"{guest.process.pid}\n")
    begun = time.monotonic()
    cluster.cut(h3)
    wait(lambda: next(n for n in cluster.status(h1)["nodes"] if n["name"] == h3.name)["state"] != "online",
         "drover to see h3 lost")
    detected = time.monotonic()
    wait(lambda: cluster.powered_off(h3), "drover to fence h3")
    guest.process.wait(10)                       # the guest ended with h3; it boots again where the VM starts
    for state in guest.base.glob("Dummy-*.state"):
        state.unlink()
    guest.start(wait=False)
    wait(lambda: all(placement().get(rid, []) not in ([], [h3.name]) for rid in on_h3), "h3's resources elsewhere")
    recovered = time.monotonic()
    wait(lambda: placement()["vm-guest1"] in (["h1"], ["h2"]), "the VM started on a survivor")
    vm_started = time.monotonic()
    wait(lambda: placement()["webserver"] == ["guest1"] and placement()["vm-guest1"] in (["h1"], ["h2"]),
         "the web server running in guest1 again, its VM on a survivor")
    served = time.monotonic()
    return {"detected": detected - begun, "fenced": fenced_at(h3) - begun, "recovered": recovered - begun,
            "vm": vm_started - begun, "guest": served - begun, "moved": len(on_h3)}


def main() -> int:
    if os.geteuid() != 0 or not shutil.which("pacemakerd") or not shutil.which("corosync") or not available():
        print("bench_failover: needs root, corosync, pacemaker, ipmi_sim, ipmitool and fence-agents; skipped",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="drover-bench-failover-") as temp:
        base = Path(temp)
        drover = [drover_once(base / f"drover{n}") for n in range(REPEAT)]
        pacemaker = [pacemaker_once(base / f"pacemaker{n}") for n in range(REPEAT)]
    print(f"{'h3 lost, fenced with fence_ipmilan (s after the cut, median of ' + str(REPEAT) + ')':<62} "
          f"{'drover':>7} {'Pacemaker':>10} {'ratio':>7}")
    for phase in PHASES:
        mine = statistics.median(run[phase] for run in drover)
        theirs = statistics.median(run[phase] for run in pacemaker)
        print(f"{'  ' + phase:<62} {mine:>7.2f} {theirs:>10.2f} {theirs / mine:>6.1f}x")
    for key, label in (("vm", "vm-guest1 started on a survivor (drover only)"),
                       ("guest", "web server in guest1 again (drover only)")):
        print(f"{'  ' + label:<62} {statistics.median(run[key] for run in drover):>7.2f} {'-':>10} {'-':>7}")
    print(f"resources moved off h3 per run: drover {[r['moved'] for r in drover]}, "
          f"Pacemaker {[r['moved'] for r in pacemaker]}; six ocf:pacemaker:Dummy, 2 s monitors, "
          "one fence_ipmilan device per host")
    print(json.dumps({"drover": drover, "pacemaker": pacemaker}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
