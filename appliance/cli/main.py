"""drover's top-level usage and command table."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from appliance.cli import (
    attribute_cmd,
    authkey_cmd,
    cib_cmd,
    cluster_cmd,
    constraint_cmd,
    daemon_cmd,
    node_cmd,
    pcmk_tools,
    property_cmd,
    resource_cmd,
    simulate_cmd,
    status_cmd,
    stonith_cmd,
    ticket_cmd,
)
from guest.common import config_cmd
from guest.common.cli import run_program
from guest.common.errors import UserError
from guest.common.schemas import drover_schema

USAGE = """
drover: high availability for KVM guests and the services inside them.

Usage:
  drover COMMAND [ARGS...]
  drover --version
  drover --help

Commands:
  status      nodes, resources and failed actions (like crm_mon -1)
  resource    create, delete, enable, disable, move, ban, clear, cleanup, refresh, list, show resources
  stonith     fence devices (fence_ipmilan, fence_virsh, ...): create, update, delete, config, status, list
  constraint  location (prefers/avoids/rule), colocation, order, ticket constraints
  ticket      grant, revoke, standby, activate, show, delete tickets (like crm_ticket)
  node        standby, unstandby, maintenance, unmaintenance, list
  attribute   query, set or delete node attributes (like crm_attribute)
  property    cluster options (stonith-enabled, symmetric-cluster, ...)
  cib         import or export Pacemaker CIB XML
  simulate    what the scheduler would do with a CIB (like crm_simulate)
  authkey     generate the shared key (/etc/pacemaker/authkey)
  cluster     set up corosync for several hosts (setup, node add/remove, destroy)
  config      show or check /etc/drover/drover.conf and drover.conf.d/
  daemon      run the cluster controller (started by drover.service)
  tool        Pacemaker's crm_mon, crm_attribute, crm_master, crm_resource, attrd_updater, crm_node, crm_ticket

`drover COMMAND --help` describes one command.
"""

COMMANDS = {
    "status": status_cmd.COMMAND,
    "resource": resource_cmd.COMMAND,
    "stonith": stonith_cmd.COMMAND,
    "constraint": constraint_cmd.COMMAND,
    "ticket": ticket_cmd.COMMAND,
    "node": node_cmd.COMMAND,
    "attribute": attribute_cmd.COMMAND,
    "property": property_cmd.COMMAND,
    "cib": cib_cmd.COMMAND,
    "simulate": simulate_cmd.COMMAND,
    "authkey": authkey_cmd.COMMAND,
    "cluster": cluster_cmd.COMMAND,
    "config": config_cmd.command(drover_schema, "drover"),
    "daemon": daemon_cmd.COMMAND,
}


def main(argv: Sequence[str]) -> int:
    if len(argv) >= 2 and argv[0] == "tool":       # crm_attribute & co (multi-call links run `drover tool NAME`)
        return run_tool(argv[1], argv[2:])
    return run_program("drover", USAGE, COMMANDS, argv)


def run_tool(tool: str, argv: Sequence[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(f"{tool}: drover's implementation of Pacemaker's {tool}; see `drover {TOOL_HELP.get(tool, '')} --help`")
        return 0
    try:
        translated = pcmk_tools.translate(tool, argv, os.environ)
    except UserError as error:
        if isinstance(error, pcmk_tools.Refused):
            print(error.explanation)
        print(f"{tool}: {error.message}", file=sys.stderr)
        return error.exit_code
    return run_program(tool, USAGE, COMMANDS, translated)


TOOL_HELP = {"crm_mon": "status", "crm_attribute": "attribute", "crm_master": "attribute",
             "attrd_updater": "attribute", "crm_resource": "resource", "crm_node": "node",
             "crm_ticket": "ticket"}
