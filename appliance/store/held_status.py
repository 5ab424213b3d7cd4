"""Status edits the disk refuses (full, read-only) are held in memory, in order, and written first thing once it
takes writes again; reads see them applied, so the controller never forgets a result it could not record.

Rules: edits are pure Status -> Status functions, so the held ones are applied, in order, on top of whatever
the database holds when they are finally written (one transaction for all of them). While anything is held
`writable` is False and the controller starts nothing new: nothing may happen that a kill -9 would make the
next controller forget. A marker file in the run directory (tmpfs, not the full or read-only state disk) tells
`drover status` that what the database shows may be behind. The first refusal and the recovery are logged,
and a reminder every REMIND_S in between.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

from appliance.model.cluster import Cib
from appliance.model.status import Status
from appliance.store.cib_store import CibStore
from appliance.store.database import StateUnwritable

log = logging.getLogger(__name__)
REMIND_S = 60.0
MARKER_NAME = "state-unwritable"
Edit = Callable[[Status], Status]


def marker_path(run_dir: Path) -> Path:
    return run_dir / MARKER_NAME


def read_marker(run_dir: Path) -> str | None:
    """Why the running daemon cannot write its state (None: it can, or no daemon said otherwise)."""
    try:
        return marker_path(run_dir).read_text().strip() or None
    except OSError:
        return None


class HeldStatus:
    def __init__(self, store: CibStore, run_dir: Path, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.run_dir = run_dir
        self.clock = clock
        self.held: list[Edit] = []
        self.reason = ""
        self._reminded_at = 0.0
        with contextlib.suppress(OSError):            # left by a daemon killed while it could not write
            marker_path(run_dir).unlink(missing_ok=True)

    @property
    def writable(self) -> bool:
        return not self.held

    def read(self) -> Cib:
        cib = self.store.read()
        if not self.held:
            return cib
        return dataclasses.replace(cib, status=self._apply(cib.status))

    def edit(self, edit: Edit) -> None:
        self.held.append(edit)
        self.flush()

    def flush(self) -> bool:
        """Write what is held; True when nothing is held any more."""
        if not self.held:
            return True
        try:
            self.store.edit_status(self._apply)
        except StateUnwritable as error:
            self._refused(error)
            return False
        if self.reason:
            log.warning("the state database takes writes again: %d held change(s) written", len(self.held))
            self.reason = ""
            marker_path(self.run_dir).unlink(missing_ok=True)
        self.held.clear()
        return True

    def _apply(self, status: Status) -> Status:
        for edit in self.held:
            status = edit(status)
        return status

    def _refused(self, error: StateUnwritable) -> None:
        now = self.clock()
        if not self.reason or now - self._reminded_at >= REMIND_S:
            verb = "still cannot" if self.reason else "cannot"
            log.error("%s write the state database %s: %s; %d change(s) held in memory, nothing new is started "
                      "until it can", verb, self.store.database.path, error.reason, len(self.held))
            self._reminded_at = now
        if error.reason != self.reason:
            self.reason = error.reason
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                marker_path(self.run_dir).write_text(f"{error.reason} (since {time.strftime('%c')})\n")
            except OSError as marker_error:
                log.warning("cannot leave the state-unwritable marker in %s: %s", self.run_dir, marker_error)
