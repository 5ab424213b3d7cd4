"""The replicated cluster state over a totally ordered bus: real SQLite copies, one per member, and an ordered,
virtually synchronous bus in memory standing in for CPG (whose order and membership semantics
tests/test_corosync_binding.py checks against real corosync). Changes are applied in order everywhere, conflicts
alike everywhere, and after a partition heals the newest copy wins and every member is equal again."""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from pathlib import Path

import pytest

from appliance.cluster import replica as replica_module
from appliance.cluster.replica import PROTOCOL, Outcome, Replica
from appliance.model import edits
from appliance.model.history import set_transient
from appliance.model.resources import AgentRef, Primitive
from appliance.store import replicated
from appliance.store.cib_store import CibStore

DUMMY = AgentRef("ocf", "Dummy", "pacemaker")


class OrderedBus:
    """Total order and virtual synchrony: a message goes to every member of its sender's partition at the time it
    was sent, in one global order; a membership change is delivered after everything sent before it."""

    def __init__(self) -> None:
        self.queue: list[tuple[frozenset[int], int, bytes]] = []
        self.replicas: dict[int, Replica] = {}
        self.partitions: list[frozenset[int]] = []

    def endpoint(self, nodeid: int) -> Endpoint:
        return Endpoint(self, nodeid)

    def partition_of(self, nodeid: int) -> frozenset[int]:
        return next(p for p in self.partitions if nodeid in p)

    def run(self) -> None:
        while self.queue:
            group, sender, payload = self.queue.pop(0)
            for member in sorted(group):
                self.replicas[member].delivered(sender, payload)

    def form(self, *partitions: set[int]) -> None:
        self.run()
        self.partitions = [frozenset(p) for p in partitions]
        for partition in self.partitions:
            for member in sorted(partition):
                self.replicas[member].membership(tuple(sorted(partition)))
        self.run()


class Endpoint:
    def __init__(self, bus: OrderedBus, nodeid: int):
        self.bus, self.nodeid = bus, nodeid

    def send(self, payload: bytes) -> None:
        self.bus.queue.append((self.bus.partition_of(self.nodeid), self.nodeid, payload))


@pytest.fixture
def cluster(tmp_path: Path):
    bus = OrderedBus()
    outcomes: dict[int, list[Outcome]] = {}
    stores = {}
    for nodeid in (1, 2, 3):
        stores[nodeid] = CibStore.open(tmp_path / f"h{nodeid}.db")
        outcomes[nodeid] = []
        bus.replicas[nodeid] = Replica(stores[nodeid], bus.endpoint(nodeid), nodeid, "drover test",
                                       on_outcome=outcomes[nodeid].append)
    yield bus, stores, outcomes
    for store in stores.values():
        store.close()


def add(rid: str):
    return lambda configuration: edits.add_resource(configuration, Primitive(rid, DUMMY))


def propose(bus: OrderedBus, stores, nodeid: int, change_id: str, edit) -> None:
    bus.replicas[nodeid].propose_configuration(change_id, replicated.prepare_configuration(stores[nodeid], edit))


def resources(store: CibStore) -> list[str]:
    return [r.id for r in store.configuration().resources]


def all_equal(stores) -> bool:
    dumps = [replicated.dump(store) for store in stores.values()]
    return all(dump == dumps[0] for dump in dumps)


def test_a_change_made_on_any_member_is_applied_by_all_with_equal_epochs(cluster):
    bus, stores, outcomes = cluster
    bus.form({1, 2, 3})
    propose(bus, stores, 2, "c1", add("web"))
    bus.run()
    assert [resources(stores[n]) for n in (1, 2, 3)] == [["web"]] * 3
    assert {replicated.version(stores[n]) for n in (1, 2, 3)} == {(0, 1, 0)}
    assert outcomes[2] == [Outcome("c1", True)] and outcomes[1] == outcomes[3] == []
    assert all_equal(stores)


def test_two_changes_made_on_the_same_epoch_the_second_is_refused_everywhere_alike(cluster):
    bus, stores, outcomes = cluster
    bus.form({1, 2, 3})
    propose(bus, stores, 1, "a", add("first"))
    propose(bus, stores, 3, "b", add("second"))          # made before the first was delivered
    bus.run()
    assert [resources(stores[n]) for n in (1, 2, 3)] == [["first"]] * 3
    assert outcomes[1] == [Outcome("a", True)]
    assert outcomes[3] == [Outcome("b", False, "the configuration changed meanwhile; run the command again")]
    propose(bus, stores, 3, "b2", add("second"))         # made again on the new state
    bus.run()
    assert resources(stores[2]) == ["first", "second"] and all_equal(stores)


