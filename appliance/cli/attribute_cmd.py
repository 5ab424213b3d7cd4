"""`drover attribute`: query, set or delete a node attribute, as crm_attribute does.

Rules: lifetime forever (default) is a permanent attribute in the
configuration; reboot is a transient attribute in the status, gone when the
node leaves. Query output follows crm_attribute (`scope=... name=... value=...`);
a missing attribute exits 105 like crm_attribute's "No such device or address".
"""

from __future__ import annotations

from appliance.cli import state
from appliance.model import edits
from appliance.model.cluster import Configuration
from appliance.model.history import set_transient
from appliance.model.status import Status
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

EXIT_NOSUCH = 105

USAGE = """
Usage:
  drover attribute [--node=NODE] --name=NAME [--update=VALUE | --delete | --query] [--lifetime=LIFETIME]
                   [--default=VALUE] [--quiet] [--output-as=FORMAT]

Options:
  -N NODE, --node=NODE          The node (default: this host, or the guest the command came from).
  -n NAME, --name=NAME          The attribute.
  -v VALUE, --update=VALUE      Set it.
  -D, --delete                  Delete it.
  -G, --query                   Print it (the default).
  -l LIFETIME, --lifetime=LIFETIME  forever (default: kept in the configuration) or reboot (status only).
  -d VALUE, --default=VALUE     With --query: print this when the attribute is not set.
  -q, --quiet                   Print only the value.
  --output-as=FORMAT            text (default) or json.
"""


def _lifetime(args: dict) -> str:
    lifetime = (args["--lifetime"] or "forever").lower()
    if lifetime == "permanent":
        lifetime = "forever"
    if lifetime not in ("forever", "reboot"):
        raise UserError(f"invalid --lifetime '{args['--lifetime']}': expected forever or reboot", EXIT_USAGE)
    return lifetime


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    node, name, lifetime = args["--node"] or current.caller_node, args["--name"], _lifetime(args)
    form = state.output_format(args, ("text", "json"))
    with state.open_store(current) as store:
        snapshot = store.read()
    configuration = snapshot.configuration
    if node not in (current.local_node, current.caller) and configuration.node_info(node) is None:
        raise UserError(f"node '{node}' does not exist", EXIT_NOSUCH)
    value = args["--update"]
    if value is not None or args["--delete"]:
        new_value = None if args["--delete"] else value
        if lifetime == "forever":
            def edit(c: Configuration) -> Configuration:
                return edits.set_node_attribute(c, node, name, new_value)
            state.edit_configuration(current, edit, attribute_of=node)
        else:
            def edit_status(s: Status) -> Status:
                return set_transient(s, node, name, new_value)
            with state.model_errors():
                state.edit_status(current, edit_status, attribute_of=node)
        return 0
    if lifetime == "forever":
        configured = configuration.node(node)
        found = configured.attributes.get(name) if configured is not None else None
    else:
        found = snapshot.status.transient(node).get(name)
    scope = "nodes" if lifetime == "forever" else "status"
    if found is None and args["--default"] is not None:
        found = args["--default"]
    if form == "json":
        state.print_json({"node": node, "scope": scope, "name": name, "value": found})
        return 0 if found is not None else EXIT_NOSUCH
    if found is None:
        raise UserError(f"attribute '{name}' is not set for node {node} ({scope})", EXIT_NOSUCH)
    print(found if args["--quiet"] else f"scope={scope}  name={name} value={found}")
    return 0


COMMAND = Command(USAGE, run)

