"""The state directory on a disk that fills up or turns read-only while the walk-through runs.

The appliance's /var/lib/drover is a small tmpfs of its own. While it refuses writes: every changing CLI
command fails with a clear error (exit 74, no traceback) and changes nothing; `drover status` still reads and
warns that the daemon cannot write; the daemon keeps what happens (a failed monitor) in memory and starts
nothing. When the disk takes writes again the held results are written, the failure is recovered, and
SQLite's integrity check passes. Read-only: Linux refuses to remount a file system read-only while a file on
it is open for writing, so that case stops the daemon first; `drover daemon` then refuses to start, clearly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.appliance_harness import NODE, Appliance, wait_for_sync
from tests.fault.figures import record
from tests.guestd import GuestDaemon

pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")]

CHANGES = [
    ("resource", "create", "extra", "ocf:heartbeat:Dummy"),
    ("resource", "disable", "webserver"),
    ("resource", "update", "webserver", "fake=2"),
    ("constraint", "location", "webserver", "avoids", NODE),
    ("resource", "meta", "vm-guest1", "priority=5"),
    ("property", "set", "no-quorum-policy=ignore"),
    ("resource", "refresh", "webserver"),
    ("attribute", f"--node={NODE}", "--name=rack", "--update=2"),
]


def in_place(appliance: Appliance) -> bool:
    placement = appliance.placement()
    return placement.get("webserver") == [("guest1", "Started")] and placement.get("vm-guest1") == [(NODE, "Started")]


class StateDisk:
    def __init__(self, base: Path):
        self.guest = GuestDaemon(base / "guest1").start()
        self.appliance = Appliance(base, self.guest)
        self.mount = self.appliance.state_db.parent
        self.mount.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(self.mount)], check=True,
                       timeout=10)
        self.filler = self.mount / "filler"

    def fill(self) -> None:
        subprocess.run(["dd", "if=/dev/zero", f"of={self.filler}", "bs=16k"], capture_output=True, timeout=30)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool) -> None:
        subprocess.run(["mount", "-o", f"remount,{'ro' if on else 'rw'}", str(self.mount)], check=True, timeout=10)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.read_only(False)
        self.appliance.kill_process(signal.SIGTERM)
        self.guest.stop()
        subprocess.run(["umount", "-l", str(self.mount)], capture_output=True, timeout=10)

    def break_webserver(self) -> None:
        (self.guest.base / "Dummy-webserver.state").unlink()

    def webserver_running(self) -> bool:
        return (self.guest.base / "Dummy-webserver.state").exists()


@pytest.fixture
def disk(tmp_path: Path):
    disk = StateDisk(tmp_path)
    try:
        disk.appliance.walkthrough()
        disk.appliance.start_process()
        wait_for_sync(lambda: in_place(disk.appliance), 60, "walk-through in place", disk.appliance.log)
        yield disk
    finally:
        disk.close()


def refused_cleanly(appliance: Appliance, reason: str) -> tuple[int, list[str]]:
    """Every change refused with the clear error and nothing changed; (refused cleanly, what went wrong)."""
    before = appliance.cib()
    good, wrong = 0, []
    for change in CHANGES:
        result = appliance.drover(*change, check=False)
        expected = f"cannot write the state database {appliance.state_db}: {reason}; nothing was changed"
        if result.returncode == 74 and expected in result.stderr and "Traceback" not in result.stderr:
            good += 1
        else:
            wrong.append(f"drover {' '.join(change)} -> {result.returncode}: {result.stderr.strip()[-300:]}")
    after = appliance.cib()
    if after.configuration != before.configuration or after.epoch != before.epoch:
        wrong.append("the configuration changed")
    return good, wrong


def outage_and_recovery(disk: StateDisk, reason: str, refuse, allow) -> tuple[int, list[str], list[str]]:
    """(changes refused cleanly, what went wrong with them, what went wrong with the daemon)"""
    appliance = disk.appliance
    refuse()
    good, refusals_wrong = refused_cleanly(appliance, reason)
    wrong: list[str] = []
    status = appliance.drover("status", check=False)
    if status.returncode != 0:
        wrong.append(f"status failed: {status.stderr.strip()}")
    disk.break_webserver()
    wait_for_sync(lambda: "change(s) held in memory" in appliance.log(), 30, "the daemon holding its results",
                  appliance.log)
    warned = appliance.drover("status").stdout
    if f"WARNING: {NODE} cannot write its state ({reason}" not in warned:
        wrong.append(f"status does not warn:\n{warned}")
    if appliance.process.poll() is not None:
        wrong.append("the daemon exited")
    if disk.webserver_running():
        wrong.append("something was started while the state could not be written")
    allow()
    wait_for_sync(lambda: "takes writes again" in appliance.log(), 30, "held results written", appliance.log)
    wait_for_sync(lambda: in_place(appliance) and disk.webserver_running(), 60, "the web server recovered",
                  appliance.log)
    if "WARNING" in appliance.drover("status").stdout:
        wrong.append("status still warns after recovery")
    if not any(f.resource == "webserver" for f in appliance.cib().status.fail_counts):
        wrong.append("the failure seen while the disk was full was not recorded")
    with sqlite3.connect(appliance.state_db) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    if integrity != "ok":
        wrong.append(f"integrity: {integrity}")
    appliance.drover("resource", "create", "after", "ocf:heartbeat:Dummy", "--disabled")
    if "Traceback" in appliance.log():
        wrong.append("a traceback in the daemon's log")
    return good, refusals_wrong, wrong


def check(case: str, outcome: tuple[int, list[str], list[str]]) -> None:
    good, refusals_wrong, daemon_wrong = outcome
    survived = good + (not daemon_wrong)
    record(case, len(CHANGES) + 1, survived, len(CHANGES) + 1 - survived,
           f"{good}/{len(CHANGES)} changes refused (exit 74, nothing changed); daemon held its results, "
           f"recorded and recovered the failure: {'yes' if not daemon_wrong else 'NO'}")
    assert refusals_wrong + daemon_wrong == []


def test_a_full_disk_refuses_changes_clearly_and_the_daemon_recovers_when_space_returns(disk: StateDisk):
    check("state disk full (tmpfs), then space freed",
          outage_and_recovery(disk, "the disk is full", disk.fill, disk.free))


def test_a_read_only_state_dir_refuses_changes_and_the_daemon_clearly_then_all_is_well_when_writable(
        disk: StateDisk):
    # a file system with the database open for writing cannot be remounted read-only: stop the daemon first,
    # as after a crash that left the disk read-only (errors=remount-ro)
    appliance = disk.appliance
    appliance.kill_process(signal.SIGTERM)
    disk.read_only(True)
    good, wrong = refused_cleanly(appliance, "it is read-only")
    daemon_wrong = []
    status = appliance.drover("status", check=False)
    if status.returncode != 0 or "webserver" not in status.stdout:
        daemon_wrong.append(f"status on a read-only state dir: {status.returncode} {status.stderr.strip()}")
    process = appliance.start_process()
    code = process.wait(30)
    log = appliance.log()
    if code != 74 or f"cannot write the state database {appliance.state_db}: it is read-only" not in log \
            or "Traceback" in log:
        daemon_wrong.append(f"drover daemon on a read-only state dir exited {code}:\n{log[-1500:]}")
    disk.read_only(False)
    appliance.start_process()
    wait_for_sync(lambda: in_place(appliance) and disk.webserver_running(), 60, "running again", appliance.log)
    with sqlite3.connect(appliance.state_db) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    if integrity != "ok":
        daemon_wrong.append(f"integrity: {integrity}")
    survived = good + (not daemon_wrong)
    record("state dir read-only (daemon stopped), then read-write", len(CHANGES) + 1, survived,
           len(CHANGES) + 1 - survived,
           f"{good}/{len(CHANGES)} changes refused (exit 74, nothing changed); status reads; the daemon refuses "
           f"to start clearly, starts once writable: {'yes' if not daemon_wrong else 'NO'}")
    assert wrong + daemon_wrong == []
