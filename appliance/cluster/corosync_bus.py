"""The replicated state's bus on corosync: CPG group `drover-cib`, dispatched from the daemon's asyncio loop.

Rules: one member per host (the daemon), named by its corosync node id; a membership change is passed on as
the sorted node ids of the group's members, a delivery as (node id, payload), both from CPG's dispatch, in
CPG's agreed order, on the loop's thread (cpg_dispatch needs about 1 MiB of C stack: never call it from a
small-stack thread). A corosync that goes away ends the bus: `closed` is set and `on_lost` told why.
One process per node counts (a second one on a node, e.g. a stray client, is ignored with one log line):
on this node, this process; on another, the one that was there first.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from appliance.cluster.corosync_cpg import CpgGroup, CpgMember
from appliance.cluster.corosync_lib import CorosyncError

log = logging.getLogger(__name__)
GROUP = "drover-cib"


class CpgBus:
    def __init__(self, on_membership: Callable[[tuple[int, ...]], None],
                 on_delivered: Callable[[int, bytes], None], on_lost: Callable[[str], None] = lambda why: None,
                 group: str = GROUP):
        self.on_membership, self.on_delivered, self.on_lost = on_membership, on_delivered, on_lost
        self.group_name = group
        self.closed = asyncio.Event()
        self._group: CpgGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd = -1
        self._primary: dict[int, int] = {}           # node id -> the pid that counts there
        self._ignored: set[tuple[int, int]] = set()
        self._local = 0

    def start(self) -> int:
        """Join the group (call from the running loop); this host's node id."""
        self._loop = asyncio.get_running_loop()
        self._group = CpgGroup.join(self.group_name, self._deliver, self._confchg)
        self._fd = self._group.fd()
        self._loop.add_reader(self._fd, self._dispatch)
        self._local = self._group.local_nodeid()
        self._primary[self._local] = os.getpid()
        return self._local

    def send(self, payload: bytes) -> None:
        if self._group is None:
            raise CorosyncError(2, "cpg_mcast_joined")
        self._group.send(payload)

    def close(self) -> None:
        if self._loop is not None and self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._fd = -1
        if self._group is not None:
            self._group.close()
            self._group = None
        self.closed.set()

    def _dispatch(self) -> None:
        try:
            assert self._group is not None
            self._group.dispatch()
        except CorosyncError as error:
            log.error("the cluster bus is gone: %s", error)
            self.close()
            self.on_lost(f"corosync went away ({error})")

    def _deliver(self, nodeid: int, pid: int, payload: bytes) -> None:
        if self._primary.get(nodeid) == pid:
            self.on_delivered(nodeid, payload)

    def _confchg(self, members: tuple[CpgMember, ...], _left: tuple[CpgMember, ...],
                 _joined: tuple[CpgMember, ...]) -> None:
        present = {(m.nodeid, m.pid) for m in members}
        self._primary = {node: pid for node, pid in self._primary.items()
                         if (node, pid) in present or node == self._local}
        for nodeid, pid in sorted(present):
            if nodeid not in self._primary:
                self._primary[nodeid] = pid
            elif self._primary[nodeid] != pid and (nodeid, pid) not in self._ignored:
                self._ignored.add((nodeid, pid))
                log.warning("a second process (pid %d) on node %d joined %s; ignored (pid %d counts there)", pid,
                            nodeid, self.group_name, self._primary[nodeid])
        self._ignored &= present
        self.on_membership(tuple(sorted({nodeid for nodeid, _pid in present})))
