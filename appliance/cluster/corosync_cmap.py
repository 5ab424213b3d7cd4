"""Reading corosync's configuration and runtime map (cmap): cluster name, node list, this node's id, and from
the statistics map whether knet has a link up to a node.

Rules: read-only; a `Cmap` is one libcmap handle, opened for a few reads and
closed. Values are decoded by the type cmap stores them with (strings lose
their terminating NUL). The node list is what corosync loaded from its
corosync.conf (`nodelist.node.N.*`), in N order.
"""

from __future__ import annotations

import ctypes
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

from appliance.cluster.corosync_lib import CS_ERR_NO_SECTIONS, CS_ERR_NOT_EXIST, CorosyncError, check, declare, load

CMAP_KEYNAME_MAXLEN = 255
MAX_LINKS = 8     # knet links 0..7: ring0_addr .. ring7_addr
_STRING = 11
_BINARY = 12
# cmap_value_types_t -> the ctypes type of a fixed-size value.
_FIXED_TYPES = {1: ctypes.c_int8, 2: ctypes.c_uint8, 3: ctypes.c_int16, 4: ctypes.c_uint16, 5: ctypes.c_int32,
                6: ctypes.c_uint32, 7: ctypes.c_int64, 8: ctypes.c_uint64, 9: ctypes.c_float, 10: ctypes.c_double}
_NODE_KEY = re.compile(r"nodelist\.node\.(\d+)\.(\w+)")
CMAP_MAP_DEFAULT, CMAP_MAP_STATS = 0, 1

Value = int | float | str | bytes


@dataclass(frozen=True)
class LinkAddress:
    link: int        # the N of ringN_addr (the knet link number)
    address: str


@dataclass(frozen=True)
class ClusterNode:
    """One `node {}` of corosync.conf's nodelist."""
    position: int
    nodeid: int | None
    name: str | None
    addresses: tuple[LinkAddress, ...]


@functools.cache
def _api() -> SimpleNamespace:
    lib = load("libcmap.so.4")
    handle = ctypes.c_uint64
    size_p = ctypes.POINTER(ctypes.c_size_t)
    type_p = ctypes.POINTER(ctypes.c_int)
    return SimpleNamespace(
        initialize_map=declare(lib, "cmap_initialize_map", ctypes.POINTER(handle), ctypes.c_int),
        finalize=declare(lib, "cmap_finalize", handle),
        get=declare(lib, "cmap_get", handle, ctypes.c_char_p, ctypes.c_void_p, size_p, type_p),
        iter_init=declare(lib, "cmap_iter_init", handle, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)),
        iter_next=declare(lib, "cmap_iter_next", handle, ctypes.c_uint64, ctypes.c_char_p, size_p, type_p),
        iter_finalize=declare(lib, "cmap_iter_finalize", handle, ctypes.c_uint64),
    )


class Cmap:
    """A read-only connection to the local corosync's cmap (`stats=True`: its statistics map)."""

    def __init__(self, stats: bool = False) -> None:
        handle = ctypes.c_uint64()
        check(_api().initialize_map(ctypes.byref(handle), CMAP_MAP_STATS if stats else CMAP_MAP_DEFAULT),
              "cmap_initialize_map")
        self._handle: int | None = handle.value

    def _live_handle(self) -> int:
        if self._handle is None:
            raise ValueError("cmap handle is closed")
        return self._handle

    def get(self, key: str) -> Value:
        """The value of `key`, decoded by its cmap type; CorosyncError CS_ERR_NOT_EXIST when absent."""
        api, handle, name = _api(), self._live_handle(), key.encode()
        length, value_type = ctypes.c_size_t(), ctypes.c_int()
        check(api.get(handle, name, None, ctypes.byref(length), ctypes.byref(value_type)), "cmap_get")
        buffer = ctypes.create_string_buffer(length.value)
        check(api.get(handle, name, buffer, ctypes.byref(length), ctypes.byref(value_type)), "cmap_get")
        raw = buffer.raw[:length.value]
        if value_type.value == _STRING:
            return raw.rstrip(b"\0").decode(errors="replace")
        if value_type.value == _BINARY:
            return raw
        fixed = _FIXED_TYPES[value_type.value]
        return fixed.from_buffer_copy(raw.ljust(ctypes.sizeof(fixed), b"\0")).value

    def get_string(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str):
            raise TypeError(f"cmap key {key} holds {type(value).__name__}, not a string")
        return value

    def get_int(self, key: str) -> int:
        value = self.get(key)
        if not isinstance(value, int):
            raise TypeError(f"cmap key {key} holds {type(value).__name__}, not an integer")
        return value

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The names of the keys starting with `prefix`, in cmap's (sorted) order."""
        api, handle = _api(), self._live_handle()
        iterator = ctypes.c_uint64()
        check(api.iter_init(handle, prefix.encode(), ctypes.byref(iterator)), "cmap_iter_init")
        try:
            name = ctypes.create_string_buffer(CMAP_KEYNAME_MAXLEN + 1)
            while True:
                code = api.iter_next(handle, iterator.value, name, None, None)
                if code == CS_ERR_NO_SECTIONS:
                    return
                check(code, "cmap_iter_next")
                yield name.value.decode()
        finally:
            api.iter_finalize(handle, iterator.value)

    def close(self) -> None:
        """Finalize the handle. Safe to call twice."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        _api().finalize(handle)

    def __enter__(self) -> Cmap:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def cluster_name(cmap: Cmap) -> str:
    """totem.cluster_name."""
    return cmap.get_string("totem.cluster_name")


def nodelist(cmap: Cmap) -> list[ClusterNode]:
    """corosync.conf's nodelist as corosync loaded it."""
    fields: dict[int, dict[str, Value]] = {}
    for key in list(cmap.keys("nodelist.node.")):
        match = _NODE_KEY.fullmatch(key)
        if match:
            fields.setdefault(int(match[1]), {})[match[2]] = cmap.get(key)
    nodes = []
    for position in sorted(fields):
        node = fields[position]
        addresses = tuple(LinkAddress(link, str(node[f"ring{link}_addr"])) for link in range(MAX_LINKS)
                          if f"ring{link}_addr" in node)
        nodeid, name = node.get("nodeid"), node.get("name")
        nodes.append(ClusterNode(position, int(nodeid) if nodeid is not None else None,
                                 str(name) if name is not None else None, addresses))
    return nodes


def local_nodeid(cmap: Cmap) -> int:
    """This node's corosync node id (runtime.votequorum.this_node_id, else the nodelist entry corosync
    chose as local)."""
    try:
        return cmap.get_int("runtime.votequorum.this_node_id")
    except CorosyncError as error:
        if error.code != CS_ERR_NOT_EXIST:
            raise
        position = cmap.get_int("nodelist.local_node_pos")
        return cmap.get_int(f"nodelist.node.{position}.nodeid")


def links_up(stats: Cmap, nodeid: int) -> bool | None:
    """Whether knet has at least one link connected to `nodeid` (a `Cmap(stats=True)`); None for this node itself
    or a node knet has no statistics for."""
    found = False
    for key in stats.keys(f"stats.knet.node{nodeid}.link"):
        if key.endswith(".connected") and key.count(".") == 4:
            found = True
            if stats.get_int(key):
                return True
    return False if found else None
