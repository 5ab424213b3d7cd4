"""The controller's status edits in a cluster: each one proposed as a replicated change, seen at once by reads.

Rules: an edit is a pure Status -> Status function. It is turned into a row diff against what this host's
reads show (the database plus the edits still on their way), proposed to the cluster, and kept in memory until
corosync delivers it back applied; reads apply the kept edits, in order, on top of the database, so the
controller sees its own results at once and never twice. An edit the cluster dropped (its membership changed
before it was applied) is proposed again, as a diff on the state of that moment. `durable()` returns once
every edit made before the call is applied here, i.e. placed in corosync's order, which every member that
survives delivers: the controller waits for it before running an operation it recorded as pending, so a DC
killed at any point leaves its successor knowing what was in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from appliance.model.cluster import Cib
from appliance.model.status import Status
from appliance.store.cib_store import CibStore
from appliance.store.replicated import StatusChange, status_change

Edit = Callable[[Status], Status]
Propose = Callable[[str, StatusChange], None]


@dataclass
class _Kept:
    sequence: int
    change_id: str
    edit: Edit


class ReplicatedStatus:
    def __init__(self, store: CibStore, propose: Propose, prefix: str = "status"):
        self.store, self.propose, self.prefix = store, propose, prefix
        self.kept: list[_Kept] = []
        self._sequence = itertools.count(1)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def read(self) -> Cib:
        cib = self.store.read()
        if not self.kept:
            return cib
        return dataclasses.replace(cib, status=self._apply(cib.status, self.kept))

    def edit(self, edit: Edit) -> None:
        base = self._apply(self.store.read().status, self.kept)
        change = status_change(base, edit(base))
        if change.empty:
            return
        sequence = next(self._sequence)
        kept = _Kept(sequence, f"{self.prefix}-{sequence}", edit)
        self.kept.append(kept)
        self.propose(kept.change_id, change)

    def flush(self) -> bool:
        return True

    def outcome(self, change_id: str, applied: bool) -> bool:
        """The cluster's word on one of this host's changes; False if it was not one of ours."""
        position = next((i for i, k in enumerate(self.kept) if k.change_id == change_id), None)
        if position is None:
            return False
        kept = self.kept[position]
        if applied:
            del self.kept[position]
            self._wake()
            return True
        base = self._apply(self.store.read().status, self.kept[:position])
        change = status_change(base, kept.edit(base))
        if change.empty:
            del self.kept[position]
            self._wake()
            return True
        kept.change_id = f"{self.prefix}-{kept.sequence}-again-{next(self._sequence)}"
        self.propose(kept.change_id, change)
        return True

    async def durable(self) -> None:
        if not self.kept:
            return
        target = self.kept[-1].sequence
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        await future

    def _wake(self) -> None:
        lowest = self.kept[0].sequence if self.kept else None
        still = []
        for target, future in self._waiters:
            if lowest is None or lowest > target:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((target, future))
        self._waiters = still

    @staticmethod
    def _apply(status: Status, kept: list[_Kept]) -> Status:
        for entry in kept:
            status = entry.edit(status)
        return status
