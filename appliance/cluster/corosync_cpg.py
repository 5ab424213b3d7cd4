"""One closed process group (corosync CPG): join, totally ordered multicast, membership changes.

Rules: a `CpgGroup` is one libcpg handle joined to one group. Callbacks run
only inside `dispatch()` (CS_DISPATCH_ALL, which never blocks), so an asyncio
loop drives it with `loop.add_reader(group.fd(), group.dispatch)`. Messages are
sent CPG_TYPE_AGREED: every member delivers every message in the same order,
its own included. An exception raised by a callback is kept and raised again
from `dispatch()` once libcpg has returned (ctypes would only print it). The
ctypes callback objects live as long as the group: libcpg keeps their
addresses. `dispatch()` needs about 1 MiB of C stack (libcpg's receive buffer
is a local array): call it from the main thread or a thread with a default
stack size.
"""

from __future__ import annotations

import ctypes
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from appliance.cluster.corosync_lib import CS_DISPATCH_ALL, call_retrying, check, declare, load

CPG_MAX_NAME_LENGTH = 128
CPG_MEMBERS_MAX = 128
CPG_MODEL_V1 = 1
CPG_TYPE_AGREED = 2
# libcpg (corosync >= 3.0) sends a message above its IPC buffer (1 MiB less 1 KiB of headers) as fragments,
# delivered reassembled in the same agreed order; the bound keeps one message's reassembly buffer sane.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


class CpgReason(enum.IntEnum):
    UNDEFINED = 0
    JOIN = 1
    LEAVE = 2
    NODEDOWN = 3
    NODEUP = 4
    PROCDOWN = 5


@dataclass(frozen=True)
class CpgMember:
    """One process in a group: the corosync node it runs on, its pid there, why it is listed."""
    nodeid: int
    pid: int
    reason: CpgReason = CpgReason.UNDEFINED


DeliverCallback = Callable[[int, int, bytes], None]       # (nodeid, pid, payload)
Members = tuple[CpgMember, ...]
ConfchgCallback = Callable[[Members, Members, Members], None]    # (members, left, joined)


class PayloadTooLarge(ValueError):
    """A message above MAX_PAYLOAD_BYTES."""


class _CpgName(ctypes.Structure):
    _fields_ = [("length", ctypes.c_uint32), ("value", ctypes.c_char * CPG_MAX_NAME_LENGTH)]


class _CpgAddress(ctypes.Structure):
    _fields_ = [("nodeid", ctypes.c_uint32), ("pid", ctypes.c_uint32), ("reason", ctypes.c_uint32)]


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


_DELIVER_FN = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.POINTER(_CpgName), ctypes.c_uint32, ctypes.c_uint32,
                               ctypes.c_void_p, ctypes.c_size_t)
_ADDRESSES = ctypes.POINTER(_CpgAddress)
_CONFCHG_FN = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.POINTER(_CpgName), _ADDRESSES, ctypes.c_size_t,
                               _ADDRESSES, ctypes.c_size_t, _ADDRESSES, ctypes.c_size_t)


class _ModelV1Data(ctypes.Structure):
    """cpg_model_v1_data_t; the totem confchg callback (a struct passed by value) is not used."""
    _fields_ = [("model", ctypes.c_int), ("cpg_deliver_fn", _DELIVER_FN), ("cpg_confchg_fn", _CONFCHG_FN),
                ("cpg_totem_confchg_fn", ctypes.c_void_p), ("flags", ctypes.c_uint)]


@functools.cache
def _api() -> SimpleNamespace:
    lib = load("libcpg.so.4")
    handle, handle_p = ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64)
    name_p = ctypes.POINTER(_CpgName)
    return SimpleNamespace(
        model_initialize=declare(lib, "cpg_model_initialize", handle_p, ctypes.c_int,
                                 ctypes.POINTER(_ModelV1Data), ctypes.c_void_p),
        finalize=declare(lib, "cpg_finalize", handle),
        fd_get=declare(lib, "cpg_fd_get", handle, ctypes.POINTER(ctypes.c_int)),
        dispatch=declare(lib, "cpg_dispatch", handle, ctypes.c_int),
        join=declare(lib, "cpg_join", handle, name_p),
        leave=declare(lib, "cpg_leave", handle, name_p),
        mcast_joined=declare(lib, "cpg_mcast_joined", handle, ctypes.c_int, ctypes.POINTER(_Iovec), ctypes.c_uint),
        membership_get=declare(lib, "cpg_membership_get", handle, name_p, _ADDRESSES, ctypes.POINTER(ctypes.c_int)),
        local_get=declare(lib, "cpg_local_get", handle, ctypes.POINTER(ctypes.c_uint)),
    )


def _group_name(name: str) -> _CpgName:
    encoded = name.encode()
    if not 0 < len(encoded) <= CPG_MAX_NAME_LENGTH:
        raise ValueError(f"CPG group name must be 1 to {CPG_MAX_NAME_LENGTH} bytes, not {len(encoded)}: {name!r}")
    return _CpgName(len(encoded), encoded)


def _members(addresses: ctypes.Array | ctypes._Pointer, count: int) -> Members:
    return tuple(CpgMember(addresses[i].nodeid, addresses[i].pid, CpgReason(addresses[i].reason))
                 for i in range(count))


