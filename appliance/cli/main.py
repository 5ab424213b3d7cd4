"""drover's top-level usage and command table."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.cli import authkey_cmd, daemon_cmd
from guest.common import config_cmd
from guest.common.cli import run_program
from guest.common.schemas import drover_schema

USAGE = """
drover: high availability for KVM guests and the services inside them.

Usage:
  drover COMMAND [ARGS...]
  drover --version
  drover --help

Commands:
  authkey    generate the shared key (/etc/pacemaker/authkey)
  config     show or check /etc/drover/drover.conf and drover.conf.d/
  daemon     run the cluster controller (started by drover.service)

`drover COMMAND --help` describes one command.
"""

COMMANDS = {
    "authkey": authkey_cmd.COMMAND,
    "config": config_cmd.command(drover_schema, "drover"),
    "daemon": daemon_cmd.COMMAND,
}


def main(argv: Sequence[str]) -> int:
    return run_program("drover", USAGE, COMMANDS, argv)
