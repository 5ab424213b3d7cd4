"""The DC's replicated status edits: seen by reads at once, applied once delivered, proposed again if dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.model.history import set_transient
from appliance.store import replicated
from appliance.store.cib_store import CibStore
from appliance.store.replicated_status import ReplicatedStatus


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, replicated.StatusChange]] = []

    def __call__(self, change_id: str, change: replicated.StatusChange) -> None:
        self.sent.append((change_id, change))


def test_an_edit_is_seen_at_once_written_only_when_delivered_and_never_applied_twice(tmp_path: Path):
    store = CibStore.open(tmp_path / "state.db")
    outbox = Outbox()
    status = ReplicatedStatus(store, outbox)
    status.edit(lambda s: set_transient(s, "h1", "a", "1"))
    status.edit(lambda s: set_transient(s, "h1", "b", "2"))
    assert status.read().status.transient("h1").as_dict() == {"a": "1", "b": "2"}
    assert store.read().status.transient("h1").as_dict() == {}          # nothing written before delivery
    assert len(outbox.sent) == 2
    for change_id, change in outbox.sent:                              # delivered back, in order
        replicated.apply_status(store, change)
        assert status.outcome(change_id, True)
    assert status.kept == []
    assert store.read().status.transient("h1").as_dict() == {"a": "1", "b": "2"}
    status.edit(lambda s: set_transient(s, "h1", "a", "1"))             # changes nothing: nothing sent
    assert len(outbox.sent) == 2
    assert not status.outcome("someone-else", True)


def test_a_dropped_edit_is_proposed_again_on_the_state_of_that_moment(tmp_path: Path):
    store = CibStore.open(tmp_path / "state.db")
    outbox = Outbox()
    status = ReplicatedStatus(store, outbox)
    status.edit(lambda s: set_transient(s, "h1", "a", "1"))
    first_id, _ = outbox.sent[0]
    other = replicated.prepare_status(store, lambda s: set_transient(s, "h2", "x", "9"))
    replicated.apply_status(store, other)                               # another host's change came first
    assert status.outcome(first_id, False)                              # the membership changed: dropped
    again_id, again = outbox.sent[1]
    assert again_id != first_id
    replicated.apply_status(store, again)
    assert status.outcome(again_id, True)
    cib = store.read()
    assert cib.status.transient("h1").as_dict() == {"a": "1"} and cib.status.transient("h2").as_dict() == {"x": "9"}


def test_durable_returns_once_every_earlier_edit_is_applied(tmp_path: Path):
    async def scenario() -> list[str]:
        store = CibStore.open(tmp_path / "state.db")
        outbox = Outbox()
        status = ReplicatedStatus(store, outbox)
        order: list[str] = []
        await status.durable()                                          # nothing kept: at once
        status.edit(lambda s: set_transient(s, "h1", "a", "1"))

        async def waiter() -> None:
            await status.durable()
            order.append("durable")
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)
        assert not task.done()
        status.edit(lambda s: set_transient(s, "h1", "b", "1"))         # later: not waited for
        order.append("delivered")
        status.outcome(outbox.sent[0][0], True)
        await asyncio.wait_for(task, 1)
        return order
    assert asyncio.run(scenario()) == ["delivered", "durable"]
