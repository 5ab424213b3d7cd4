"""`drover daemon`: the cluster controller, in the foreground (drover.service runs it).

Rules: wiring and lifetime only (the work is appliance.engine). The state
database is polled for commits by other processes (`drover resource create`,
`drover attribute ...`), which wake the controller; SIGTERM/SIGINT end it,
leaving resources as they are (a restarted daemon picks them up from the
recorded state, as Pacemaker's controller does after a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from appliance.cli import state
from appliance.engine.controller import Controller
from appliance.env_real import RealEnv, build_local
from appliance.guestlink.connections import Connections
from appliance.model.edits import ensure_node
from appliance.store.cib_store import CibStore
from guest.agents.results import ExecStatus, OcfRc, OpResult
from guest.common import authkey, config, logs, sdnotify
from guest.common.cli import Command, Context
from guest.common.schemas import drover_schema
from guest.common.version import version_line

log = logging.getLogger("drover")
POLL_S = 0.2

USAGE = """
Usage:
  drover daemon

Runs the controller in the foreground (systemd: drover.service): starts and
monitors resources, the VMs of guest nodes and the connections to them, and
recovers what fails. Logs go to stderr (the journal under systemd).
"""


async def serve(loaded: config.Config, settings: state.Settings) -> None:
    identities = authkey.identities(loaded)
    store = CibStore.open(settings.state_db)
    state.edit_configuration(settings, lambda configuration: ensure_node(configuration, settings.local_node))
    controller: Controller | None = None

    def lost(node: str) -> None:
        local.report(node, OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING, exit_reason=f"connection to {node} lost"))
        if controller is not None:
            controller.forget_node(node)
            controller.poke()

    connections = Connections(identities, loaded["remote.port"], settings.local_node, version_line("drover"), lost)
    local = build_local(settings.ocf_root, loaded["libvirt.uri"], connections)
    env = RealEnv(store, settings.local_node, local, connections, Path(loaded["state.dir"]) / "pe-inputs",
                  loaded["state.scheduler_inputs_kept"], loaded["libvirt.undefine_on_delete"])
    controller = Controller(env)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("%s controlling node %s, state %s", version_line("drover"), settings.local_node, settings.state_db)
    tasks = [asyncio.create_task(controller.run(), name="controller"),
             asyncio.create_task(_watch_store(store, controller), name="store watcher")]
    sdnotify.notify("READY=1")
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopped and task.exception() is not None:
            log.error("%s failed: %s", task.get_name(), task.exception())
    log.info("shutting down (resources keep running)")
    sdnotify.notify("STOPPING=1")
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await local.shutdown()
    await connections.close_all()
    local.virtual_domain.hypervisors.close()
    store.close()


async def _watch_store(store: CibStore, controller: Controller) -> None:
    seen = store.data_version()
    while True:
        await asyncio.sleep(POLL_S)
        current = store.data_version()
        if current != seen:
            seen = current
            controller.poke()


def run(args: dict, context: Context) -> int:
    loaded = config.load(drover_schema(context.paths), context.paths, context.environ)
    logs.configure("drover", loaded["log.level"])
    asyncio.run(serve(loaded, state.settings(context)))
    return 0


COMMAND = Command(USAGE, run)
