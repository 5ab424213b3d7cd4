"""drover-guest's top-level usage and command table."""

from __future__ import annotations

from collections.abc import Sequence

from guest import daemon_cmd
from guest.common import config_cmd
from guest.common.cli import run_program
from guest.common.schemas import guest_schema

USAGE = """
drover-guest: runs cluster resources inside a guest for the drover hypervisor (port 3121).

Usage:
  drover-guest COMMAND [ARGS...]
  drover-guest --version
  drover-guest --help

Commands:
  config     show or check /etc/drover/guest.conf and guest.conf.d/
  daemon     listen on 3121 and run resources for the hypervisor (drover-guest.service)

`drover-guest COMMAND --help` describes one command.
"""

COMMANDS = {
    "config": config_cmd.command(guest_schema, "drover-guest"),
    "daemon": daemon_cmd.COMMAND,
}


def main(argv: Sequence[str]) -> int:
    return run_program("drover-guest", USAGE, COMMANDS, argv)