class CpgGroup:
    """This process's membership of one CPG group."""

    def __init__(self, name: str, deliver: DeliverCallback, confchg: ConfchgCallback) -> None:
        """Connect to the local corosync (not joined yet: see `join`)."""
        self.name = name
        self._name = _group_name(name)
        self._deliver = deliver
        self._confchg = confchg
        self._pending: BaseException | None = None
        self._joined = False
        # libcpg copies this struct but calls through the function pointers in it: keep both alive.
        self._callbacks = _ModelV1Data(CPG_MODEL_V1, _DELIVER_FN(self._on_deliver), _CONFCHG_FN(self._on_confchg),
                                       None, 0)
        handle = ctypes.c_uint64()
        check(_api().model_initialize(ctypes.byref(handle), CPG_MODEL_V1, ctypes.byref(self._callbacks), None),
              "cpg_model_initialize")
        self._handle: int | None = handle.value

    @classmethod
    def join(cls, name: str, deliver: DeliverCallback, confchg: ConfchgCallback) -> CpgGroup:
        """A handle joined to group `name`; its first confchg (with this process in it) comes through dispatch."""
        group = cls(name, deliver, confchg)
        try:
            call_retrying("cpg_join", _api().join, group._live_handle(), ctypes.byref(group._name))
        except BaseException:
            group.close()
            raise
        group._joined = True
        return group

    def _live_handle(self) -> int:
        if self._handle is None:
            raise ValueError(f"CPG group {self.name!r} is closed")
        return self._handle

    def fd(self) -> int:
        """A descriptor that becomes readable when `dispatch()` has work."""
        descriptor = ctypes.c_int()
        check(_api().fd_get(self._live_handle(), ctypes.byref(descriptor)), "cpg_fd_get")
        return descriptor.value

    def dispatch(self) -> None:
        """Run the callbacks for everything received so far, without blocking."""
        code = _api().dispatch(self._live_handle(), CS_DISPATCH_ALL)
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        check(code, "cpg_dispatch")

    def send(self, payload: bytes) -> None:
        """Multicast `payload` to the group in agreed (total) order; retried while corosync says TRY_AGAIN."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(f"CPG message of {len(payload)} bytes is over drover's limit of "
                                  f"{MAX_PAYLOAD_BYTES} bytes (64 MiB)")
        buffer = (ctypes.c_char * len(payload)).from_buffer_copy(payload)
        vector = _Iovec(ctypes.cast(buffer, ctypes.c_void_p), len(payload))
        call_retrying("cpg_mcast_joined", _api().mcast_joined, self._live_handle(), CPG_TYPE_AGREED,
                      ctypes.byref(vector), 1)

    def local_nodeid(self) -> int:
        """This host's corosync node id."""
        nodeid = ctypes.c_uint()
        check(_api().local_get(self._live_handle(), ctypes.byref(nodeid)), "cpg_local_get")
        return nodeid.value

    def members(self) -> Members:
        """The group's current members as corosync knows them now (not synchronised with dispatch)."""
        # libcpg writes as many entries as the group has, up to CPG_MEMBERS_MAX, whatever the count passed in.
        addresses = (_CpgAddress * CPG_MEMBERS_MAX)()
        count = ctypes.c_int(CPG_MEMBERS_MAX)
        call_retrying("cpg_membership_get", _api().membership_get, self._live_handle(), ctypes.byref(self._name),
                      addresses, ctypes.byref(count))
        return _members(addresses, count.value)

    def leave(self) -> None:
        """Leave the group (the others see reason LEAVE); the handle stays open until `close`."""
        if self._joined:
            self._joined = False
            call_retrying("cpg_leave", _api().leave, self._live_handle(), ctypes.byref(self._name))

    def close(self) -> None:
        """Finalize the handle (leaving the group if still joined). Safe to call twice."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        self._joined = False
        # Finalizing also leaves the group; its result is of no use to a caller that is closing.
        _api().finalize(handle)

    def __enter__(self) -> CpgGroup:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _on_deliver(self, _handle: int, _group: object, nodeid: int, pid: int, message: int | None,
                    length: int) -> None:
        try:
            payload = ctypes.string_at(message, length) if message else b""
            self._deliver(nodeid, pid, payload)
        except Exception as error:       # raised again from dispatch(), after libcpg returns
            self._keep(error)
        except BaseException as error:   # KeyboardInterrupt & co: kept for dispatch() too, and not held back here
            self._keep(error)
            raise

    def _on_confchg(self, _handle: int, _group: object, members: ctypes._Pointer, member_count: int,
                    left: ctypes._Pointer, left_count: int, joined: ctypes._Pointer, joined_count: int) -> None:
        try:
            self._confchg(_members(members, member_count), _members(left, left_count), _members(joined, joined_count))
        except Exception as error:       # raised again from dispatch(), after libcpg returns
            self._keep(error)
        except BaseException as error:   # KeyboardInterrupt & co: kept for dispatch() too, and not held back here
            self._keep(error)
            raise

    def _keep(self, error: BaseException) -> None:
        if self._pending is None:
            self._pending = error
