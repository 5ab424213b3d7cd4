"""Loading corosync's client libraries and turning their cs_error_t results into exceptions.

Rules: libraries are loaded by soname (the soname's major number is the ABI
this package matches: corosync 3.1, libcpg.so.4, libquorum.so.5,
libvotequorum.so.8, libcmap.so.4), once per process, on first use, so an
import never fails on a host without corosync. Every foreign function is
declared with its exact argument and result types: without them ctypes would
pass the 64-bit handles as C ints. CS_ERR_TRY_AGAIN is retried only by
`call_retrying`, within a bounded time.
"""

from __future__ import annotations

import ctypes
import functools
import time
from collections.abc import Callable
from typing import Any

CS_OK = 1
CS_ERR_LIBRARY = 2
CS_ERR_TRY_AGAIN = 6
CS_ERR_NOT_EXIST = 12
CS_ERR_NO_SECTIONS = 27

# cs_dispatch_flags_t
CS_DISPATCH_ONE = 1
CS_DISPATCH_ALL = 2
CS_DISPATCH_BLOCKING = 3
CS_DISPATCH_ONE_NONBLOCKING = 4

# Tracking flags for votequorum_trackstart / quorum_trackstart.
CS_TRACK_CURRENT = 0x01
CS_TRACK_CHANGES = 0x02
CS_TRACK_CHANGES_ONLY = 0x04

PACKAGES = "libcpg4 libcmap4 libquorum5 libvotequorum8"
TRY_AGAIN_BUDGET_S = 5.0

# cs_error_t from corotypes.h -> (name, what it means for a caller).
ERRORS: dict[int, tuple[str, str]] = {
    1: ("CS_OK", "success"),
    2: ("CS_ERR_LIBRARY", "corosync is not running (or refused the connection)"),
    3: ("CS_ERR_VERSION", "version mismatch"),
    4: ("CS_ERR_INIT", "initialization failed"),
    5: ("CS_ERR_TIMEOUT", "timed out"),
    6: ("CS_ERR_TRY_AGAIN", "corosync is busy (membership change or flow control); try again"),
    7: ("CS_ERR_INVALID_PARAM", "invalid parameter"),
    8: ("CS_ERR_NO_MEMORY", "out of memory"),
    9: ("CS_ERR_BAD_HANDLE", "bad or finalized handle"),
    10: ("CS_ERR_BUSY", "busy"),
    11: ("CS_ERR_ACCESS", "access denied (corosync's IPC allows root and uidgid-configured users)"),
    12: ("CS_ERR_NOT_EXIST", "does not exist"),
    13: ("CS_ERR_NAME_TOO_LONG", "name too long"),
    14: ("CS_ERR_EXIST", "already exists"),
    15: ("CS_ERR_NO_SPACE", "no space"),
    16: ("CS_ERR_INTERRUPT", "interrupted"),
    17: ("CS_ERR_NAME_NOT_FOUND", "name not found"),
    18: ("CS_ERR_NO_RESOURCES", "no resources"),
    19: ("CS_ERR_NOT_SUPPORTED", "not supported"),
    20: ("CS_ERR_BAD_OPERATION", "bad operation"),
    21: ("CS_ERR_FAILED_OPERATION", "operation failed"),
    22: ("CS_ERR_MESSAGE_ERROR", "message error"),
    23: ("CS_ERR_QUEUE_FULL", "queue full"),
    24: ("CS_ERR_QUEUE_NOT_AVAILABLE", "queue not available"),
    25: ("CS_ERR_BAD_FLAGS", "bad flags"),
    26: ("CS_ERR_TOO_BIG", "too big"),
    27: ("CS_ERR_NO_SECTIONS", "no (more) entries"),
    28: ("CS_ERR_CONTEXT_NOT_FOUND", "context not found"),
    30: ("CS_ERR_TOO_MANY_GROUPS", "too many groups"),
    100: ("CS_ERR_SECURITY", "security error"),
}


class CorosyncLibraryMissing(RuntimeError):
    """A corosync client library cannot be loaded."""


class CorosyncError(Exception):
    """A corosync call returned something other than CS_OK."""

    def __init__(self, code: int, call: str) -> None:
        self.code = code
        self.name, meaning = ERRORS.get(code, (f"CS_ERR_{code}", "unknown error"))
        self.call = call
        super().__init__(f"{call}: {self.name}: {meaning}")

    @property
    def try_again(self) -> bool:
        return self.code == CS_ERR_TRY_AGAIN


def check(code: int, call: str) -> None:
    """Raise CorosyncError unless `code` is CS_OK."""
    if code != CS_OK:
        raise CorosyncError(code, call)


def call_retrying(call: str, function: Callable[..., int], *args: Any,
                  budget_s: float = TRY_AGAIN_BUDGET_S) -> None:
    """Call `function(*args)`, repeating it while it answers CS_ERR_TRY_AGAIN, for at most `budget_s`."""
    deadline = time.monotonic() + budget_s
    pause_s = 0.002
    while True:
        code = function(*args)
        if code != CS_ERR_TRY_AGAIN or time.monotonic() + pause_s > deadline:
            check(code, call)
            return
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.1)


@functools.cache
def load(soname: str) -> ctypes.CDLL:
    """The library `soname`, loaded once."""
    try:
        return ctypes.CDLL(soname, use_errno=True)
    except OSError as error:
        raise CorosyncLibraryMissing(f"corosync client libraries not found: install corosync ({PACKAGES}): "
                                     f"{error}") from None


def declare(library: ctypes.CDLL, name: str, *argtypes: Any, restype: Any = ctypes.c_int) -> Any:
    """`library.name` with its C signature; cs_error_t (an enum, so a C int) is the default result."""
    function = getattr(library, name)
    function.argtypes = list(argtypes)
    function.restype = restype
    return function