def test_status_changes_from_several_hosts_all_apply(cluster):
    bus, stores, _ = cluster
    bus.form({1, 2, 3})
    for nodeid in (1, 2, 3):
        change = replicated.prepare_status(stores[nodeid], lambda s, n=nodeid: set_transient(s, f"h{n}", "up", "1"))
        bus.replicas[nodeid].propose_status(f"s{nodeid}", change)
    bus.run()
    assert all(stores[1].read().status.transient(f"h{n}").get("up") == "1" for n in (1, 2, 3))
    assert replicated.version(stores[1]) == (0, 0, 3) and all_equal(stores)


def test_after_a_partition_heals_the_newest_copy_wins_and_all_are_equal(cluster):
    bus, stores, _ = cluster
    bus.form({1, 2, 3})
    propose(bus, stores, 1, "base", add("web"))
    bus.run()
    bus.form({1, 2}, {3})                                 # host 3 cut off
    propose(bus, stores, 2, "majority-1", add("db"))
    bus.run()
    propose(bus, stores, 1, "majority-2", add("ip"))
    propose(bus, stores, 3, "minority", add("lonely"))
    bus.run()
    assert resources(stores[3]) == ["web", "lonely"] and resources(stores[1]) == ["web", "db", "ip"]
    bus.form({1, 2, 3})                                   # healed: epoch 3 beats epoch 2
    assert [resources(stores[n]) for n in (1, 2, 3)] == [["web", "db", "ip"]] * 3
    assert all_equal(stores)


def test_every_member_knows_whose_copy_a_merge_replaced(cluster):
    """The cut-off host's copy can be the newest (it recorded more while alone): then what the others recorded
    is gone, and every member names them, so their DC probes them again."""
    bus, stores, _ = cluster
    bus.form({1, 2, 3})
    propose(bus, stores, 1, "base", add("web"))
    bus.run()
    assert {bus.replicas[n].replaced for n in (1, 2, 3)} == {frozenset()}        # equal copies: none replaced
    bus.form({1, 2}, {3})
    status = replicated.prepare_status(stores[1], lambda s: set_transient(s, "h1", "seen", "1"))
    bus.replicas[1].propose_status("majority", status)
    for number in range(3):                         # host 3 alone writes more: its version gets ahead
        change = replicated.prepare_status(stores[3], lambda s, n=number: set_transient(s, "h3", "alone", str(n)))
        bus.replicas[3].propose_status(f"minority-{number}", change)
        bus.run()
    bus.form({1, 2, 3})
    assert all_equal(stores) and {bus.replicas[n].replaced for n in (1, 2, 3)} == {frozenset({1, 2})}
    bus.form({1, 2}, {3})                            # host 3 restarts with its old copy: only it is replaced
    bus.replicas[1].propose_status("newer", replicated.prepare_status(
        stores[1], lambda s: set_transient(s, "h1", "later", "1")))
    bus.run()
    bus.form({1, 2, 3})
    assert {bus.replicas[n].replaced for n in (1, 2, 3)} == {frozenset({3})}


def test_a_member_joining_with_an_old_copy_takes_the_full_copy_before_applying_anything_new(cluster):
    bus, stores, outcomes = cluster
    bus.form({1, 2}, {3})
    for number in range(3):
        propose(bus, stores, 1, f"c{number}", add(f"r{number}"))
        bus.run()
    bus.run()
    # host 3 joins; a change is made on host 2 while the sync is still going on (before the dump is delivered)
    bus.partitions = [frozenset({1, 2, 3})]
    for member in (1, 2, 3):
        bus.replicas[member].membership((1, 2, 3))
    propose(bus, stores, 2, "during-sync", add("late"))
    bus.run()
    assert [resources(stores[n]) for n in (1, 2, 3)] == [["r0", "r1", "r2", "late"]] * 3
    assert outcomes[2][-1] == Outcome("during-sync", True) and all_equal(stores)


