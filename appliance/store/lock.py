"""The controller's lock: one daemon per state database, and how `drover status` knows one is running."""

from __future__ import annotations

import errno
import fcntl
from pathlib import Path

from guest.common.errors import UserError

LOCK_NAME = "controller.lock"
EXIT_IOERR = 74


def take_lock(state_db: Path):
    try:
        state_db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(state_db.parent / LOCK_NAME, "ab")     # noqa: SIM115 (held for the daemon's life)
    except OSError as error:
        reason = "it is read-only" if error.errno == errno.EROFS else error.strerror or str(error)
        raise UserError(f"cannot write the state database {state_db}: {reason}; the daemon cannot run",
                        EXIT_IOERR) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(f"another drover daemon is running on {state_db}", 75) from None
    return handle


def lock_held(state_db: Path) -> bool:
    try:
        with open(state_db.parent / LOCK_NAME, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False
    except FileNotFoundError:
        return False
