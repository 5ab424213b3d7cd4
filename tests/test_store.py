"""The SQLite state: epochs, migrations, atomic edits, and no lost or half change after kill -9."""

from __future__ import annotations

import dataclasses
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.model import edits
from appliance.model.cib_read import read_cib
from appliance.model.cluster import Configuration
from appliance.model.fence_history import FenceEvent
from appliance.model.fencing import FencingLevel
from appliance.model.references import Tag
from appliance.model.resources import AgentRef, Primitive
from appliance.model.status import TicketState
from appliance.model.values import ModelError
from appliance.store.cib_store import CibStore
from appliance.store.database import SCHEMA_VERSION
from guest.common.errors import UserError
from tests.conftest import TOP

DUMMY = AgentRef("ocf", "Dummy", "pacemaker")
CORPUS = TOP / "tests" / "scheduler" / "corpus"


def _add(rid: str):
    return lambda c: edits.add_resource(c, Primitive(rid, DUMMY))


def test_every_change_bumps_the_epoch_once_and_a_no_op_does_not(tmp_path: Path) -> None:
    store = CibStore.open(tmp_path / "state.db")
    assert store.epoch() == 0
    store.edit_configuration(_add("a"))
    store.edit_configuration(_add("b"))
    assert store.epoch() == 2
    _, changed = store.edit_configuration(lambda c: c)
    assert not changed and store.epoch() == 2
    assert [r.id for r in store.configuration().resources] == ["a", "b"]


def test_a_failing_edit_changes_nothing(tmp_path: Path) -> None:
    store = CibStore.open(tmp_path / "state.db")
    store.edit_configuration(_add("a"))

    def half_then_fail(configuration: Configuration) -> Configuration:
        edits.add_resource(configuration, Primitive("b", DUMMY))
        raise ModelError("refused")

    with pytest.raises(ModelError):
        store.edit_configuration(half_then_fail)
    with pytest.raises(ModelError, match="already exists"):
        store.edit_configuration(_add("a"))
    assert [r.id for r in store.configuration().resources] == ["a"] and store.epoch() == 1


def test_whole_cibs_with_status_are_stored_and_read_back_unchanged(tmp_path: Path) -> None:
    store = CibStore.open(tmp_path / "state.db")
    for case in sorted(CORPUS.glob("t[34]-000[1-5]")):
        cib = read_cib((case / "cib.xml").read_bytes(), str(case))
        store.replace(cib, include_status=True)
        stored = store.read()
        assert stored.configuration == cib.configuration
        assert stored.status == cib.status


def test_schema_version_is_recorded_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    CibStore.open(path).close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(UserError, match="newer than this drover understands"):
        CibStore.open(path)


def test_a_database_of_the_first_schema_is_upgraded_keeping_its_configuration(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = CibStore.open(path)
    store.edit_configuration(lambda c: edits.add_resource(c, Primitive("web", AgentRef("ocf", "Dummy", "pacemaker"))))
    store.close()
    connection = sqlite3.connect(path)                  # as drover before fencing levels left it
    connection.execute("DROP TABLE fencing_levels")
    connection.execute("DROP TABLE fencing_history")
    connection.execute("DROP TABLE ticket_states")
    connection.execute("DROP TABLE templates")
    connection.execute("DROP TABLE tags")
    connection.execute("DROP TABLE alerts")
    connection.execute("DROP TABLE rule_sets")
    connection.execute("DROP TABLE bundles")
    connection.execute("DROP TABLE acls")
    connection.execute("PRAGMA user_version=1")
    connection.commit()
    connection.close()
    store = CibStore.open(path)
    try:
        assert [r.id for r in store.configuration().resources] == ["web"]
        assert store.configuration().fencing_levels == ()
        level = FencingLevel("fl-node1-1", 1, ("f1",), target="node1")
        store.edit_configuration(lambda c: dataclasses.replace(c, fencing_levels=(level,)))
        assert store.configuration().fencing_levels == (level,)
        event = FenceEvent("f-1", "node2", "reboot", "done", "node1", "drover", 100, "node1", "ipmi", 101)
        store.edit_status(lambda s: dataclasses.replace(s, fencing=(event,)))
        assert store.read().status.fencing == (event,)
        store.edit_status(lambda s: s.with_ticket(TicketState("ticketA", granted=True)))
        assert store.read().status.tickets == (TicketState("ticketA", granted=True),)
        assert store.configuration().templates == store.configuration().tags == ()
        store.edit_configuration(lambda c: dataclasses.replace(c, tags=(Tag("web-tag", ("web",)),)))
        assert store.configuration().tags == (Tag("web-tag", ("web",)),)
    finally:
        store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6


def test_importing_a_cib_keeps_the_fencing_history(tmp_path: Path) -> None:
    store = CibStore.open(tmp_path / "state.db")
    try:
        event = FenceEvent("f-1", "node2", "off", "failed", "node1", "drover", 100, exit_reason="timed out")
        store.edit_status(lambda s: dataclasses.replace(s, fencing=(event,)))
        store.replace(store.read(), include_status=True)
        assert store.read().status.fencing == (event,)
    finally:
        store.close()


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="cannot open the state database"):
        CibStore.open(path)


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {top!r})
from appliance.model import edits
from appliance.model.resources import AgentRef, Primitive
from appliance.model.history import set_transient
from appliance.store.cib_store import CibStore
store = CibStore.open(Path(sys.argv[1]))
i = len(store.configuration().resources)
while True:
    i += 1
    # each change: one resource and one constraint in one transaction, so they must appear together
    def edit(c, i=i):
        c = edits.add_resource(c, Primitive(f"r{{i}}", AgentRef("ocf", "Dummy", "pacemaker")))
        return edits.move(c, f"r{{i}}", "node1")
    store.edit_configuration(edit)
    store.edit_status(lambda s, i=i: set_transient(s, "node1", "counter", str(i)))
    print(i, flush=True)
"""


def test_kill_9_at_any_point_loses_no_committed_change_and_leaves_no_half_change(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    for delay in (0.3, 0.55, 0.8):
        process = subprocess.Popen([sys.executable, "-c", WRITER.format(top=str(TOP)), str(path)],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        reported = [int(line) for line in process.stdout.read().split()]
        assert process.wait() == -signal.SIGKILL     # killed while writing, not crashed
        assert reported
        store = CibStore.open(path)
        snapshot = store.read()
        store.close()
        resources = {r.id for r in snapshot.configuration.resources}
        constraints = {c.id for c in snapshot.configuration.constraints}
        assert constraints == {f"cli-prefer-{rid}" for rid in resources}
        assert snapshot.epoch == len(resources)
        assert f"r{reported[-1]}" in resources    # every change reported as committed is there
        assert int(snapshot.status.transient("node1").get("counter")) >= reported[-1]
        integrity = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
        assert integrity == "ok"
    assert len(resources) > 3   # each run went on from where the killed one stopped
