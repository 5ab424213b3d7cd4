"""`drover daemon`: the cluster controller (lands with the appliance issue)."""

from __future__ import annotations

from guest.common import config
from guest.common.cli import Command, Context
from guest.common.errors import UserError
from guest.common.schemas import drover_schema

USAGE = """
Usage:
  drover daemon

Runs the controller in the foreground (systemd: drover.service).
"""


def run(args: dict, context: Context) -> int:
    config.load(drover_schema(context.paths), context.paths, context.environ)
    raise UserError("the controller daemon is not implemented yet (see the appliance issue)", 69)


COMMAND = Command(USAGE, run)
