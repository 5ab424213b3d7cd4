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

from appliance.cli import state
from appliance.engine.controller import Controller
from appliance.env_real import RealEnv, build_local
from appliance.guestlink.connections import Connections
from appliance.model.edits import ensure_node
from appliance.store.cib_store import CibStore
from appliance.store.lock import take_lock
from guest.agents.results import ExecStatus, OcfRc, OpResult
from guest.common import authkey, config
from guest.common.aio import settle, within
from guest.common.paths import Paths
from guest.common.version import version_line

log = logging.getLogger("drover")
POLL_S = 0.2
STOP_BOUND_S = 5.0            # per stage of stop(): controller, executor, connections


class Daemon:
    def __init__(self, loaded: config.Config, settings: state.Settings, paths: Paths | None = None):
        self.loaded = loaded
        self.settings = settings
        self.identities = authkey.identities(loaded)
        self._lock = take_lock(settings.state_db)
        state.edit_configuration(settings, lambda configuration: ensure_node(configuration, settings.local_node))
        self.store = CibStore.open(settings.state_db)
        paths = paths or Paths.from_environment()
        self.connections = Connections(self.identities, loaded["remote.port"], settings.local_node,
                                       version_line("drover"), self._lost, paths.root, self._reconnected)
        self.local = build_local(settings.ocf_root, loaded["libvirt.uri"], self.connections,
                                 paths.run_dir / "tools")
        self.env = RealEnv(self.store, settings.local_node, self.local, self.connections,
                           Path(loaded["state.dir"]) / "pe-inputs", loaded["state.scheduler_inputs_kept"],
                           loaded["libvirt.undefine_on_delete"], paths.run_dir)
        self.controller = Controller(self.env, connect_timeout=f"{loaded['remote.connect_timeout']:g}s")
        self._tasks: list[asyncio.Task] = []

    def _lost(self, node: str) -> None:
        self.local.report(node, OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING, exit_reason=f"connection to {node} lost"))
        self.controller.forget_node(node)
        self.controller.poke()

    def _reconnected(self, node: str) -> None:
        """The guest daemon restarted cleanly: its monitors are registered again on the new connection."""
        self.controller.forget_node(node)
        self.controller.poke()

    def start(self) -> list[asyncio.Task]:
        log.info("%s controlling node %s, state %s", version_line("drover"), self.settings.local_node,
                 self.settings.state_db)
        self._tasks = [asyncio.create_task(self.controller.run(), name="controller"),
                       asyncio.create_task(self._watch_store(), name="store watcher")]
        return self._tasks

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
        await self.local.shutdown(bound)
        try:
            await within(self.connections.close_all(), bound)
        except TimeoutError:
            log.error("guest connections not closed within %gs; abandoned", bound)
        if self.local.lifecycle is not None:
            self.local.lifecycle.close()
        self.local.virtual_domain.hypervisors.close()
        self.store.close()
        self._lock.close()
