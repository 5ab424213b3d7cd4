"""drover's top-level usage and command table."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import ModuleType

from appliance.cli import pcmk_tools
from guest.common.cli import Command, LazyCommand, run_program
from guest.common.errors import UserError

USAGE = """
drover: high availability for KVM guests and the services inside them.

Usage:
  drover COMMAND [ARGS...]
  drover --version
  drover --help

Commands:
  status      nodes, resources and failed actions (like crm_mon -1)
  resource    create, delete, enable, disable, move, ban, clear, cleanup, show resources; group, clone them
  stonith     fence devices (fence_ipmilan, fence_virsh, ...): create, update, delete, config, status, list
  constraint  location (prefers/avoids/rule), colocation, order, ticket constraints
  ticket      grant, revoke, standby, activate, show, delete tickets (like crm_ticket)
  tag         create, update, delete, config tags (names for lists of resources in constraints)
  alert       agents run on node, fencing, resource and attribute events, and their recipients
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

def _config_command(config_cmd: ModuleType) -> Command:
    from guest.common.schemas import drover_schema
    return config_cmd.command(drover_schema, "drover")


# Each command's module is imported when it runs: `drover status` or crm_attribute pays for nothing else.
COMMANDS = {
    "status": LazyCommand("appliance.cli.status_cmd"),
    "resource": LazyCommand("appliance.cli.resource_cmd"),
    "stonith": LazyCommand("appliance.cli.stonith_cmd"),
    "constraint": LazyCommand("appliance.cli.constraint_cmd"),
    "ticket": LazyCommand("appliance.cli.ticket_cmd"),
    "tag": LazyCommand("appliance.cli.tag_cmd"),
    "alert": LazyCommand("appliance.cli.alert_cmd"),
    "node": LazyCommand("appliance.cli.node_cmd"),
    "attribute": LazyCommand("appliance.cli.attribute_cmd"),
    "property": LazyCommand("appliance.cli.property_cmd"),
    "cib": LazyCommand("appliance.cli.cib_cmd"),
    "simulate": LazyCommand("appliance.cli.simulate_cmd"),
    "authkey": LazyCommand("appliance.cli.authkey_cmd"),
    "cluster": LazyCommand("appliance.cli.cluster_cmd"),
    "config": LazyCommand("guest.common.config_cmd", _config_command),
    "daemon": LazyCommand("appliance.cli.daemon_cmd"),
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
