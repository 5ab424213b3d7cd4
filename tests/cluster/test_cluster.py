"""Drover on three hosts: one replicated state, one DC, resources across hosts, a killed DC, a cut-off host.

Each case builds its own three namespaces (tests/cluster/harness.py) with real corosync and `drover daemon`s
and removes them all. Restarts are counted in the shared action log the test agent writes.
"""

from __future__ import annotations

import collections
import random
import secrets
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.cluster.harness import DroverCluster

pytestmark = pytest.mark.timeout(300)
RESOURCES = [f"r{i}" for i in range(1, 7)]


def start(cluster: DroverCluster, fencing: bool = False) -> None:
    """Every host up, h1 the DC. Without `fencing` the cases here have no fence device, so stonith-enabled is
    set false (with it true and no device, nothing would start, as in Pacemaker)."""
    cluster.start_all()
    for host in cluster.hosts:
        cluster.start_daemon(host)
    for host in cluster.hosts:
        cluster.wait(lambda h=host: _dc_and_online(cluster, h), f"{host.name} to see h1 as DC and 3 hosts online")
    if not fencing:
        cluster.drover(cluster.hosts[0], "property", "set", "stonith-enabled=false")


def _dc_and_online(cluster: DroverCluster, host) -> bool:
    status = cluster.status(host)
    online = sorted(n["name"] for n in status["nodes"] if n["state"] == "online")
    return status["summary"]["current_dc"] == "h1" and status["summary"]["with_quorum"] and \
        online == ["h1", "h2", "h3"]


def create_resources(cluster: DroverCluster, host) -> None:
    for rid in RESOURCES:
        cluster.drover(host, "resource", "create", rid, "ocf:test:hostlocal", f"log={cluster.log}",
                       "op", "monitor", "interval=2s")


def running_once(cluster: DroverCluster, host) -> dict[str, str]:
    """Where each resource runs, as `host` sees it; fails unless every one runs on exactly one host."""
    placement = cluster.placement(host)
    assert all(len(placement.get(rid, [])) == 1 for rid in RESOURCES), placement
    return {rid: placement[rid][0] for rid in RESOURCES}


def _replay(active: dict[str, set[str]], line: str) -> str | None:
    """One action log line applied to `active`; the resource it started, if any. `poweroff HOST` (a BMC cut
    the host's power, tests/cluster/bmc.py) ends everything that ran there."""
    words = line.split()
    if words[0] == "poweroff":
        for hosts in active.values():
            hosts.discard(words[1])
        return None
    action, rid, host = words
    (active[rid].add if action == "start" else active[rid].discard)(host)
    return rid


def active_by_log(cluster: DroverCluster) -> dict[str, set[str]]:
    """Where the agent itself says each resource is running (starts minus stops, per host)."""
    active: dict[str, set[str]] = collections.defaultdict(set)
    for line in cluster.actions():
        _replay(active, line)
    return active


def never_twice(cluster: DroverCluster) -> None:
    """At no point of the action log was a resource active on two hosts."""
    active: dict[str, set[str]] = collections.defaultdict(set)
    for number, line in enumerate(cluster.actions(), 1):
        rid = _replay(active, line)
        assert rid is None or len(active[rid]) <= 1, \
            f"line {number}: {rid} active on {sorted(active[rid])}:\n{cluster.actions()}"


def running_with_r1_on(cluster: DroverCluster, preferred: str, creator) -> dict[str, str]:
    """Three hosts up, the six resources created on `creator`, r1 preferring `preferred`: where they settle."""
    start(cluster)
    create_resources(cluster, creator)
    cluster.drover(cluster.hosts[0], "constraint", "location", "r1", "prefers", f"{preferred}=100")
    placement = cluster.wait(lambda: running_once(cluster, cluster.hosts[1]), "every resource running once")
    assert placement["r1"] == preferred
    return placement


def one_state(cluster: DroverCluster, what: str = "equal versions and configurations on all hosts") -> None:
    cluster.wait(lambda: len({repr(cluster.version(h)) for h in cluster.hosts}) == 1, what)


