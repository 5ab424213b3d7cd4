"""The replicated state's bus on corosync: CPG group `drover-cib`, dispatched from the daemon's asyncio loop.

Rules: one member per host (the daemon), named by its corosync node id; a membership change is passed on as
the sorted node ids of the group's members, a delivery as (node id, payload), both from CPG's dispatch, in
CPG's agreed order, on the loop's thread (cpg_dispatch needs about 1 MiB of C stack: never call it from a
small-stack thread). A corosync that goes away ends the bus: `closed` is set and `on_lost` told why.
"""

from __future__ import annotations

import asyncio
import logging
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

    def start(self) -> int:
        """Join the group (call from the running loop); this host's node id."""
        self._loop = asyncio.get_running_loop()
        self._group = CpgGroup.join(self.group_name, self._deliver, self._confchg)
        self._fd = self._group.fd()
        self._loop.add_reader(self._fd, self._dispatch)
        return self._group.local_nodeid()

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
            self.on_lost(str(error))

    def _deliver(self, nodeid: int, _pid: int, payload: bytes) -> None:
        self.on_delivered(nodeid, payload)

    def _confchg(self, members: tuple[CpgMember, ...], _left: tuple[CpgMember, ...],
                 _joined: tuple[CpgMember, ...]) -> None:
        self.on_membership(tuple(sorted({member.nodeid for member in members})))
