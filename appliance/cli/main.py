"""drover's top-level usage and command table."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.cli import (
    attribute_cmd,
    authkey_cmd,
    cib_cmd,
    constraint_cmd,
    daemon_cmd,
    node_cmd,
    property_cmd,
    resource_cmd,
    simulate_cmd,
    status_cmd,
)
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
  status      nodes, resources and failed actions (like crm_mon -1)
  resource    create, delete, enable, disable, move, ban, clear, cleanup, list, show resources
  constraint  location (prefers/avoids/rule), colocation, order constraints
  node        standby, unstandby, maintenance, unmaintenance, list
  attribute   query, set or delete node attributes (like crm_attribute)
  property    cluster options (stonith-enabled, symmetric-cluster, ...)
  cib         import or export Pacemaker CIB XML
  simulate    what the scheduler would do with a CIB (like crm_simulate)
  authkey     generate the shared key (/etc/pacemaker/authkey)
  config      show or check /etc/drover/drover.conf and drover.conf.d/
  daemon      run the cluster controller (started by drover.service)

`drover COMMAND --help` describes one command.
"""

COMMANDS = {
    "status": status_cmd.COMMAND,
    "resource": resource_cmd.COMMAND,
    "constraint": constraint_cmd.COMMAND,
    "node": node_cmd.COMMAND,
    "attribute": attribute_cmd.COMMAND,
    "property": property_cmd.COMMAND,
    "cib": cib_cmd.COMMAND,
    "simulate": simulate_cmd.COMMAND,
    "authkey": authkey_cmd.COMMAND,
    "config": config_cmd.command(drover_schema, "drover"),
    "daemon": daemon_cmd.COMMAND,
}


def main(argv: Sequence[str]) -> int:
    return run_program("drover", USAGE, COMMANDS, argv)