def starts(cluster: DroverCluster) -> int:
    return sum(1 for line in cluster.actions() if line.startswith("start "))


def test_three_hosts_one_state_one_dc_and_a_change_made_on_a_non_dc_host(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        start(cluster)
        h1, h2, h3 = cluster.hosts
        status = cluster.status(h2)
        assert status["summary"]["stack"] == "corosync"
        create_resources(cluster, h2)                                   # made on a host that is not the DC
        cluster.drover(h3, "constraint", "location", "r1", "prefers", "h3")
        cluster.drover(h2, "constraint", "location", "r2", "avoids", "h1")
        placement = cluster.wait(lambda: running_once(cluster, h1), "every resource running once")
        assert placement["r1"] == "h3"
        assert placement["r2"] != "h1"
        assert len(set(placement.values())) == 3, f"resources not spread over the hosts: {placement}"
        # the agents agree: each resource was started once, where status says it runs
        active = active_by_log(cluster)
        assert {rid: sorted(active[rid]) for rid in RESOURCES} == {rid: [placement[rid]] for rid in RESOURCES}
        # one state: the same epoch and configuration on all three once the last results are in
        one_state(cluster)
        for host in cluster.hosts:
            assert running_once(cluster, host) == placement
        _version, configuration = cluster.version(h3)
        assert [r.id for r in configuration.resources] == RESOURCES
        assert sorted(n.name for n in configuration.nodes) == ["h1", "h2", "h3"]


def test_kill_9_of_the_dc_gives_a_new_dc_and_restarts_nothing(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        start(cluster)
        h1, h2, h3 = cluster.hosts
        create_resources(cluster, h1)
        placement = cluster.wait(lambda: running_once(cluster, h2), "every resource running once")
        started = starts(cluster)
        cluster.stop_daemon(h1, signal.SIGKILL)
        cluster.wait(lambda: cluster.status(h2)["summary"]["current_dc"] == "h2", "h2 to become DC")
        time.sleep(5)                                # the new DC has had time to act on anything it would
        assert running_once(cluster, h3) == placement
        cluster.start_daemon(h1)
        cluster.wait(lambda: cluster.status(h1)["summary"]["current_dc"] == "h1", "h1 to be DC again")
        cluster.wait(lambda: running_once(cluster, h1) == placement, "h1 to have probed what runs")
        time.sleep(5)
        assert starts(cluster) == started, f"needless restarts:\n{cluster.actions()}"
        assert running_once(cluster, h3) == placement


def test_a_cut_off_host_loses_quorum_and_stops_its_resources_and_healing_gives_one_state(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        h1, _h2, h3 = cluster.hosts
        placement = running_with_r1_on(cluster, "h3", h1)
        on_h3 = sorted(rid for rid, host in placement.items() if host == "h3")
        cluster.cut(h3)
        cluster.wait(lambda: not cluster.status(h3)["summary"]["with_quorum"], "h3 to lose quorum")
        cluster.wait(lambda: all("h3" not in active_by_log(cluster)[rid] for rid in on_h3),
                     "h3 to stop its resources (no-quorum-policy=stop)")
        moved = cluster.wait(lambda: running_once(cluster, h1), "the majority to run everything")
        assert all(moved[rid] in ("h1", "h2") for rid in RESOURCES)
        cluster.heal(h3)
        cluster.wait(lambda: all(_dc_and_online(cluster, h) for h in cluster.hosts), "one cluster again")
        final = cluster.wait(lambda: running_once(cluster, h3), "every resource running once after the heal")
        assert final["r1"] == "h3"                                  # its preference counts again
        one_state(cluster, "one state again")
        active = active_by_log(cluster)
        assert {rid: sorted(active[rid]) for rid in RESOURCES} == {rid: [final[rid]] for rid in RESOURCES}


def test_a_host_that_leaves_cleanly_hands_its_resources_over_first(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        h1, h2, h3 = cluster.hosts
        running_with_r1_on(cluster, "h2", h3)
        stopped = cluster.drover(h2, "cluster", "stop", "--wait=60")
        assert "stop corosync now" in stopped.stdout
        assert cluster.exited(h2) == 0           # it left: exit 0, not a failure
        assert not any("h2" in hosts for hosts in active_by_log(cluster).values()), "h2 still runs resources"
        moved = running_once(cluster, h1)
        assert "h2" not in moved.values()
        cluster.stop(h2)                                              # then its corosync, as systemctl would
        cluster.wait(lambda: {n["name"]: n["state"] for n in cluster.status(h1)["nodes"]}["h2"] == "offline",
                     "h2 OFFLINE on h1")
        time.sleep(3)
        assert running_once(cluster, h3) == moved                     # nothing moves when it finally goes
        cluster.start(h2)
        cluster.start_daemon(h2)
        cluster.wait(lambda: _dc_and_online(cluster, h2), "h2 back")
        cluster.wait(lambda: running_once(cluster, h1)["r1"] == "h2", "r1 back on h2 (its preference)")
        never_twice(cluster)


def test_a_guest_node_runs_its_service_wherever_its_vm_runs(tmp_path: Path):
    with DroverCluster(tmp_path / "c", authkey=secrets.token_bytes(64)) as cluster:
        guest = cluster.start_guest(tmp_path / "guest1")
        try:
            start(cluster)
            h1, _h2, h3 = cluster.hosts
            vm_xml = tmp_path / "vm-guest1.xml"
            vm_xml.write_text("<domain type='test'><name>vm-guest1</name><memory unit='MiB'>64</memory>"
                              "<os><type>hvm</type></os></domain>")
            cluster.drover(h3, "resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                           f"config={vm_xml}", "op", "monitor", "interval=2s", "meta", "remote-node=guest1",
                           f"remote-addr={cluster.GUEST_ADDRESS}", f"remote-port={guest.port}")
            cluster.drover(h3, "constraint", "location", "vm-guest1", "prefers", "h2=50")
            cluster.drover(h3, "resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor",
                           "interval=2s")
            cluster.drover(h3, "constraint", "location", "webserver", "prefers", "guest1")

            def where() -> dict[str, list[str]]:
                placement = cluster.placement(h1)
                assert placement.get("webserver") == ["guest1"], placement
                return placement
            placement = cluster.wait(where, "webserver running in guest1", timeout=60)
            assert placement["vm-guest1"] == ["h2"] and placement["guest1"] == ["h2"]   # the link is held by h2
            nodes = {n["name"]: n["state"] for n in cluster.status(h3)["nodes"]}
            assert nodes == {"h1": "online", "h2": "online", "h3": "online", "guest1": "online"}
            text = cluster.drover(h3, "status").stdout
            assert "  * Online: [ h1 h2 h3 ]\n  * GuestOnline: [ guest1 ]\n" in text, text
            cluster.drover(h1, "resource", "move", "vm-guest1", "h3")
            moved = cluster.wait(lambda: where()["vm-guest1"] == ["h3"] and where(), "the VM on h3, webserver in it",
                                 timeout=60)
            assert moved["guest1"] == ["h3"]
            # as Pacemaker moves a guest's VM that cannot migrate: the web server is stopped in the guest before
            # its VM stops, and started in it again once the VM runs on h3 and guest1 is reconnected
            log = guest.log()
            stop = log.index("webserver_stop_0 (ocf:heartbeat:Dummy): done rc=0")
            assert "webserver_start_0 (ocf:heartbeat:Dummy): done rc=0" in log[stop:], log[-3000:]
        finally:
            guest.stop()


def test_kill_9_of_any_daemon_while_changes_are_made_loses_no_acknowledged_change(tmp_path: Path):
    """Configuration changes made on every host one after another while, every second or two, a daemon
    (any of them, the DC included) is killed with SIGKILL and restarted: every change a command reported done
    is, at the end, on all three hosts, and the running resources were never active twice."""
    seed = secrets.randbelow(1 << 30)
    chooser = random.Random(seed)
    with DroverCluster(tmp_path / "c") as cluster:
        start(cluster)
        create_resources(cluster, cluster.hosts[1])
        cluster.wait(lambda: running_once(cluster, cluster.hosts[0]), "every resource running once")
        acknowledged: list[str] = []
        refused: list[str] = []
        reasons: set[str] = set()
        stop = threading.Event()

        def make_changes() -> None:
            number = 0
            while not stop.is_set():
                host = cluster.hosts[number % 3]
                rid = f"k{number}"
                result = cluster.drover(host, "resource", "create", rid, "ocf:test:hostlocal",
                                        f"log={cluster.log}", "--disabled", check=False)
                (acknowledged if result.returncode == 0 else refused).append(rid)
                if result.returncode != 0:
                    reasons.add(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "(silent)")
                number += 1

        writer = threading.Thread(target=make_changes, daemon=True)
        writer.start()
        killed = []
        try:
            for _ in range(8):
                time.sleep(chooser.uniform(0.5, 2.0))
                victim = chooser.choice(cluster.hosts)
                killed.append(victim.name)
                cluster.stop_daemon(victim, signal.SIGKILL)
                time.sleep(chooser.uniform(0.2, 1.5))
                cluster.start_daemon(victim)
            time.sleep(2)
        finally:
            stop.set()
            writer.join(timeout=60)
        assert not writer.is_alive()
        context = f"seed {seed}, killed {killed}, acknowledged {acknowledged}, refused {refused}: {reasons}"
        # a refusal says why: no daemon to take it, or it was taken and the daemon ended before answering
        assert all("drover is not running on this host" in reason or "outcome is unknown" in reason
                   for reason in reasons), context
        assert len(acknowledged) >= 10, f"too few changes went through to test anything: {context}"
        for host in cluster.hosts:
            cluster.wait(lambda h=host: _dc_and_online(cluster, h), f"{host.name} back with h1 as DC ({context})")
        one_state(cluster, f"one state after the kills ({context})")
        _version, configuration = cluster.version(cluster.hosts[2])
        present = {r.id for r in configuration.resources}
        assert set(acknowledged) <= present, f"lost {sorted(set(acknowledged) - present)}: {context}"
        assert present <= set(RESOURCES) | set(acknowledged) | set(refused), context
        cluster.wait(lambda: running_once(cluster, cluster.hosts[0]), f"every resource running once ({context})")
        never_twice(cluster)


def test_relocate_run_moves_what_stickiness_holds_and_removes_its_pins(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        start(cluster)
        h1, h2, h3 = cluster.hosts
        cluster.drover(h2, "resource", "defaults", "resource-stickiness=100")
        cluster.drover(h2, "resource", "create", "r1", "ocf:test:hostlocal", f"log={cluster.log}", "op", "monitor",
                       "interval=2s")
        cluster.drover(h2, "constraint", "location", "r1", "prefers", "h1=200")
        cluster.wait(lambda: cluster.placement(h2).get("r1") == ["h1"], "r1 on h1")
        cluster.drover(h2, "constraint", "remove", "location-r1-h1-200")
        cluster.drover(h2, "constraint", "location", "r1", "prefers", "h3=50")    # weaker than its stickiness
        time.sleep(3)
        assert cluster.placement(h2)["r1"] == ["h1"]
        dry = cluster.drover(h2, "resource", "relocate", "dry-run").stdout
        assert "Creating location constraint: r1 prefers h3=INFINITY" in dry and "( h1 -> h3 )" in dry, dry
        done = cluster.drover(h3, "resource", "relocate", "run", "r1", "--wait=45s").stdout
        assert "Waiting for resources to move..." in done and "Removing constraint pcs-relocate-r1" in done
        assert cluster.placement(h1)["r1"] == ["h3"]
        _version, configuration = cluster.version(h1)
        assert not [c.id for c in configuration.constraints if c.id.startswith("pcs-relocate-")]
        time.sleep(3)                                  # without its pin, its stickiness keeps it on h3
        assert cluster.placement(h1)["r1"] == ["h3"]
        assert active_by_log(cluster)["r1"] == {"h3"}
        never_twice(cluster)
