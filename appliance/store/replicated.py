"""The store's side of replication: changes as data that every member can apply to its own copy.

Rules: a configuration change is the whole set of configuration rows it produces plus the epoch it was made
on (`base`); applying it where the epoch has moved on is a conflict (nothing written, False), so members that
apply the same stream in the same order stay equal. A status change is a row diff (upserts and deletes per
table), applied unconditionally: each host records only its own results. A dump is every row and counter, for
a member that must take a full copy. Version = (admin_epoch, epoch, num_updates), compared as Pacemaker
compares CIBs. Everything here is JSON-serialisable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.model.cluster import Configuration, validate
from appliance.model.status import Status
from appliance.store import cib_store
from appliance.store.cib_store import CONFIG_TABLES, STATUS_TABLES, CibStore

Version = tuple[int, int, int]
_COUNTERS = ("admin_epoch", "epoch", "num_updates")
_DUMPED = (*_COUNTERS, "last_written")


@dataclass(frozen=True)
class ConfigChange:
    base: int                                   # the epoch it was made on
    rows: dict[str, list[dict[str, Any]]]
    made_at: int = 0                            # epoch seconds: cib-last-written, the same on every member

    def to_json(self) -> dict:
        return {"base": self.base, "rows": self.rows, "made_at": self.made_at}

    @classmethod
    def from_json(cls, data: dict) -> ConfigChange:
        return cls(int(data["base"]), {table: list(data["rows"].get(table, ())) for table in CONFIG_TABLES},
                   int(data.get("made_at", 0)))


@dataclass(frozen=True)
class StatusChange:
    upserts: dict[str, list[dict[str, Any]]]
    deletes: dict[str, list[list[Any]]]         # primary keys

    def to_json(self) -> dict:
        return {"upserts": self.upserts, "deletes": self.deletes}

    @classmethod
    def from_json(cls, data: dict) -> StatusChange:
        return cls({t: list(data["upserts"].get(t, [])) for t in STATUS_TABLES},
                   {t: [list(k) for k in data["deletes"].get(t, [])] for t in STATUS_TABLES})

    @property
    def empty(self) -> bool:
        return not any(self.upserts.values()) and not any(self.deletes.values())


def version(store: CibStore) -> Version:
    with store.database.read() as db:
        return tuple(cib_store._counter(db, key) for key in _COUNTERS)  # type: ignore[return-value]


def prepare_configuration(store: CibStore, edit: Callable[[Configuration], Configuration]) -> ConfigChange | None:
    """The change `edit` makes to this copy (validated), without writing it; None when it changes nothing."""
    return configuration_change(store, edit)[1]


def configuration_change(store: CibStore, edit: Callable[[Configuration], Configuration]
                         ) -> tuple[Configuration, ConfigChange | None]:
    """The configuration `edit` makes of this copy (validated) and the change that writes it (None: none)."""
    with store.database.read() as db:
        rows = store._load(db, CONFIG_TABLES)
        epoch = cib_store._counter(db, "epoch")
    updated = validate(edit(store._decode(cib_store._decode_configuration, rows)))
    new_rows = cib_store._config_rows(updated)
    if all(_same(rows[table], new_rows[table], table) for table in CONFIG_TABLES):
        return updated, None
    return updated, ConfigChange(epoch, new_rows, int(time.time()))


def apply_configuration(store: CibStore, change: ConfigChange) -> bool:
    """Write `change` if this copy is still at its base epoch (then epoch + 1); False (nothing written) if not."""
    with store.database.write() as db:
        if cib_store._counter(db, "epoch") != change.base:
            return False
        old = store._load(db, CONFIG_TABLES)
        for table in CONFIG_TABLES:
            cib_store._sync(db, table, old[table], change.rows[table])
        cib_store._set_counter(db, "epoch", change.base + 1)
        cib_store._set_counter(db, "num_updates", 0)
        if change.made_at:
            cib_store._set_counter(db, "last_written", change.made_at)
        return True


def prepare_status(store: CibStore, edit: Callable[[Status], Status]) -> StatusChange:
    return status_edit(store, edit)[1]


def status_edit(store: CibStore, edit: Callable[[Status], Status]) -> tuple[Status, StatusChange]:
    """The status `edit` makes of this copy and the row diff that writes it."""
    with store.database.read() as db:
        current = store._decode(cib_store._decode_status, store._load(db, STATUS_TABLES))
    updated = edit(current)
    return updated, status_change(current, updated)


def status_change(old_status: Status, new_status: Status) -> StatusChange:
    """The row diff that turns `old_status` into `new_status`."""
    rows, new_rows = cib_store._status_rows(old_status), cib_store._status_rows(new_status)
    upserts, deletes = {}, {}
    for table in STATUS_TABLES:
        keys = cib_store._TABLE_KEYS[table]
        old = {tuple(r[k] for k in keys): r for r in rows[table]}
        new = {tuple(r[k] for k in keys): r for r in new_rows[table]}
        upserts[table] = [row for key, row in new.items() if old.get(key) != row]
        deletes[table] = [list(key) for key in old.keys() - new.keys()]
    return StatusChange(upserts, deletes)


def apply_status(store: CibStore, change: StatusChange) -> None:
    if change.empty:
        return
    with store.database.write() as db:
        for table in STATUS_TABLES:
            keys = cib_store._TABLE_KEYS[table]
            for key in change.deletes[table]:
                db.delete(table, keys, tuple(key))
            if change.upserts[table]:
                db.upsert(table, keys, change.upserts[table])
        cib_store._set_counter(db, "num_updates", cib_store._counter(db, "num_updates") + 1)


def dump(store: CibStore) -> dict:
    with store.database.read() as db:
        return {"rows": store._load(db, CONFIG_TABLES + STATUS_TABLES),
                "counters": {key: cib_store._counter(db, key) for key in _DUMPED}}


def load(store: CibStore, data: dict) -> None:
    """Make this copy exactly `data` (a dump from the member whose copy is newest)."""
    with store.database.write() as db:
        old = store._load(db, CONFIG_TABLES + STATUS_TABLES)
        for table in CONFIG_TABLES + STATUS_TABLES:
            cib_store._sync(db, table, old[table], data["rows"][table])
        for key in _DUMPED:
            cib_store._set_counter(db, key, int(data["counters"].get(key, 0)))


def _same(old: list[dict], new: list[dict], table: str) -> bool:
    keys = cib_store._TABLE_KEYS[table]
    return {tuple(r[k] for k in keys): r for r in old} == {tuple(r[k] for k in keys): r for r in new}
