"""The SQLite file: opening it (WAL, FULL sync), numbered migrations, transactions.

Rules: one connection per Database in autocommit mode; every change runs inside
`write()` (BEGIN IMMEDIATE ... COMMIT, rolled back on any exception), every
consistent read inside `read()`; a database from a newer drover is refused.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlite_utils

from guest.common.errors import UserError

BUSY_TIMEOUT_S = 30.0


def _migration_1(db: sqlite_utils.Database) -> None:
    db["cluster"].create({"key": str, "value": str}, pk="key")
    db["nodes"].create({"name": str, "position": int, "doc": str}, pk="name")
    db["resources"].create({"id": str, "position": int, "doc": str}, pk="id")
    db["constraints"].create({"id": str, "position": int, "kind": str, "doc": str}, pk="id")
    db["options"].create({"section": str, "name": str, "position": int, "value": str}, pk=("section", "name"))
    db["node_states"].create({"name": str, "position": int, "doc": str}, pk="name")
    db["transient_attributes"].create({"node": str, "name": str, "position": int, "value": str}, pk=("node", "name"))
    db["fail_counts"].create({"node": str, "resource": str, "operation": str, "interval_ms": int, "count": int,
                              "last_failure": int}, pk=("node", "resource", "operation", "interval_ms"))
    db["history"].create({"node": str, "resource": str, "position": int, "doc": str}, pk=("node", "resource"))
    db["cluster"].insert_all([{"key": "epoch", "value": "0"}, {"key": "admin_epoch", "value": "0"},
                              {"key": "num_updates", "value": "0"}])


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1,)
SCHEMA_VERSION = len(MIGRATIONS)


class Database:
    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
            self.db = sqlite_utils.Database(connection, execute_plugins=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise UserError(f"cannot open the state database {path}: {error}", 74) from None
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)

    def _migrate(self) -> None:
        version = self.db.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError(f"the state database {self.path} has schema version {version}, newer than this "
                            f"drover understands ({SCHEMA_VERSION}); upgrade drover", 74)
        while version < SCHEMA_VERSION:
            with self.write():
                current = self.db.conn.execute("PRAGMA user_version").fetchone()[0]
                if current != version:      # another process migrated meanwhile
                    version = current
                    continue
                MIGRATIONS[version](self.db)
                version += 1
                self.db.conn.execute(f"PRAGMA user_version={version}")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        connection = self.db.conn
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        connection = self.db.conn
        connection.execute("BEGIN")
        try:
            yield self.db
        finally:
            connection.execute("ROLLBACK")

    def close(self) -> None:
        self.db.conn.close()
