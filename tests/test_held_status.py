"""A disk that refuses writes (SQLite's own SQLITE_FULL, made with max_page_count): a clear error, nothing
half-written, the connection usable afterwards; the daemon's held status keeps what it could not write."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from appliance.model.history import set_transient
from appliance.store.cib_store import CibStore
from appliance.store.database import StateUnwritable
from appliance.store.held_status import HeldStatus, read_marker

BIG = "x" * 200_000


def full(store: CibStore) -> None:
    connection = store.database.conn
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count={pages}")


def room(store: CibStore) -> None:
    store.database.conn.execute("PRAGMA max_page_count=1073741823")


def test_a_refused_write_is_a_clear_error_and_changes_nothing(tmp_path: Path):
    store = CibStore.open(tmp_path / "state.db")
    store.edit_status(lambda s: set_transient(s, "node1", "small", "1"))
    before = store.read()
    full(store)
    with pytest.raises(StateUnwritable) as refused:
        store.edit_status(lambda s: set_transient(s, "node1", "big", BIG))
    assert str(refused.value) == (f"cannot write the state database {tmp_path / 'state.db'}: the disk is full; "
                                  "nothing was changed")
    assert refused.value.exit_code == 74
    assert store.read() == before
    room(store)                                        # the failed transaction did not stay open
    store.edit_status(lambda s: set_transient(s, "node1", "big", BIG))
    assert store.read().status.transient("node1").get("big") == BIG


def test_held_edits_are_seen_at_once_and_written_in_order_when_the_disk_takes_writes(tmp_path: Path, caplog):
    caplog.set_level(logging.WARNING)
    store = CibStore.open(tmp_path / "state.db")
    held = HeldStatus(store, tmp_path / "run")
    full(store)
    held.edit(lambda s: set_transient(s, "node1", "big", BIG))
    held.edit(lambda s: set_transient(s, "node1", "big", BIG + "y"))
    held.edit(lambda s: set_transient(s, "node1", "other", "2"))
    assert not held.writable and not held.flush()
    assert held.read().status.transient("node1").get("big") == BIG + "y"
    assert store.read().status.transient("node1").get("big") is None
    assert read_marker(tmp_path / "run").startswith("the disk is full (since ")
    refusals = [r for r in caplog.records if "cannot write the state database" in r.getMessage()]
    assert len(refusals) == 1                            # once, then a reminder a minute later at most
    room(store)
    assert held.flush() and held.writable
    assert store.read().status.transient("node1").get("big") == BIG + "y"
    assert store.read().status.transient("node1").get("other") == "2"
    assert read_marker(tmp_path / "run") is None
    assert "takes writes again: 3 held change(s) written" in caplog.text
