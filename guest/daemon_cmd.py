"""`drover-guest daemon`: the command; the wiring lives in guest.server.main (imported only here)."""

from __future__ import annotations

import logging

from guest.common import config, logs
from guest.common.cli import Command, Context
from guest.common.schemas import guest_schema

USAGE = """
Usage:
  drover-guest daemon

Listens on remote.port (3121) for the drover hypervisor, authenticated with the
authkey, and runs the resource operations it asks for. systemd: drover-guest.service.
"""


def run(args: dict, context: Context) -> int:
    import asyncio

    from guest.server.main import serve

    warnings: list[str] = []
    loaded = config.load(guest_schema(context.paths), context.paths, context.environ, warn=warnings.append)
    logs.configure("drover-guest", loaded["log.level"])
    for warning in warnings:
        logging.getLogger("drover-guest").warning("%s", warning)
    asyncio.run(serve(loaded))
    return 0


COMMAND = Command(USAGE, run)
