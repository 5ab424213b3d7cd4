"""This host's place in the cluster, for its daemon: corosync's node list and quorum, the replicated state's
CPG group, the exec group, and the view (members, quorum, DC) they add up to.

Rules: everything comes from corosync (cmap, votequorum, CPG), dispatched on the daemon's event loop; every
change of the view is written to the run directory and passed on through `on_change`. Changes made on this
host (the controller's status edits, the CLI's configuration and status changes) go to the cluster as
replica messages and count only once delivered back: `change()` waits for that and says whether the change
was applied or refused (a conflict: the command is run again on the new state). corosync going away ends
this host's membership: `on_lost` is told why (the daemon stops, as Pacemaker's does without corosync).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from appliance.cluster import view as view_file
from appliance.cluster.corosync_bus import CpgBus
from appliance.cluster.corosync_cmap import Cmap, cluster_name, local_nodeid, nodelist
from appliance.cluster.corosync_lib import CorosyncError
from appliance.cluster.corosync_quorum import NodeState, QuorumChange, Votequorum
from appliance.cluster.host_exec import GROUP as EXEC_GROUP
from appliance.cluster.host_exec import ExecHub
from appliance.cluster.replica import Outcome, Replica
from appliance.cluster.view import ClusterView
from appliance.engine.env import NodeExecutor
from appliance.store import replicated
from appliance.store.cib_store import CibStore
from appliance.store.database import StateUnwritable
from appliance.store.replicated import ConfigChange, StatusChange
from appliance.store.replicated_status import ReplicatedStatus

log = logging.getLogger(__name__)


class ClusterHost:
    def __init__(self, store: CibStore, software: str, run_dir: Path, on_change: Callable[[], None],
                 local_executor: Callable[[str], NodeExecutor | None], on_forget: Callable[[str], None],
                 on_lost: Callable[[str], None], on_leave: Callable[[], None] = lambda: None):
        self.store, self.software, self.run_dir = store, software, run_dir
        self.on_change, self.on_lost = on_change, on_lost
        self.view = ClusterView("", 0)
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._quorum: Votequorum | None = None
        self._quorum_fd = -1
        self._members: frozenset[int] = frozenset()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.cib_bus = CpgBus(self._membership, self._delivered_cib, self._lost)
        self.exec_bus = CpgBus(self._membership_exec, self._delivered_exec, self._lost, group=EXEC_GROUP)
        self.replica = Replica(store, self.cib_bus, 0, software, on_outcome=self._outcome, on_synced=self._synced)
        self.hub = ExecHub(self.exec_bus, 0, local_executor, on_forget, on_leave)
        self.status = ReplicatedStatus(store, self.replica.propose_status)

    def start(self) -> ClusterView:
        """Read corosync's node list, track quorum, join both groups (call from the running loop). Raises
        CorosyncError when corosync does not answer."""
        self._loop = asyncio.get_running_loop()
        with Cmap() as cmap:
            name, local, nodes = cluster_name(cmap), local_nodeid(cmap), nodelist(cmap)
        names = {n.nodeid: n.name or f"node{n.nodeid}" for n in nodes if n.nodeid is not None}
        self.view = ClusterView(name, local, names)
        self.hub.names = names
        self.replica.nodeid = self.hub.nodeid = local
        self._quorum = Votequorum()
        self._quorum.track(self._quorum_changed)
        self._quorum_fd = self._quorum.fd()
        self._loop.add_reader(self._quorum_fd, self._dispatch_quorum)
        self._dispatch_quorum()
        joined = self.cib_bus.start()
        self.exec_bus.start()
        if joined != local:
            log.warning("CPG gives node id %d, cmap %d; using CPG's", joined, local)
            self.replica.nodeid = self.hub.nodeid = joined
            self._update(local=joined)
        return self.view

    # -- changes from this host ---------------------------------------------------------------------------

    async def change(self, change: ConfigChange | StatusChange) -> Outcome:
        change_id = f"cli-{uuid.uuid4().hex}"
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[change_id] = future
        try:
            if isinstance(change, ConfigChange):
                self.replica.propose_configuration(change_id, change)
            else:
                self.replica.propose_status(change_id, change)
                if change.empty:
                    return Outcome(change_id, True)
            return await future
        finally:
            self._waiting.pop(change_id, None)

    def _outcome(self, outcome: Outcome) -> None:
        future = self._waiting.get(outcome.change_id)
        if future is not None:
            if not future.done():
                future.set_result(outcome)
            return
        if not self.status.outcome(outcome.change_id, outcome.applied):
            log.debug("outcome of an unknown change %s", outcome.change_id)

    # -- corosync callbacks -------------------------------------------------------------------------------

    def _dispatch_quorum(self) -> None:
        try:
            assert self._quorum is not None
            self._quorum.dispatch()
        except CorosyncError as error:
            self._lost(f"corosync went away (votequorum: {error})")

    def _quorum_changed(self, change: QuorumChange) -> None:
        members = frozenset(n.nodeid for n in change.nodes if n.state == NodeState.MEMBER)
        if change.quorate != self.view.quorate:
            log.info("partition %s quorum", "with" if change.quorate else "WITHOUT")
        self._update(corosync_members=members, quorate=change.quorate)

    def _membership(self, members: tuple[int, ...]) -> None:
        left = self.view.daemons - set(members)
        joined = set(members) - self.view.daemons
        if left or joined:
            log.info("drover hosts: %s%s%s", ", ".join(self._name(n) for n in members),
                     f"; left: {', '.join(self._name(n) for n in sorted(left))}" if left else "",
                     f"; joined: {', '.join(self._name(n) for n in sorted(joined))}" if joined else "")
        self._members = frozenset(members)
        self.replica.membership(members)
        self._update(daemons=self._members - self.replica.refused_peers, synced=self.replica.synced)

    def _synced(self) -> None:
        self._update(synced=True)
        log.info("cluster state synced (version %s); DC is %s", replicated.version(self.store), self.view.dc_name)

    def _delivered_cib(self, sender: int, payload: bytes) -> None:
        try:
            self.replica.delivered(sender, payload)
        except StateUnwritable as error:
            # applying it here is impossible: this copy would fall behind the others unseen. Leave instead;
            # the restarted daemon takes a full copy in its first sync, once the disk takes writes again.
            log.error("cannot apply a cluster change to %s (%s): this host leaves the cluster",
                      self.store.database.path, error.reason)
            self._lost(f"the state database cannot be written ({error.reason})")
            return
        self._update(daemons=self._members - self.replica.refused_peers)      # a peer of another version
        self.on_change()

    def _membership_exec(self, members: tuple[int, ...]) -> None:
        self.hub.membership(members)

    def _delivered_exec(self, sender: int, payload: bytes) -> None:
        self.hub.delivered(sender, payload)

    def _lost(self, why: str) -> None:
        self.on_lost(why)

    # -- the view -----------------------------------------------------------------------------------------

    def _name(self, nodeid: int) -> str:
        return self.view.names.get(nodeid, f"node{nodeid}")

    def _update(self, **changes) -> None:
        updated = dataclasses.replace(self.view, **changes)
        if updated == self.view:
            return
        self.view = updated
        try:
            view_file.write(self.run_dir, updated)
        except OSError as error:
            log.warning("cannot write the cluster view in %s: %s", self.run_dir, error)
        self.on_change()

    def close(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_result(Outcome("", False, "drover is stopping"))
        if self._quorum is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._quorum_fd)
            self._quorum.close()
            self._quorum = None
        self.exec_bus.close()
        self.cib_bus.close()
        view_file.remove(self.run_dir)
