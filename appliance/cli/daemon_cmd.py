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


async def serve(loaded: config.Config, settings: state.Settings) -> int:
    """Runs until SIGTERM/SIGINT, `drover cluster stop`, or a part failing (corosync gone: exit 1)."""
    daemon = Daemon(loaded, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = daemon.start()
    sdnotify.notify("READY=1")
    stopped = asyncio.create_task(stop.wait())
    left = asyncio.create_task(daemon.left.wait())
    done, _ = await asyncio.wait([stopped, left, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = False
    for task in done:
        if task not in (stopped, left) and task.exception() is not None:
            log.error("%s failed: %s", task.get_name(), task.exception())
            failed = True
    if left in done:
        log.info("leaving the cluster (drover cluster stop)")
    else:
        log.info("shutting down (resources keep running)")
    sdnotify.notify("STOPPING=1")
    for waiter in (stopped, left):
        waiter.cancel()
    await daemon.stop()
    return 1 if failed else 0


def run(args: dict, context: Context) -> int:
    warnings: list[str] = []
    loaded = config.load(drover_schema(context.paths), context.paths, context.environ, warn=warnings.append)
    logs.configure("drover", loaded["log.level"])
    for warning in warnings:
        log.warning("%s", warning)
    return asyncio.run(serve(loaded, state.settings(context, loaded=loaded)))


COMMAND = Command(USAGE, run)
