"""The cluster configuration and status in SQLite: load a Cib, apply an edit in one transaction.

Rules: each configuration object is one row holding its JSON (model.codec);
an edit is a pure function Configuration -> Configuration (or Status -> Status)
applied inside BEGIN IMMEDIATE, validated, and written as a row diff; a config
change bumps `epoch` by one, a status change bumps `num_updates`; an edit that
changes nothing writes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from appliance.model import codec
from appliance.model.alerts import Alert
from appliance.model.attributes import Attributes
from appliance.model.bundles import Bundle
from appliance.model.cluster import Cib, Configuration, validate
from appliance.model.constraints import Colocation, Location, Order, TicketConstraint, kind_name
from appliance.model.fence_history import FenceEvent
from appliance.model.fencing import FencingLevel
from appliance.model.nodes import Node
from appliance.model.references import Tag
from appliance.model.resources import Clone, Group, Primitive, Template
from appliance.model.rule_sets import RuleSet
from appliance.model.status import FailCount, NodeState, ResourceHistory, Status, TicketState
from appliance.model.values import ModelError
from appliance.store.database import Database, Session
from guest.common.errors import UserError

Row = dict[str, Any]
_OPTION_SECTIONS = ("cluster", "rsc_defaults", "op_defaults")
_TABLE_KEYS = {
    "nodes": ("name",), "resources": ("id",), "constraints": ("id",), "options": ("section", "name"),
    "fencing_levels": ("id",), "templates": ("id",), "tags": ("id",), "alerts": ("id",), "rule_sets": ("id",),
    "bundles": ("id",), "acls": ("id",),
    "node_states": ("name",), "transient_attributes": ("node", "name"),
    "fail_counts": ("node", "resource", "operation", "interval_ms"), "history": ("node", "resource"),
    "fencing_history": ("id",), "ticket_states": ("id",),
}
CONFIG_TABLES = ("nodes", "resources", "constraints", "options", "fencing_levels", "templates", "tags", "alerts",
                 "rule_sets", "bundles", "acls")
STATUS_TABLES = ("node_states", "transient_attributes", "fail_counts", "history", "fencing_history", "ticket_states")


def _config_rows(configuration: Configuration) -> dict[str, list[Row]]:
    options = [{"section": section, "name": name, "position": i, "value": value}
               for section, attrs in zip(_OPTION_SECTIONS, (configuration.cluster_options, configuration.rsc_defaults,
                                                            configuration.op_defaults), strict=True)
               for i, (name, value) in enumerate(attrs)]
    return {
        "nodes": [{"name": n.name, "position": i, "doc": codec.dumps(n)} for i, n in enumerate(configuration.nodes)],
        "resources": [{"id": r.id, "position": i, "doc": codec.dumps(r)}
                      for i, r in enumerate(configuration.resources)],
        "constraints": [{"id": c.id, "position": i, "kind": kind_name(c), "doc": codec.dumps(c)}
                        for i, c in enumerate(configuration.constraints)],
        "options": options,
        "fencing_levels": [{"id": f.id, "position": i, "doc": codec.dumps(f)}
                           for i, f in enumerate(configuration.fencing_levels)],
        "templates": [{"id": t.id, "position": i, "doc": codec.dumps(t)}
                      for i, t in enumerate(configuration.templates)],
        "tags": [{"id": t.id, "position": i, "doc": codec.dumps(t)} for i, t in enumerate(configuration.tags)],
        "alerts": [{"id": a.id, "position": i, "doc": codec.dumps(a)} for i, a in enumerate(configuration.alerts)],
        "rule_sets": [{"id": r.id, "position": i, "doc": codec.dumps(r)}
                      for i, r in enumerate(configuration.rule_sets)],
        "bundles": [{"id": b.id, "position": i, "doc": codec.dumps(b)} for i, b in enumerate(configuration.bundles)],
        "acls": [{"id": "acls", "position": 0, "doc": configuration.acls}] if configuration.acls else [],
    }


def _status_rows(status: Status) -> dict[str, list[Row]]:
    return {
        "node_states": [{"name": s.name, "position": i, "doc": codec.dumps(s)} for i, s in enumerate(status.nodes)],
        "transient_attributes": [{"node": node, "name": name, "position": i, "value": value}
                                 for node, attrs in status.attributes for i, (name, value) in enumerate(attrs)],
        "fail_counts": [{"node": f.node, "resource": f.resource, "operation": f.operation,
                         "interval_ms": f.interval_ms, "count": f.count, "last_failure": f.last_failure}
                        for f in status.fail_counts],
        "history": [{"node": h.node, "resource": h.resource, "position": i, "doc": codec.dumps(h)}
                    for i, h in enumerate(status.history)],
        "fencing_history": [{"id": e.id, "position": i, "doc": codec.dumps(e)} for i, e in enumerate(status.fencing)],
        "ticket_states": [{"id": t.id, "position": i, "doc": codec.dumps(t)} for i, t in enumerate(status.tickets)],
    }


def _rows(db: Session, table: str) -> list[Row]:
    order = "position" if table != "fail_counts" else "rowid"
    return list(db.query(f"SELECT * FROM [{table}] ORDER BY {order}, rowid"))


def _decode_configuration(rows: dict[str, list[Row]]) -> Configuration:
    options = {section: Attributes.of((r["name"], r["value"]) for r in rows["options"] if r["section"] == section)
               for section in _OPTION_SECTIONS}
    return Configuration(
        tuple(codec.decode_object(Node, json.loads(r["doc"])) for r in rows["nodes"]),
        tuple(codec.decode_union(json.loads(r["doc"]), Primitive, Group, Clone) for r in rows["resources"]),
        tuple(codec.decode_union(json.loads(r["doc"]), Location, Colocation, Order, TicketConstraint)
              for r in rows["constraints"]),
        options["cluster"], options["rsc_defaults"], options["op_defaults"],
        tuple(codec.decode_object(FencingLevel, json.loads(r["doc"])) for r in rows["fencing_levels"]),
        tuple(codec.decode_object(Template, json.loads(r["doc"])) for r in rows["templates"]),
        tuple(codec.decode_object(Tag, json.loads(r["doc"])) for r in rows["tags"]),
        tuple(codec.decode_object(Alert, json.loads(r["doc"])) for r in rows["alerts"]),
        tuple(codec.decode_object(RuleSet, json.loads(r["doc"])) for r in rows["rule_sets"]),
        tuple(codec.decode_object(Bundle, json.loads(r["doc"])) for r in rows["bundles"]),
        rows["acls"][0]["doc"] if rows["acls"] else None)


def _decode_status(rows: dict[str, list[Row]]) -> Status:
    attributes: dict[str, list[tuple[str, str]]] = {}
    for row in rows["transient_attributes"]:
        attributes.setdefault(row["node"], []).append((row["name"], row["value"]))
    return Status(
        tuple(codec.decode_object(NodeState, json.loads(r["doc"])) for r in rows["node_states"]),
        tuple((node, Attributes.of(pairs)) for node, pairs in attributes.items()),
        tuple(FailCount(r["node"], r["resource"], r["operation"], r["interval_ms"], r["count"], r["last_failure"])
              for r in rows["fail_counts"]),
        tuple(codec.decode_object(ResourceHistory, json.loads(r["doc"])) for r in rows["history"]),
        tuple(codec.decode_object(FenceEvent, json.loads(r["doc"])) for r in rows["fencing_history"]),
        tuple(codec.decode_object(TicketState, json.loads(r["doc"])) for r in rows["ticket_states"]))


def _sync(db: Session, table: str, old: list[Row], new: Iterable[Row]) -> bool:
    """Make `table` hold exactly `new`, touching only rows that differ. True when anything changed."""
    keys = _TABLE_KEYS[table]
    old_by_key = {tuple(row[k] for k in keys): row for row in old}
    new_by_key = {tuple(row[k] for k in keys): row for row in new}
    changed = False
    for key in old_by_key.keys() - new_by_key.keys():
        db.delete(table, keys, key)
        changed = True
    upserts = [row for key, row in new_by_key.items() if old_by_key.get(key) != row]
    if upserts:
        db.upsert(table, keys, upserts)
        changed = True
    return changed


def _counter(db: Session, key: str) -> int:
    row = db.execute("SELECT value FROM cluster WHERE key = ?", [key]).fetchone()
    return int(row[0]) if row else 0


def _set_counter(db: Session, key: str, value: int) -> None:
    db.upsert("cluster", ("key",), [{"key": key, "value": str(value)}])


class CibStore:
    def __init__(self, database: Database):
        self.database = database

    @classmethod
    def open(cls, path: Path) -> CibStore:
        return cls(Database(path))

    def close(self) -> None:
        self.database.close()

    def _load(self, db: Session, tables: tuple[str, ...]) -> dict[str, list[Row]]:
        return {table: _rows(db, table) for table in tables}

    def _decode(self, decode: Callable, rows: dict[str, list[Row]]):
        try:
            return decode(rows)
        except (ModelError, ValueError, TypeError, KeyError) as error:
            raise UserError(f"the state database {self.database.path} holds an unreadable object: {error}", 74) \
                from None

    def read(self) -> Cib:
        """One consistent snapshot of configuration, status and counters."""
        with self.database.read() as db:
            rows = self._load(db, CONFIG_TABLES + STATUS_TABLES)
            counters = {key: _counter(db, key) for key in ("epoch", "admin_epoch", "num_updates", "last_written")}
            quorum = db.execute("SELECT value FROM cluster WHERE key = 'have_quorum'").fetchone()
        extra = Attributes()
        if counters["last_written"]:
            extra = extra.set("cib-last-written", time.strftime("%a %b %d %H:%M:%S %Y",
                                                                time.localtime(counters["last_written"])))
        return Cib(self._decode(_decode_configuration, rows), self._decode(_decode_status, rows),
                   counters["epoch"], counters["admin_epoch"], counters["num_updates"],
                   quorum is None or quorum[0] == "1", extra=extra)

    def configuration(self) -> Configuration:
        with self.database.read() as db:
            return self._decode(_decode_configuration, self._load(db, CONFIG_TABLES))

    def data_version(self) -> int:
        """Changes whenever another connection (a CLI command) commits; the daemon polls it."""
        return self.database.conn.execute("PRAGMA data_version").fetchone()[0]

    def epoch(self) -> int:
        with self.database.read() as db:
            return _counter(db, "epoch")

    def edit_configuration(self, edit: Callable[[Configuration], Configuration]) -> tuple[Configuration, bool]:
        """Apply edit atomically; returns (new configuration, whether anything changed)."""
        with self.database.write() as db:
            rows = self._load(db, CONFIG_TABLES)
            updated = validate(edit(self._decode(_decode_configuration, rows)))
            new_rows = _config_rows(updated)
            changed = [_sync(db, table, rows[table], new_rows[table]) for table in CONFIG_TABLES]
            if any(changed):
                _set_counter(db, "epoch", _counter(db, "epoch") + 1)
                _set_counter(db, "num_updates", 0)
                _set_counter(db, "last_written", int(time.time()))
            return updated, any(changed)

    def edit_status(self, edit: Callable[[Status], Status]) -> tuple[Status, bool]:
        with self.database.write() as db:
            rows = self._load(db, STATUS_TABLES)
            updated = edit(self._decode(_decode_status, rows))
            new_rows = _status_rows(updated)
            changed = [_sync(db, table, rows[table], new_rows[table]) for table in STATUS_TABLES]
            if any(changed):
                _set_counter(db, "num_updates", _counter(db, "num_updates") + 1)
            return updated, any(changed)

    def replace(self, cib: Cib, include_status: bool) -> None:
        """Replace the configuration (and the status if asked) as one change, like cibadmin --replace."""
        validate(cib.configuration)
        with self.database.write() as db:
            old = self._load(db, CONFIG_TABLES + STATUS_TABLES)
            new_rows = _config_rows(cib.configuration)
            if include_status:
                new_rows.update(_status_rows(cib.status))
                del new_rows["fencing_history"]          # CIB XML has none: the fencer's history stays
                _set_counter(db, "have_quorum", 1 if cib.have_quorum else 0)
            changed = [_sync(db, table, old[table], rows) for table, rows in new_rows.items()]
            if any(changed):
                _set_counter(db, "epoch", max(_counter(db, "epoch") + 1, cib.epoch))
                _set_counter(db, "num_updates", 0)
                _set_counter(db, "last_written", int(time.time()))
