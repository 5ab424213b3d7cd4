"""Drover on three hosts: one replicated state, one DC, resources across hosts, a killed DC, a cut-off host.

Each case builds its own three namespaces (tests/cluster/harness.py) with real corosync and `drover daemon`s
and removes them all. Restarts are counted in the shared action log the test agent writes.
"""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

import pytest

from tests.cluster.harness import DroverCluster

pytestmark = pytest.mark.timeout(300)
RESOURCES = [f"r{i}" for i in range(1, 7)]


def start(cluster: DroverCluster) -> None:
    cluster.start_all()
    for host in cluster.hosts:
        cluster.start_daemon(host)
    for host in cluster.hosts:
        cluster.wait(lambda h=host: _dc_and_online(cluster, h), f"{host.name} to see h1 as DC and 3 hosts online")


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


def active_by_log(cluster: DroverCluster) -> dict[str, set[str]]:
    """Where the agent itself says each resource is running (starts minus stops, per host)."""
    active: dict[str, set[str]] = collections.defaultdict(set)
    for line in cluster.actions():
        action, rid, host = line.split()
        (active[rid].add if action == "start" else active[rid].discard)(host)
    return active


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
        cluster.wait(lambda: len({repr(cluster.version(h)) for h in cluster.hosts}) == 1,
                     "equal versions and configurations on all hosts")
        for host in cluster.hosts:
            assert running_once(cluster, host) == placement
        version, configuration = cluster.version(h3)
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
        start(cluster)
        h1, h2, h3 = cluster.hosts
        create_resources(cluster, h1)
        cluster.drover(h1, "constraint", "location", "r1", "prefers", "h3=100")
        placement = cluster.wait(lambda: running_once(cluster, h2), "every resource running once")
        on_h3 = sorted(rid for rid, host in placement.items() if host == "h3")
        assert "r1" in on_h3
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
        cluster.wait(lambda: len({repr(cluster.version(h)) for h in cluster.hosts}) == 1, "one state again")
        active = active_by_log(cluster)
        assert {rid: sorted(active[rid]) for rid in RESOURCES} == {rid: [final[rid]] for rid in RESOURCES}
