"""The replicated state over real corosync (three network-namespace hosts, tests/corosync_harness.py): a change
made on any host is on all three with the same version and digest; a host cut off and healed ends equal to
the others, the newer copy winning; a host whose corosync stops is told its bus is gone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.corosync_harness import Client, CorosyncCluster

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("corosync") is None,
                       reason="needs root (network namespaces) and corosync"),
]


def replicas(cluster: CorosyncCluster) -> list[Client]:
    return [cluster.client(host, str(host.directory / "state.db"), module="tests.replica_node")
            for host in cluster.hosts]


def version(node: Client) -> dict:
    mark = node.mark()
    node.command("version")
    return node.wait_for(lambda e: e["event"] == "version", "version", after=mark)


def synced(node: Client, members: list[int], after: int = 0) -> None:
    """`members` formed (as CPG tells this node) and the sync of that round done."""
    seen = node.wait_for(lambda e: e["event"] == "membership" and e["members"] == members, f"membership {members}",
                         timeout_s=30, after=after)
    position = next(i for i in range(after, len(node.events)) if node.events[i] is seen)
    node.wait_for(lambda e: e["event"] == "synced", "synced", timeout_s=30, after=position)


def add(node: Client, rid: str, **count: int) -> dict:
    mark = node.mark()
    node.command("add", rid=rid, **count)
    return node.wait_for(lambda e: e["event"] == "outcome" and e["id"] == rid, f"outcome of {rid}", after=mark)


def settle(nodes: list[Client], resources: list[str]) -> list[dict]:
    """Every node's version once all show `resources` (changes arrive everywhere within moments)."""
    shown = []
    for node in nodes:
        for _ in range(50):
            current = version(node)
            if current["resources"] == resources:
                break
        shown.append(current)
    return shown


def three_synced(cluster: CorosyncCluster) -> list[Client]:
    cluster.start_all()
    nodes = replicas(cluster)
    for node in nodes:
        synced(node, [1, 2, 3])
    return nodes


def test_one_state_on_three_hosts_through_a_cut_and_a_heal(tmp_path: Path):
    with CorosyncCluster(tmp_path / "cluster", 3) as cluster:
        nodes = three_synced(cluster)
        assert add(nodes[1], "web")["applied"]
        states = settle(nodes, ["web"])
        assert {s["digest"] for s in states} == {states[0]["digest"]} and states[0]["version"] == [0, 1, 0]

        marks = [node.mark() for node in nodes]
        cluster.cut(cluster.hosts[2])
        for node, mark, side in zip(nodes, marks, ([1, 2], [1, 2], [3]), strict=True):
            synced(node, side, mark)                        # each side synced within itself
        assert add(nodes[0], "db")["applied"] and add(nodes[1], "ip")["applied"]
        assert add(nodes[2], "lonely")["applied"]
        assert settle(nodes[2:], ["web", "lonely"])[0]["version"] == [0, 2, 0]

        marks = [node.mark() for node in nodes]
        cluster.heal(cluster.hosts[2])
        for node, mark in zip(nodes, marks, strict=True):
            synced(node, [1, 2, 3], mark)
        states = settle(nodes, ["web", "db", "ip"])             # epoch 3 beats epoch 2
        assert {s["digest"] for s in states} == {states[0]["digest"]}, states
        assert [s["resources"] for s in states] == [["web", "db", "ip"]] * 3

        mark = nodes[2].mark()
        cluster.stop(cluster.hosts[2])
        nodes[2].wait_for(lambda e: e["event"] == "lost", "the bus lost", after=mark)


def test_a_change_and_a_full_copy_over_one_mib_reach_every_host_whole(tmp_path: Path):
    with CorosyncCluster(tmp_path / "cluster", 3) as cluster:
        nodes = three_synced(cluster)
        marks = [node.mark() for node in nodes]
        cluster.cut(cluster.hosts[2])
        for node, mark, side in zip(nodes, marks, ([1, 2], [1, 2], [3]), strict=True):
            synced(node, side, mark)
        # about 3 MiB of JSON, 1.5 MiB compressed: libcpg's fragments
        assert add(nodes[1], "big", count=1500)["applied"]
        names = [f"big{n}" for n in range(1500)]
        marks = [node.mark() for node in nodes]
        cluster.heal(cluster.hosts[2])
        for node, mark in zip(nodes, marks, strict=True):
            synced(node, [1, 2, 3], mark)
        states = settle(nodes, names)                       # host 3 took the full copy
        assert [s["resources"] == names for s in states] == [True] * 3
        assert {s["digest"] for s in states} == {states[0]["digest"]}
