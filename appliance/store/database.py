"""The SQLite file: opening it (WAL, FULL sync), numbered migrations, transactions.

Rules: one connection per Database in autocommit mode; every change runs inside
`write()` (BEGIN IMMEDIATE ... COMMIT, rolled back on any exception, a failed
COMMIT included), every consistent read inside `read()`; a database from a
newer drover is refused. A write the disk refuses (full, read-only, I/O error)
is StateUnwritable: nothing of it was written, and the message says why.
Reads and row writes go through plain sqlite3 (`Session`); sqlite-utils, slow
to import, is loaded for migrations only, so commands start fast.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guest.common.errors import UserError

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_S = 30.0
EXIT_IOERR = 74
_UNWRITABLE = {8: "it is read-only", 10: "disk I/O error", 13: "the disk is full", 14: "cannot open it"}
# SQLite primary result codes SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN


class StateUnwritable(UserError):
    """The state database cannot take writes now; nothing of the refused write was kept."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"cannot write the state database {path}: {reason}; nothing was changed", EXIT_IOERR)
        self.reason = reason


def _read_only_file_system(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _unwritable_reason(error: sqlite3.Error) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else _UNWRITABLE.get(code & 0xFF)


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


def _migration_2(db: sqlite_utils.Database) -> None:
    db["fencing_levels"].create({"id": str, "position": int, "doc": str}, pk="id")


def _migration_3(db: sqlite_utils.Database) -> None:
    db["fencing_history"].create({"id": str, "position": int, "doc": str}, pk="id")


def _migration_4(db: sqlite_utils.Database) -> None:
    db["ticket_states"].create({"id": str, "position": int, "doc": str}, pk="id")


def _migration_5(db: sqlite_utils.Database) -> None:
    db["templates"].create({"id": str, "position": int, "doc": str}, pk="id")
    db["tags"].create({"id": str, "position": int, "doc": str}, pk="id")
    db["alerts"].create({"id": str, "position": int, "doc": str}, pk="id")
    db["rule_sets"].create({"id": str, "position": int, "doc": str}, pk="id")


def _migration_6(db: sqlite_utils.Database) -> None:
    db["bundles"].create({"id": str, "position": int, "doc": str}, pk="id")
    db["acls"].create({"id": str, "position": int, "doc": str}, pk="id")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2, _migration_3,
                                                                     _migration_4, _migration_5, _migration_6)
SCHEMA_VERSION = len(MIGRATIONS)


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Session:
    """One transaction's access to the tables: rows as dicts (`query`), `execute`, and row upserts and deletes
    by primary key (the store's tables and columns are its own constants, quoted all the same)."""

    def __init__(self, connection: sqlite3.Connection):
        self.conn = connection

    def query(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def upsert(self, table: str, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        """Insert each row, or update the row with its key in place: one statement per set of columns."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            by_columns.setdefault(tuple(row), []).append(row)
        for columns, same in by_columns.items():
            updates = ", ".join(f"{_name(c)} = excluded.{_name(c)}" for c in columns if c not in keys)
            statement = (f"INSERT INTO {_name(table)} ({', '.join(map(_name, columns))}) "
                         f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT ({', '.join(map(_name, keys))}) "
                         + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING"))
            self.conn.executemany(statement, [[row[c] for c in columns] for row in same])

    def delete(self, table: str, keys: tuple[str, ...], key: tuple[Any, ...]) -> None:
        self.conn.execute(f"DELETE FROM {_name(table)} WHERE " + " AND ".join(f"{_name(k)} = ?" for k in keys),
                          list(key))


class Database:
    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite_utils.Database | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.conn = self._connect()
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise UserError(f"cannot open the state database {path}: {error}", EXIT_IOERR) from None
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            return connection
        except sqlite3.Error:
            if not (self.path.exists() and _read_only_file_system(self.path.parent)):
                raise
        # readable still (status, export), and every write is StateUnwritable("it is read-only"); without a
        # WAL left by a crash nothing can change the file, which SQLite needs told to read WAL mode here
        immutable = "" if Path(f"{self.path}-wal").exists() else "&immutable=1"
        return sqlite3.connect(f"file:{urllib.parse.quote(str(self.path))}?mode=ro{immutable}", uri=True,
                               isolation_level=None, timeout=BUSY_TIMEOUT_S)

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, for migrations."""
        if self._db is None:
            import sqlite_utils
            self._db = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._db

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError(f"the state database {self.path} has schema version {version}, newer than this "
                            f"drover understands ({SCHEMA_VERSION}); upgrade drover", 74)
        while version < SCHEMA_VERSION:
            with self.write():
                current = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if current != version:      # another process migrated meanwhile
                    version = current
                    continue
                MIGRATIONS[version](self.db)
                version += 1
                self.conn.execute(f"PRAGMA user_version={version}")

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        connection = self.conn
        session = Session(connection)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield session
            except BaseException:
                self._rollback()
                raise
            try:
                connection.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as error:
            reason = _unwritable_reason(error)
            if reason is None:
                raise
            raise StateUnwritable(self.path, reason) from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        connection = self.conn
        connection.execute("BEGIN")
        try:
            yield Session(connection)
        finally:
            connection.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()
