"""`make bench` (cluster part): drover beside Pacemaker 2.1.5 on three hosts built the same way.

Both run on the corosync harness's three network namespaces (tests/corosync_harness.py: knet, token 1000 ms,
the same corosync.conf), one after the other: drover with a `drover daemon` per host, Pacemaker with a
`pacemakerd` per host (private /run, /var/lib/pacemaker and /var/log/pacemaker per namespace). Both manage
six ocf:pacemaker:Dummy resources with a 2 s monitor and stonith-enabled=false. Measured, median of REPEAT:

- configuration round trip: a resource created on a host that is not the DC (`drover resource create` /
  `cibadmin -C`) until every host's copy has it;
- host lost: h3's link goes down until everything it ran is running on h1/h2 (seen from h1).

Needs root, corosync and pacemaker; leaves nothing running.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tests.cluster.harness import DroverCluster
from tests.corosync_harness import CorosyncCluster, Host

REPEAT = 3
RESOURCES = [f"r{i}" for i in range(1, 7)]
TIMEOUT_S = 90.0


def wait(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (ValueError, KeyError, OSError, AssertionError, AttributeError, ET.ParseError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"bench: timed out waiting for {what}")


# -- Pacemaker on the same namespaces ------------------------------------------------------------------------------

class PacemakerCluster(CorosyncCluster):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory, 3)
        self.pacemakers: list[subprocess.Popen] = []

    def start_pacemaker(self, host: Host) -> None:
        for sub in ("varlib/cib", "varlib/pengine", "varlib/blackbox", "varlib/cores", "log"):
            (host.directory / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "-R", "hacluster:haclient", str(host.directory / "varlib"),
                        str(host.directory / "log")], check=True, timeout=10)
        script = ('mount --bind "$1/run" /run && mount --bind "$1/varlib" /var/lib/pacemaker && '
                  'mount --bind "$1/log" /var/log/pacemaker && mkdir -p /run/resource-agents && exec pacemakerd -f')
        with open(host.directory / "pacemaker.out", "ab") as output:
            self.pacemakers.append(subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, "sh", "-c", script, "sh", str(host.directory)],
                stdout=output, stderr=output, start_new_session=True,
                env=dict(os.environ, PCMK_logfile=str(host.directory / "log/pacemaker.log"))))

    def tool(self, host: Host, *command: str) -> str:
        done = subprocess.run(["ip", "netns", "exec", host.namespace, *command], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise OSError(f"{' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    def mon(self, host: Host) -> ET.Element:
        return ET.fromstring(self.tool(host, "crm_mon", "-1", "--output-as=xml"))

    def placement(self, host: Host) -> dict[str, list[str]]:
        return {r.get("id"): [n.get("name") for n in r.iter("node")]
                for r in self.mon(host).iter("resource") if r.get("role") == "Started"}

    def dc(self, host: Host) -> str:
        return self.mon(host).find("summary/current_dc").get("name")

    def close(self) -> None:
        for process in self.pacemakers:
            if process.poll() is None:
                process.terminate()
        for process in self.pacemakers:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        super().close()


def primitive(rid: str) -> str:
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"><operations>'
            f'<op id="{rid}-monitor-2s" name="monitor" interval="2s"/></operations></primitive>')


def runs(once: Callable[[Path], tuple[float, float, int]], base: Path) -> tuple[list[float], list[float], int]:
    results = [once(base / f"run{attempt}") for attempt in range(REPEAT)]
    return [r[0] for r in results], [r[1] for r in results], sum(r[2] for r in results)


def pacemaker_once(base: Path) -> tuple[float, float, int]:
    with PacemakerCluster(base) as cluster:
        cluster.start_all()
        for host in cluster.hosts:
            cluster.start_pacemaker(host)
        h1, _h2, h3 = cluster.hosts
        wait(lambda: len({cluster.dc(h) for h in cluster.hosts}) == 1 and cluster.dc(h1), "a Pacemaker DC")
        cluster.tool(h1, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false")
        for rid in RESOURCES:
            cluster.tool(h1, "cibadmin", "-C", "-o", "resources", "-X", primitive(rid))
        wait(lambda: len(cluster.placement(h1)) == len(RESOURCES), "Pacemaker to start everything")
        dc = cluster.dc(h1)
        other = next(h for h in cluster.hosts if h.name != dc)
        begun = time.monotonic()
        cluster.tool(other, "cibadmin", "-C", "-o", "resources", "-X", primitive("extra"))
        wait(lambda: all('id="extra"' in cluster.tool(h, "cibadmin", "-Q", "-o", "resources")
                         for h in cluster.hosts), "the change everywhere")
        round_trip = time.monotonic() - begun
        wait(lambda: len(cluster.placement(h1)) == len(RESOURCES) + 1, "Pacemaker to start extra")
        on_h3 = [rid for rid, nodes in cluster.placement(h1).items() if nodes == [h3.name]]
        begun = time.monotonic()
        cluster.cut(h3)
        wait(lambda: all(cluster.placement(h1).get(rid, [h3.name])[0] != h3.name for rid in on_h3) and on_h3,
             "Pacemaker to recover h3's resources")
        return round_trip, time.monotonic() - begun, len(on_h3)


def start_drover(cluster: DroverCluster) -> None:
    """corosync and a drover daemon on every host, until h1 is the DC with every host online."""
    cluster.start_all()
    for host in cluster.hosts:
        (host.directory / "run/resource-agents").mkdir(parents=True, exist_ok=True)
        cluster.start_daemon(host)
    h1 = cluster.hosts[0]
    wait(lambda: cluster.status(h1)["summary"]["current_dc"] == "h1" and
         sum(n["state"] == "online" for n in cluster.status(h1)["nodes"]) == len(cluster.hosts), "a drover DC")


def drover_once(base: Path) -> tuple[float, float, int]:
    with DroverCluster(base) as cluster:
        start_drover(cluster)
        h1, h2, h3 = cluster.hosts
        cluster.drover(h1, "property", "set", "stonith-enabled=false")     # as on the Pacemaker side
        for rid in RESOURCES:
            cluster.drover(h1, "resource", "create", rid, "ocf:pacemaker:Dummy", "op", "monitor", "interval=2s")

        def placement() -> dict[str, list[str]]:
            return {rid: nodes for rid, nodes in cluster.placement(h1).items() if nodes}
        wait(lambda: len(placement()) == len(RESOURCES), "drover to start everything")
        begun = time.monotonic()
        cluster.drover(h2, "resource", "create", "extra", "ocf:pacemaker:Dummy", "op", "monitor", "interval=2s")
        wait(lambda: all("extra" in [r.id for r in cluster.version(h)[1].resources] for h in cluster.hosts),
             "the change everywhere")
        round_trip = time.monotonic() - begun
        wait(lambda: len(placement()) == len(RESOURCES) + 1, "drover to start extra")
        on_h3 = [rid for rid, nodes in placement().items() if nodes == [h3.name]]
        begun = time.monotonic()
        cluster.cut(h3)
        wait(lambda: on_h3 and all(placement().get(rid, [h3.name])[0] != h3.name for rid in on_h3),
             "drover to recover h3's resources")
        return round_trip, time.monotonic() - begun, len(on_h3)


def main() -> int:
    if os.geteuid() != 0 or not shutil.which("pacemakerd") or not shutil.which("corosync"):
        print("bench_cluster: needs root, corosync and pacemaker; skipped", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="drover-bench-cluster-") as temp:
        base = Path(temp)
        drover = runs(drover_once, base / "drover")
        pacemaker = runs(pacemaker_once, base / "pacemaker")
    rows = [("config change on a non-DC host, seen on all 3", drover[0], pacemaker[0]),
            ("host link down -> its resources running elsewhere", drover[1], pacemaker[1])]
    print(f"{'3 hosts, corosync token 1000 ms (median of ' + str(REPEAT) + ')':<52} {'drover s':>9} "
          f"{'Pacemaker s':>12} {'ratio':>7}")
    for what, ours, theirs in rows:
        mine, other = statistics.median(ours), statistics.median(theirs)
        print(f"{what:<52} {mine:>9.2f} {other:>12.2f} {other / mine:>6.1f}x")
    print(f"resources recovered in the failover runs: drover {drover[2]}, Pacemaker {pacemaker[2]}; "
          "both with stonith-enabled=false, six ocf:pacemaker:Dummy with a 2 s monitor")
    print(json.dumps({"drover": {"round_trip_s": drover[0], "failover_s": drover[1]},
                      "pacemaker": {"round_trip_s": pacemaker[0], "failover_s": pacemaker[1]}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
