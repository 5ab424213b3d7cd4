"""Quorum from corosync's votequorum: this node's view of votes and quorum, and notice of every change.

Rules: a `Votequorum` is one libvotequorum handle. `info()` asks corosync
now; `track()` asks for a notification at once and at every change, which
runs inside `dispatch()` (CS_DISPATCH_ALL, never blocking), so an asyncio loop
drives it with `loop.add_reader(quorum.fd(), quorum.dispatch)`. A callback's
exception is raised again from `dispatch()`. `quorate()` is the one-shot
question through libquorum, for callers that need nothing else.
"""

from __future__ import annotations

import ctypes
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from appliance.cluster.corosync_lib import (
    CS_DISPATCH_ALL,
    CS_TRACK_CHANGES,
    CS_TRACK_CURRENT,
    call_retrying,
    check,
    declare,
    load,
)

VOTEQUORUM_INFO_TWONODE = 1
VOTEQUORUM_INFO_QUORATE = 2
VOTEQUORUM_INFO_WAIT_FOR_ALL = 4
VOTEQUORUM_QDEVICE_MAX_NAME_LEN = 255
THIS_NODE = 0   # votequorum_getinfo's node id 0 means the local node


class NodeState(enum.IntEnum):
    UNKNOWN = 0     # not in votequorum.h: a node votequorum allocated (zeroed) before giving it a state
    MEMBER = 1
    DEAD = 2
    LEAVING = 3


@dataclass(frozen=True)
class QuorumInfo:
    """votequorum's figures for one node, as that node's corosync sees them."""
    nodeid: int
    node_votes: int
    expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int            # votes needed to be quorate
    quorate: bool
    two_node: bool
    wait_for_all: bool
    flags: int             # every VOTEQUORUM_INFO_* bit, the three above included
    state: NodeState = NodeState.UNKNOWN


@dataclass(frozen=True)
class QuorumNode:
    nodeid: int
    state: NodeState


@dataclass(frozen=True)
class QuorumChange:
    """A votequorum notification: quorate or not, and the nodes of the current membership."""
    quorate: bool
    nodes: tuple[QuorumNode, ...]


class _Info(ctypes.Structure):
    _fields_ = [("node_id", ctypes.c_uint), ("node_state", ctypes.c_uint), ("node_votes", ctypes.c_uint),
                ("node_expected_votes", ctypes.c_uint), ("highest_expected", ctypes.c_uint),
                ("total_votes", ctypes.c_uint), ("quorum", ctypes.c_uint), ("flags", ctypes.c_uint),
                ("qdevice_votes", ctypes.c_uint), ("qdevice_name", ctypes.c_char * VOTEQUORUM_QDEVICE_MAX_NAME_LEN)]


class _Node(ctypes.Structure):
    _fields_ = [("nodeid", ctypes.c_uint32), ("state", ctypes.c_uint32)]


_QUORUM_FN = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32,
                              ctypes.POINTER(_Node))


class _Callbacks(ctypes.Structure):
    """votequorum_callbacks_t; the expected-votes and nodelist callbacks (the latter takes a struct by value)
    are not used."""
    _fields_ = [("quorum_notify_fn", _QUORUM_FN), ("expectedvotes_notify_fn", ctypes.c_void_p),
                ("nodelist_notify_fn", ctypes.c_void_p)]


@functools.cache
def _votequorum_api() -> SimpleNamespace:
    lib = load("libvotequorum.so.8")
    handle = ctypes.c_uint64
    return SimpleNamespace(
        initialize=declare(lib, "votequorum_initialize", ctypes.POINTER(handle), ctypes.POINTER(_Callbacks)),
        finalize=declare(lib, "votequorum_finalize", handle),
        fd_get=declare(lib, "votequorum_fd_get", handle, ctypes.POINTER(ctypes.c_int)),
        dispatch=declare(lib, "votequorum_dispatch", handle, ctypes.c_int),
        getinfo=declare(lib, "votequorum_getinfo", handle, ctypes.c_uint, ctypes.POINTER(_Info)),
        trackstart=declare(lib, "votequorum_trackstart", handle, ctypes.c_uint64, ctypes.c_uint),
        trackstop=declare(lib, "votequorum_trackstop", handle),
    )