def test_a_member_speaking_another_protocol_is_named_once_and_the_others_go_on(cluster, caplog):
    bus, stores, _ = cluster
    caplog.set_level(logging.ERROR)
    stranger = bus.replicas[3]
    stranger._send = lambda message: bus.queue.append(   # as a drover of another version would speak
        (bus.partition_of(3), 3, __import__("json").dumps({"protocol": PROTOCOL + 1, "software": "drover 9.0",
                                                            **message}).encode()))
    bus.form({1, 2, 3})
    propose(bus, stores, 1, "c", add("web"))
    bus.run()
    assert resources(stores[1]) == resources(stores[2]) == ["web"]
    assert bus.replicas[1].refused_peers == bus.replicas[2].refused_peers == {3}
    lines = [r.getMessage() for r in caplog.records if "cluster protocol" in r.getMessage()]
    assert len(lines) == 3                                # once on each member that hears it, however often
    assert lines[0].startswith(f"node 3 runs drover 9.0, cluster protocol {PROTOCOL + 1}; this host (drover test) "
                               f"speaks {PROTOCOL}")


def test_garbage_on_the_bus_is_ignored(cluster):
    bus, stores, _ = cluster
    bus.form({1, 2, 3})
    bus.queue.append((frozenset({1, 2, 3}), 2, b"\xff not json"))
    bus.queue.append((frozenset({1, 2, 3}), 2,
                      json.dumps({"protocol": PROTOCOL, "kind": "config", "id": "x", "change": {}}).encode()))
    bus.run()
    propose(bus, stores, 2, "ok", add("web"))
    bus.run()
    assert [resources(stores[n]) for n in (1, 2, 3)] == [["web"]] * 3 and all_equal(stores)


def large(count: int, prefix: str = "r"):
    """`count` resources whose descriptions barely compress (hex digests): a change of about 2 KiB each."""
    def edit(configuration):
        for number in range(count):
            text = "".join(hashlib.sha256(f"{prefix}{number}-{part}".encode()).hexdigest() for part in range(30))
            configuration = edits.add_resource(configuration, Primitive(f"{prefix}{number}", DUMMY,
                                                                        description=text))
        return configuration
    return edit


def test_a_change_and_a_full_copy_of_several_mib_go_compressed_and_arrive_whole(cluster, monkeypatch):
    bus, stores, outcomes = cluster
    sent: list[bytes] = []
    endpoint_send = Endpoint.send
    monkeypatch.setattr(Endpoint, "send", lambda self, payload: (sent.append(payload), endpoint_send(self, payload)))
    bus.form({1, 2}, {3})
    propose(bus, stores, 1, "big", large(1500))
    bus.run()
    assert outcomes[1] == [Outcome("big", True)] and len(resources(stores[2])) == 1500
    change = max(sent, key=len)
    # over the old 1 MiB bound even compressed, and about half its JSON
    assert change.startswith(b"\x00") and 1024 * 1024 < len(change) < len(zlib.decompress(change[1:])) * 0.6
    sent.clear()
    bus.form({1, 2, 3})                                  # host 3 takes the full copy
    assert len(resources(stores[3])) == 1500 and all_equal(stores)
    assert any(payload.startswith(b"\x00") for payload in sent)
    assert all(len(payload) <= 64 * 1024 or payload.startswith(b"\x00") for payload in sent)


def test_a_compressed_message_that_is_corrupt_or_inflates_too_far_is_ignored(cluster, caplog, monkeypatch):
    bus, stores, _ = cluster
    bus.form({1, 2, 3})
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(replica_module, "MAX_MESSAGE_BYTES", 1024 * 1024)
    bus.queue.append((frozenset({1, 2, 3}), 2, b"\x00" + b"not zlib at all"))
    bus.queue.append((frozenset({1, 2, 3}), 2, b"\x00" + zlib.compress(b" " * (2 * 1024 * 1024))))
    bus.queue.append((frozenset({1, 2, 3}), 2, b"\x00" + zlib.compress(b'{"protocol": 1}')[:-3]))
    bus.run()
    unreadable = [r.getMessage() for r in caplog.records if "unreadable cluster message" in r.getMessage()]
    assert len(unreadable) == 9 and any("inflates beyond 1048576 bytes" in line for line in unreadable)
    propose(bus, stores, 2, "ok", add("web"))
    bus.run()
    assert [resources(stores[n]) for n in (1, 2, 3)] == [["web"]] * 3 and all_equal(stores)
