"""`drover daemon`: the cluster controller in the foreground (drover.service runs it)."""

from __future__ import annotations

import asyncio
import logging
import signal

from appliance.cli import state
from appliance.daemon import Daemon
from guest.common import config, logs, sdnotify
from guest.common.cli import Command, Context
from guest.common.schemas import drover_schema

log = logging.getLogger("drover")

USAGE = """
Usage:
  drover daemon

Runs the controller in the foreground (systemd: drover.service): starts and
monitors resources, the VMs of guest nodes and the connections to them, and
recovers what fails. Logs go to stderr (the journal under systemd). Stopping
it leaves resources running; a restarted daemon takes them over.
"""


async def serve(loaded: config.Config, settings: state.Settings) -> None:
    daemon = Daemon(loaded, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = daemon.start()
    sdnotify.notify("READY=1")
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopped and task.exception() is not None:
            log.error("%s failed: %s", task.get_name(), task.exception())
    log.info("shutting down (resources keep running)")
    sdnotify.notify("STOPPING=1")
    await daemon.stop()


def run(args: dict, context: Context) -> int:
    warnings: list[str] = []
    loaded = config.load(drover_schema(context.paths), context.paths, context.environ, warn=warnings.append)
    logs.configure("drover", loaded["log.level"])
    for warning in warnings:
        log.warning("%s", warning)
    asyncio.run(serve(loaded, state.settings(context, loaded=loaded)))
    return 0


COMMAND = Command(USAGE, run)
