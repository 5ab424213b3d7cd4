"""The controller's lock: one daemon per state database, and how `drover status` knows one is running."""

from __future__ import annotations

import fcntl
from pathlib import Path

from guest.common.errors import UserError

LOCK_NAME = "controller.lock"


def take_lock(state_db: Path):
    state_db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(state_db.parent / LOCK_NAME, "ab")     # noqa: SIM115 (held for the daemon's life)
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
