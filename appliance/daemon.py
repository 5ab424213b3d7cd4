"""The controller daemon's wiring: lock, state, libvirt, local agents, guest connections, controller, store watch.

Rules: wiring and lifetime only (the work is appliance.engine). One daemon per
state database (an exclusive lock, which `drover status` reads as "the DC is
up"). The database is polled for commits by other processes (`drover resource
create`, `drover attribute ...`), which wake the controller. Stopping leaves
resources as they are: a restarted daemon picks them up from the recorded
state, as Pacemaker's controller does after a crash. stop() ends within
STOP_BOUND_S: actions in flight are cancelled (their agents killed, their
records left pending for the next daemon to probe), whatever does not end in
time is logged and abandoned.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from appliance.alert_sender import AlertSender
from appliance.cli import state
from appliance.engine import records
from appliance.engine.controller import Controller
from appliance.env_real import RealEnv, build_local
from appliance.guestlink.connections import Connections
from appliance.model.cluster import Configuration
from appliance.model.edits import ensure_node
from appliance.store.cib_store import CibStore
from appliance.store.lock import take_lock
from guest.agents.results import ExecStatus, OcfRc, OpResult
from guest.common import authkey, config
from guest.common.aio import settle, within
from guest.common.errors import UserError
from guest.common.paths import Paths
from guest.common.version import VERSION, version_line

log = logging.getLogger("drover")
POLL_S = 0.2
STOP_BOUND_S = 5.0            # per stage of stop(): controller, executor, connections


class Daemon:
    def __init__(self, loaded: config.Config, settings: state.Settings, paths: Paths | None = None):
        self.loaded = loaded
        self.settings = settings
        self.identities = authkey.identities(loaded)
        paths = paths or Paths.from_environment()
        self.paths = paths
        self.clustered = settings.clustered
        self._lock = take_lock(settings.state_db)
        if not self.clustered:           # in a cluster the DC adds every host (one state, changed in one order)
            state.edit_configuration(settings, lambda configuration: ensure_node(configuration,
                                                                                 settings.local_node))
        self.store = CibStore.open(settings.state_db)
        self.connections = Connections(self.identities, loaded["remote.port"], settings.local_node,
                                       version_line("drover"), self._lost, paths.root, self._reconnected)
        self.local = build_local(settings.ocf_root, loaded["libvirt.uri"], self.connections,
                                 paths.run_dir / "tools")
        env_args = (self.store, settings.local_node, self.local, self.connections,
                    Path(loaded["state.dir"]) / "pe-inputs", loaded["state.scheduler_inputs_kept"],
                    loaded["libvirt.undefine_on_delete"], paths.run_dir)
        self.cluster = None
        self.left = asyncio.Event()            # `drover cluster stop`: this host was drained and leaves
        if self.clustered:
            from appliance.cluster.host import ClusterHost  # only a cluster host loads corosync's libraries
            from appliance.env_cluster import ClusterEnv
            self.cluster = ClusterHost(self.store, version_line("drover"), paths.run_dir, self._cluster_changed,
                                       self._local_executor, self._forget, self._corosync_lost, self.left.set)
            self.cluster.hub.run_fence = self.local.fence_devices.fence
            self.env: RealEnv = ClusterEnv(self.cluster, *env_args)
        else:
            self.env = RealEnv(*env_args)
        self.env.alerts = AlertSender(VERSION)
        self.controller = Controller(self.env, connect_timeout=f"{loaded['remote.connect_timeout']:g}s")
        self._tasks: list[asyncio.Task] = []
        self._corosync_gone = asyncio.Event()
        self._lost_why = ""
        self._adding_nodes: asyncio.Task | None = None
        self._synced_daemons: frozenset[int] = frozenset()
        self._hosts_configured = False        # every corosync host is in the configuration (checked by the DC)
        self._admin = None

    # -- cluster ------------------------------------------------------------------------------------------

    def _local_executor(self, node: str):
        """Where this host runs operations the DC sends for `node`: itself, or a guest connection it holds."""
        if node == self.settings.local_node:
            return self.local
        return self.connections.executor(node)

    def _forget(self, node: str) -> None:
        self.controller.forget_node(node)
        self.controller.poke()

    def _corosync_lost(self, why: str) -> None:
        """corosync went away, or this copy cannot follow the cluster's (a disk that refuses writes)."""
        self._lost_why = why
        self._corosync_gone.set()

    def _cluster_changed(self) -> None:
        self.controller.poke()
        cluster = self.cluster
        if cluster is None:
            return
        view = cluster.view
        if view.synced and view.daemons != self._synced_daemons:
            joined = {view.names.get(n, f"node{n}") for n in view.daemons - self._synced_daemons}
            # partitions merged: the copy that won does not have what the others recorded about their own
            # hosts (a fenced host's old copy can be the newest): those hosts are probed again too
            replaced = {view.names.get(n, f"node{n}") for n in cluster.replica.replaced & view.daemons} - joined
            self._synced_daemons = view.daemons
            self._hosts_configured = False
            if view.is_dc and (joined or replaced):
                log.info("probing what %s run%s now (%s)", ", ".join(sorted(joined | replaced)),
                         "s" if len(joined | replaced) == 1 else "",
                         "; ".join(part for part in (joined and "joined", replaced and "their records were replaced "
                                                     "by another partition's") if part))
                self.env.edit_status(lambda s, hosts=frozenset(joined | replaced): records.forget_hosts(s, hosts))
                self.controller.forget_all()     # a restarted daemon (and its guest links) runs no monitor yet
        if not view.is_dc or self._hosts_configured or self._adding_nodes is not None:
            return                       # not on every delivery: checked once per membership, until done
        configuration = self.store.configuration()
        missing = [(nodeid, name) for nodeid, name in sorted(view.names.items()) if configuration.node(name) is None]
        self._hosts_configured = not missing
        if missing:
            self._adding_nodes = asyncio.get_running_loop().create_task(self._add_nodes(missing), name="add hosts")

    async def _add_nodes(self, missing: list[tuple[int, str]]) -> None:
        """The DC puts every corosync host in the configuration (with its node id), as Pacemaker's DC does."""
        from appliance.store import replicated

        def add(before: Configuration) -> Configuration:
            configuration = state.new_cluster_options(before)
            for nodeid, name in missing:
                configuration = ensure_node(configuration, name, node_id=str(nodeid))
            return state.cluster_of_hosts_options(before, configuration)
        try:
            assert self.cluster is not None
            change = replicated.prepare_configuration(self.store, add)
            if change is not None:
                outcome = await self.cluster.change(change)
                if outcome.applied:
                    log.info("added %s to the configuration", ", ".join(name for _, name in missing))
        finally:
            self._adding_nodes = None
        self._cluster_changed()

    def _leave(self, everyone: bool) -> None:
        assert self.cluster is not None
        if everyone:
            self.cluster.hub.leave_all()          # this daemon hears it too, in order
        else:
            self.left.set()

    async def _fence_request(self, target: str, action: str) -> dict:
        """`drover stonith fence`: this host's fencer fences `target` (the controller then sees it fenced)."""
        cib = self.env.read()
        event = await self.env.fencer().fence(cib.configuration, cib.status, target, action,
                                              self.env.fencing_hosts(), "drover stonith fence")
        self.controller.poke()
        return {"applied": event.state == "done", "reason": event.exit_reason, "delegate": event.delegate,
                "device": event.device}

    async def _watch_corosync(self) -> None:
        await self._corosync_gone.wait()
        raise RuntimeError(f"{self._lost_why}: this host can no longer take part in the cluster")

    async def _serve_admin(self) -> None:
        from appliance.cluster import admin_socket
        assert self.cluster is not None
        self._admin = await admin_socket.serve(self.paths.run_dir, self.cluster.change, self._leave,
                                               self._fence_request)
        await self._admin.serve_forever()

    def _lost(self, node: str) -> None:
        self.local.report(node, OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING, exit_reason=f"connection to {node} lost"))
        self._reconnected(node)

    def _reconnected(self, node: str) -> None:
        """The guest daemon restarted cleanly: its monitors are registered again on the new connection (by the
        DC, wherever it is)."""
        if self.cluster is not None:
            self.cluster.hub.forget(node)
        else:
            self._forget(node)

    def start(self) -> list[asyncio.Task]:
        log.info("%s controlling node %s, state %s", version_line("drover"), self.settings.local_node,
                 self.settings.state_db)
        if self.cluster is not None:
            self._join()
        self._tasks = [asyncio.create_task(self.controller.run(), name="controller"),
                       asyncio.create_task(self._watch_store(), name="store watcher")]
        if self.cluster is not None:
            self._tasks += [asyncio.create_task(self._watch_corosync(), name="corosync"),
                            asyncio.create_task(self._serve_admin(), name="change socket")]
        return self._tasks

    def _join(self) -> None:
        from appliance.cluster.corosync_lib import CorosyncError, CorosyncLibraryMissing
        assert self.cluster is not None
        conf = self.paths.corosync_dir / "corosync.conf"
        try:
            view = self.cluster.start()
        except CorosyncLibraryMissing as error:
            raise UserError(str(error)) from None
        except CorosyncError as error:
            raise UserError(f"{conf} exists but corosync does not answer ({error}): start corosync first "
                            "(systemctl start corosync), or remove the file to run this host alone") from None
        if view.local_name != self.settings.local_node:
            self.cluster.close()
            raise UserError(f"corosync names this host {view.local_name!r} (node id {view.local}) but drover "
                            f"calls it {self.settings.local_node!r}: set [cluster] node_name = {view.local_name} in "
                            "drover.conf, or fix the name in corosync.conf")
        log.info("member of cluster %s as %s (node id %d)", view.cluster_name, view.local_name, view.local)

    async def _watch_store(self) -> None:
        seen = self.store.data_version()
        while True:
            await asyncio.sleep(POLL_S)
            current = self.store.data_version()
            if current != seen:
                seen = current
                self.controller.poke()

    async def stop(self, bound: float = STOP_BOUND_S) -> None:
        """Ends within about 3 x `bound` seconds whatever is running."""
        await settle(self._tasks, bound, "controller stop")
        if self._admin is not None:
            self._admin.close()
        if self.cluster is not None:
            await self.cluster.hub.close(bound)
        await self.local.shutdown(bound)
        if self.env.alerts is not None:
            await self.env.alerts.close(bound)
        try:
            await within(self.connections.close_all(), bound)
        except TimeoutError:
            log.error("guest connections not closed within %gs; abandoned", bound)
        if self.local.lifecycle is not None:
            self.local.lifecycle.close()
        self.local.virtual_domain.hypervisors.close()
        if self.cluster is not None:
            self.cluster.close()
        self.store.close()
        self._lock.close()
