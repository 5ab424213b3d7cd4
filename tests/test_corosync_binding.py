"""The corosync binding against real corosyncs: hosts are network namespaces on one machine (corosync_harness).

Needs root (namespaces), corosync 3.1 and its client libraries. Each client is
`tests.corosync_client` inside its host's namespace.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import shutil
import time
from pathlib import Path

import pytest

from appliance.cluster import corosync_cpg, corosync_quorum
from appliance.cluster.corosync_cpg import MAX_PAYLOAD_BYTES, CpgGroup, CpgReason
from appliance.cluster.corosync_lib import (
    CS_ERR_TRY_AGAIN,
    CS_OK,
    CorosyncError,
    CorosyncLibraryMissing,
    call_retrying,
    load,
)
from appliance.cluster.corosync_quorum import NodeState
from tests.corosync_harness import CLUSTER_NAME, Client, CorosyncCluster

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("corosync") is None,
                       reason="needs root (network namespaces) and corosync"),
]

GROUP = "drover-test"


@pytest.fixture
def cluster(tmp_path: Path):
    with CorosyncCluster(tmp_path / "cluster", 3) as built:
        built.start_all()
        yield built


def members_of(event: dict) -> set[tuple[int, int]]:
    return {(nodeid, pid) for nodeid, pid, _reason in event["members"]}


def wait_for_members(client: Client, expected: set[tuple[int, int]], after: int = 0,
                     timeout_s: float = 20.0) -> dict:
    return client.wait_for(lambda e: e["event"] == "confchg" and members_of(e) == expected,
                           f"confchg with members {sorted(expected)}", timeout_s, after)


def joined_clients(cluster: CorosyncCluster) -> list[Client]:
    clients = [cluster.client(host, GROUP) for host in cluster.hosts]
    everyone = {(client.host.nodeid, client.process.pid) for client in clients}
    for client in clients:
        wait_for_members(client, everyone)
    return clients


def wait_for_quorum(client: Client, quorate: bool, members: set[int], after: int = 0,
                    timeout_s: float = 20.0) -> dict:
    """A quorum event saying `quorate` with exactly `members` as the member nodes."""
    return client.wait_for(
        lambda e: e["event"] == "quorum" and e["quorate"] == quorate
        and {n for n, state in e["nodes"] if state == NodeState.MEMBER} == members,
        f"quorum event quorate={quorate} members={sorted(members)}", timeout_s, after)


def info(client: Client) -> dict:
    mark = client.mark()
    client.command("info")
    return client.wait_for(lambda e: e["event"] == "info", "info", after=mark)


def test_three_hosts_each_see_a_membership_of_three_and_the_same_node_list(cluster):
    clients = joined_clients(cluster)
    for client in clients:
        host = client.host
        cmap = client.of_kind("cmap")[0]
        assert cmap["cluster_name"] == CLUSTER_NAME
        assert cmap["local_nodeid"] == host.nodeid
        assert cmap["nodes"] == [{"position": other.index - 1, "nodeid": other.nodeid, "name": other.name,
                                  "addresses": [{"link": 0, "address": other.address}]} for other in cluster.hosts]
        answer = info(client)
        assert answer["cpg_nodeid"] == host.nodeid
        assert {(nodeid, pid) for nodeid, pid, _ in answer["members"]} == {
            (other.host.nodeid, other.process.pid) for other in clients}
        assert answer["quorum"]["quorate"] and answer["quorate"]
        assert (answer["quorum"]["total_votes"], answer["quorum"]["expected_votes"], answer["quorum"]["quorum"]) == (
            3, 3, 2)
        assert not answer["quorum"]["two_node"]


def test_messages_sent_at_once_from_three_hosts_are_delivered_in_one_order_everywhere(cluster):
    clients = joined_clients(cluster)
    per_sender = 300
    start_at = time.time() + 0.5    # one clock for every namespace: the three bursts overlap
    for client in clients:
        client.command("burst", prefix=client.host.name, count=per_sender, at=start_at, interval_s=0.001)
    total = per_sender * len(clients)
    for client in clients:
        client.wait_for(lambda _e, c=client: len(c.of_kind("deliver")) >= total, f"{total} deliveries", 30)
    orders = [[(d["nodeid"], d["pid"], d["payload"]) for d in client.of_kind("deliver")] for client in clients]
    assert orders[0] == orders[1] == orders[2]
    sender_changes = sum(1 for before, after in itertools.pairwise(orders[0]) if before[:2] != after[:2])
    assert sender_changes > 10, "the bursts did not overlap, so the order was never contested"
    senders = {client.host.name: (client.host.nodeid, client.process.pid) for client in clients}
    for name, sender in senders.items():
        # Each sender's messages keep its sending order, and carry its node id and pid.
        assert [p for n, pid, p in orders[0] if (n, pid) == sender] == [f"{name}-{i}" for i in range(per_sender)]


def test_an_eight_mib_message_crosses_fragmentation_whole_and_one_over_the_limit_is_refused(cluster):
    clients = joined_clients(cluster)
    size = 8 * 1024 * 1024 + 77              # eight of libcpg's fragments and a bit: reassembled on delivery
    clients[0].command("send_bytes", size=size)
    clients[0].command("send_bytes", size=MAX_PAYLOAD_BYTES + 1)
    refused = clients[0].wait_for(lambda e: e["event"] == "refused", "a refusal", 30)
    assert f"{MAX_PAYLOAD_BYTES + 1} bytes" in refused["message"] and "64 MiB" in refused["message"]
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    for client in clients:
        delivered = client.wait_for(lambda e: e["event"] == "deliver", "the 8 MiB message", 30)
        assert (delivered["size"], delivered["sha256"]) == (size, hashlib.sha256(payload).hexdigest())
    later = clients[1].mark()
    clients[2].command("send", payload="after")      # the order goes on after a fragmented message
    clients[1].wait_for(lambda e: e["event"] == "deliver" and e.get("payload") == "after", "the next message",
                        after=later)


def test_a_client_that_leaves_and_one_killed_with_sigkill_appear_as_left(cluster):
    first, second, third = joined_clients(cluster)
    marks = [first.mark(), second.mark()]
    third.command("leave")
    third.wait_for(lambda e: e["event"] == "left", "its own leave")
    for client, mark in zip((first, second), marks, strict=True):
        change = wait_for_members(client, {(1, first.process.pid), (2, second.process.pid)}, mark)
        assert change["left"] == [[3, third.process.pid, CpgReason.LEAVE]]
    mark = first.mark()
    second.kill()
    change = wait_for_members(first, {(1, first.process.pid)}, mark)
    assert change["left"] == [[2, second.process.pid, CpgReason.PROCDOWN]]


def test_quorum_follows_a_host_cut_off_and_healed_and_a_host_stopped(cluster):
    first, second, third = clients = joined_clients(cluster)
    everyone = {(client.host.nodeid, client.process.pid) for client in clients}
    for client in clients:
        wait_for_quorum(client, True, {1, 2, 3})

    marks = [client.mark() for client in clients]
    started = time.monotonic()
    cluster.cut(cluster.hosts[2])
    wait_for_quorum(third, False, {3}, marks[2])
    for client, mark in zip((first, second), marks[:2], strict=True):
        wait_for_quorum(client, True, {1, 2}, mark)
        change = wait_for_members(client, everyone - {(3, third.process.pid)}, mark)
        assert change["left"] == [[3, third.process.pid, CpgReason.NODEDOWN]]
    assert not info(third)["quorate"] and info(first)["quorate"]
    print(f"cut off: noticed in {time.monotonic() - started:.1f}s")

    marks = [client.mark() for client in clients]
    started = time.monotonic()
    cluster.heal(cluster.hosts[2])
    for client, mark in zip(clients, marks, strict=True):
        wait_for_quorum(client, True, {1, 2, 3}, mark, timeout_s=30)
    wait_for_members(third, everyone, marks[2])
    print(f"healed: membership of 3 again in {time.monotonic() - started:.1f}s")

    marks = [client.mark() for client in clients]
    cluster.stop(cluster.hosts[2])
    lost = third.wait_for(lambda e: e["event"] == "error", "an error once its corosync stopped", after=marks[2])
    assert lost["name"] == "CS_ERR_LIBRARY" and "not running" in lost["message"]
    assert third.process.wait(timeout=10) == 3
    for client, mark in zip((first, second), marks[:2], strict=True):
        wait_for_quorum(client, True, {1, 2}, mark)
        answer = info(client)["quorum"]
        assert answer["quorate"] and (answer["total_votes"], answer["expected_votes"]) == (2, 3)


def test_two_hosts_are_a_two_node_cluster(tmp_path):
    with CorosyncCluster(tmp_path / "cluster", 2) as cluster:
        cluster.start_all()
        clients = joined_clients(cluster)
        answer = info(clients[0])["quorum"]
        assert answer["quorate"] and answer["two_node"] and answer["wait_for_all"]
        assert (answer["total_votes"], answer["expected_votes"], answer["quorum"]) == (2, 2, 1)


def test_every_library_says_clearly_that_corosync_is_not_running(tmp_path):
    with CorosyncCluster(tmp_path / "cluster", 1) as cluster:
        prober = cluster.client(cluster.hosts[0], "--probe")
        prober.wait_for(lambda e: e["event"] == "exit", "the probe to finish")
        errors = {event["what"]: event for event in prober.of_kind("error")}
        assert sorted(errors) == ["cmap", "cpg", "quorum", "votequorum"]
        for event in errors.values():
            assert event["name"] == "CS_ERR_LIBRARY"
            assert event["message"].endswith("CS_ERR_LIBRARY: corosync is not running (or refused the connection)")


def test_corosync_error_names_the_call_and_the_code():
    error = CorosyncError(CS_ERR_TRY_AGAIN, "cpg_join")
    assert (error.code, error.name, error.call, error.try_again) == (6, "CS_ERR_TRY_AGAIN", "cpg_join", True)
    assert str(error).startswith("cpg_join: CS_ERR_TRY_AGAIN: ")
    assert CorosyncError(99, "cmap_get").name == "CS_ERR_99"


def test_try_again_is_retried_within_its_budget_only():
    answers = iter([CS_ERR_TRY_AGAIN, CS_ERR_TRY_AGAIN, CS_OK])
    call_retrying("cpg_join", lambda: next(answers))
    started = time.monotonic()
    with pytest.raises(CorosyncError, match="CS_ERR_TRY_AGAIN"):
        call_retrying("cpg_mcast_joined", lambda: CS_ERR_TRY_AGAIN, budget_s=0.3)
    assert time.monotonic() - started < 1.0


def test_a_missing_library_names_the_packages_to_install():
    with pytest.raises(CorosyncLibraryMissing,
                       match=r"corosync client libraries not found: install corosync \(libcpg4"):
        load("libcpg.so.0-not-there")


def test_a_group_name_over_128_bytes_is_refused_before_connecting():
    with pytest.raises(ValueError, match="1 to 128 bytes"):
        CpgGroup("g" * 129, lambda *_: None, lambda *_: None)


def test_structures_have_the_sizes_of_corosync_3_1_7s_headers():
    """Sizes and offsets as gcc lays out include/corosync/{cpg,votequorum}.h of v3.1.7 on x86-64."""
    assert (ctypes.sizeof(corosync_cpg._CpgName), ctypes.sizeof(corosync_cpg._CpgAddress)) == (132, 12)
    model = corosync_cpg._ModelV1Data
    assert ctypes.sizeof(model) == 40
    assert (model.cpg_deliver_fn.offset, model.cpg_confchg_fn.offset, model.cpg_totem_confchg_fn.offset,
            model.flags.offset) == (8, 16, 24, 32)
    assert (ctypes.sizeof(corosync_quorum._Info), corosync_quorum._Info.flags.offset,
            corosync_quorum._Info.qdevice_name.offset) == (292, 28, 36)
    assert ctypes.sizeof(corosync_quorum._Callbacks) == 24
