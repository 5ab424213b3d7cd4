"""drover-guest's top-level usage and command table."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import ModuleType

from guest.common.cli import Command, LazyCommand, run_program
from guest.common.paths import Paths
from guest.common.tooldir import TOOLS

USAGE = """
drover-guest: runs cluster resources inside a guest for the drover hypervisor (port 3121).

Usage:
  drover-guest COMMAND [ARGS...]
  drover-guest --version
  drover-guest --help

Commands:
  config      show or check /etc/drover/guest.conf and guest.conf.d/
  daemon      listen on 3121 and run resources for the hypervisor (drover-guest.service)
  status      the cluster as `drover status` shows it on the hypervisor (crm_mon -1)
  resource    list, locate, show, move, ban, clear, cleanup resources
  attribute   query, set or delete node attributes (this guest's node by default)
  constraint  as on the hypervisor
  node        as on the hypervisor (node name: this guest)
  property    as on the hypervisor
  ticket      as on the hypervisor (show; grant, revoke, ... with the full access policy)
  tag         as on the hypervisor (config; create, update, delete with the full access policy)
  tool        crm_mon, crm_attribute, crm_master, crm_resource, attrd_updater, crm_node, crm_ticket

All but config and daemon are answered by the hypervisor through the daemon,
within this guest's access policy (guest.conf [access] policy). The binary
also answers as the tools when called by their names.

`drover-guest COMMAND --help` describes one command.
"""

def _config_command(config_cmd: ModuleType) -> Command:
    from guest.common.schemas import guest_schema
    return config_cmd.command(guest_schema, "drover-guest")


COMMANDS = {                       # imported when they run: the proxied commands and tools never load them
    "config": LazyCommand("guest.common.config_cmd", _config_command),
    "daemon": LazyCommand("guest.daemon_cmd"),
}


PROXIED = ("status", "resource", "attribute", "constraint", "node", "property", "ticket", "tag")


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] in PROXIED:
        return proxy("drover", list(argv))
    if len(argv) >= 2 and argv[0] == "tool":
        if argv[1] not in TOOLS:
            print(f"drover-guest: unknown tool '{argv[1]}'; tools: {', '.join(TOOLS)}", file=sys.stderr)
            return 64
        return proxy(argv[1], list(argv[2:]))
    return run_program("drover-guest", USAGE, COMMANDS, argv)


def proxy(program: str, argv: list[str]) -> int:
    """Run a cluster command on the hypervisor through the local daemon; print what it printed."""
    from guest.server.local import call, socket_path

    reply = call(socket_path(Paths.from_environment().run_dir), program, argv, dict(os.environ))
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    return reply["rc"]
