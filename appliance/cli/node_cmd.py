"""`drover node ...`: standby, unstandby, maintenance, unmaintenance, list.

Rules: like pcs, standby and maintenance are permanent node attributes
(standby=on, maintenance=on); no NODE means this host; guest and remote
nodes get a <node type="remote"> entry to hold them.
"""

from __future__ import annotations

from appliance.cli import state, utilization_cmd
from appliance.model import edits
from appliance.model.cluster import Configuration
from appliance.model.values import ModelError, is_true
from guest.common.cli import Command, Context

USAGE = """
Usage:
  drover node standby [NODE...]
  drover node unstandby [NODE...]
  drover node maintenance [NODE...]
  drover node unmaintenance [NODE...]
  drover node list [--output-as=FORMAT]
  drover node name
  drover node members
  drover node quorum
  drover node utilization [NODE] [--name=NAME]
  drover node utilization NODE ARGS...

name prints the node this command speaks for (crm_node -n); members the cluster
nodes as `ID NAME STATE` lines (crm_node -l: member or lost); quorum 1 or 0
(crm_node -q). utilization: show or set what a node offers (cpu=8
memory=16384; k= removes one), used under placement-strategy utilization,
minimal or balanced; --name shows one attribute.
Without NODE, this host. Standby nodes run no resources; in maintenance, the
cluster neither starts nor stops nor monitors anything on the node.

Options:
  --name=NAME         utilization: only this attribute.
  --output-as=FORMAT  text (default) or json.
"""

_ACTIONS = {"standby": ("standby", "on"), "unstandby": ("standby", None),
            "maintenance": ("maintenance", "on"), "unmaintenance": ("maintenance", None)}


def _set(args: dict, current: state.Settings, attribute: str, value: str | None) -> None:
    nodes = args["NODE"] or [current.local_node]

    def edit(configuration: Configuration) -> Configuration:
        for node in nodes:
            if configuration.node_info(node) is None:
                raise ModelError(f"node '{node}' does not exist")
            configuration = edits.set_node_attribute(configuration, node, attribute, value)
        return configuration

    state.edit_configuration(current, edit)


def _list(args: dict, current: state.Settings) -> None:
    form = state.output_format(args, ("text", "json"))
    with state.open_store(current) as store:
        configuration = store.configuration()
    infos = configuration.node_infos()
    if current.local_node not in {info.name for info in infos}:
        from appliance.model.nodes import NodeInfo
        infos = (NodeInfo(current.local_node, "cluster"), *infos)
    rows = []
    for info in infos:
        node = configuration.node(info.name)
        attributes = node.attributes if node is not None else None
        rows.append({"name": info.name, "kind": info.kind, "resource": info.resource,
                     "standby": bool(attributes and is_true(attributes.get("standby"))),
                     "maintenance": bool(attributes and is_true(attributes.get("maintenance")))})
    if form == "json":
        state.print_json(rows)
        return
    for row in rows:
        flags = [flag for flag in ("standby", "maintenance") if row[flag]]
        via = f" (via {row['resource']})" if row["resource"] else ""
        print(f"{row['name']}: {row['kind']} node{via}{' ' + ' '.join(flags) if flags else ''}")


def _members(current: state.Settings) -> None:
    with state.open_store(current) as store:
        cib = store.read()
    for info in cib.configuration.node_infos():
        if info.kind != "cluster":
            continue
        node = cib.configuration.node(info.name)
        recorded = cib.status.node_state(info.name)
        up = recorded is not None and recorded.in_ccm == "true" and recorded.crmd == "online"
        print(f"{node.id if node is not None else info.name} {info.name} {'member' if up else 'lost'}")


def _quorum(current: state.Settings) -> None:
    with state.open_store(current) as store:
        print("1" if store.read().have_quorum else "0")


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    if args["name"]:
        print(current.caller_node)
        return 0
    if args["utilization"]:
        with state.model_errors():
            utilization_cmd.node(args, current)
        return 0
    if args["members"] or args["quorum"]:
        (_members if args["members"] else _quorum)(current)
        return 0
    with state.model_errors():
        for action, (attribute, value) in _ACTIONS.items():
            if args[action]:
                _set(args, current, attribute, value)
                return 0
        _list(args, current)
    return 0


COMMAND = Command(USAGE, run)