@functools.cache
def _quorum_api() -> SimpleNamespace:
    lib = load("libquorum.so.5")
    handle = ctypes.c_uint64
    return SimpleNamespace(
        initialize=declare(lib, "quorum_initialize", ctypes.POINTER(handle), ctypes.c_void_p,
                           ctypes.POINTER(ctypes.c_uint32)),
        finalize=declare(lib, "quorum_finalize", handle),
        getquorate=declare(lib, "quorum_getquorate", handle, ctypes.POINTER(ctypes.c_int)),
    )


def quorate() -> bool:
    """Whether this node's partition has quorum now (libquorum's quorum_getquorate)."""
    api = _quorum_api()
    handle, quorum_type = ctypes.c_uint64(), ctypes.c_uint32()
    check(api.initialize(ctypes.byref(handle), None, ctypes.byref(quorum_type)), "quorum_initialize")
    try:
        answer = ctypes.c_int()
        call_retrying("quorum_getquorate", api.getquorate, handle.value, ctypes.byref(answer))
        return bool(answer.value)
    finally:
        api.finalize(handle.value)


class Votequorum:
    """A connection to the local corosync's votequorum service."""

    def __init__(self) -> None:
        self._on_change: Callable[[QuorumChange], None] | None = None
        self._pending: BaseException | None = None
        # libvotequorum copies this struct and calls through its function pointer: keep it alive.
        self._callbacks = _Callbacks(_QUORUM_FN(self._on_quorum), None, None)
        handle = ctypes.c_uint64()
        check(_votequorum_api().initialize(ctypes.byref(handle), ctypes.byref(self._callbacks)),
              "votequorum_initialize")
        self._handle: int | None = handle.value

    def _live_handle(self) -> int:
        if self._handle is None:
            raise ValueError("votequorum handle is closed")
        return self._handle

    def info(self, nodeid: int = THIS_NODE) -> QuorumInfo:
        """votequorum's figures for `nodeid` (default: this node)."""
        raw = _Info()
        call_retrying("votequorum_getinfo", _votequorum_api().getinfo, self._live_handle(), nodeid,
                      ctypes.byref(raw))
        return QuorumInfo(nodeid=raw.node_id, node_votes=raw.node_votes, expected_votes=raw.node_expected_votes,
                          highest_expected=raw.highest_expected, total_votes=raw.total_votes, quorum=raw.quorum,
                          quorate=bool(raw.flags & VOTEQUORUM_INFO_QUORATE),
                          two_node=bool(raw.flags & VOTEQUORUM_INFO_TWONODE),
                          wait_for_all=bool(raw.flags & VOTEQUORUM_INFO_WAIT_FOR_ALL), flags=raw.flags,
                          state=NodeState(raw.node_state) if raw.node_state in iter(NodeState) else NodeState.UNKNOWN)

    def track(self, on_change: Callable[[QuorumChange], None]) -> None:
        """Call `on_change` (from `dispatch`) with the current state and then at every change."""
        self._on_change = on_change
        call_retrying("votequorum_trackstart", _votequorum_api().trackstart, self._live_handle(), 0,
                      CS_TRACK_CURRENT | CS_TRACK_CHANGES)

    def fd(self) -> int:
        """A descriptor that becomes readable when `dispatch()` has work."""
        descriptor = ctypes.c_int()
        check(_votequorum_api().fd_get(self._live_handle(), ctypes.byref(descriptor)), "votequorum_fd_get")
        return descriptor.value

    def dispatch(self) -> None:
        """Run the notifications received so far, without blocking."""
        code = _votequorum_api().dispatch(self._live_handle(), CS_DISPATCH_ALL)
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        check(code, "votequorum_dispatch")

    def close(self) -> None:
        """Finalize the handle. Safe to call twice."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        _votequorum_api().finalize(handle)

    def __enter__(self) -> Votequorum:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _on_quorum(self, _handle: int, _context: int, is_quorate: int, count: int,
                   nodes: ctypes._Pointer) -> None:
        try:
            if self._on_change is not None:
                listed = tuple(QuorumNode(nodes[i].nodeid, NodeState(nodes[i].state)) for i in range(count))
                self._on_change(QuorumChange(bool(is_quorate), listed))
        except Exception as error:       # raised again from dispatch()
            if self._pending is None:
                self._pending = error
        except BaseException as error:   # KeyboardInterrupt & co: kept for dispatch() too, and not held back here
            if self._pending is None:
                self._pending = error
            raise
