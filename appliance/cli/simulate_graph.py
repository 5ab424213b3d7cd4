"""`drover simulate --save-graph FILE` and `--save-dotfile FILE`: the transition's actions and their orderings,
in the shapes crm_simulate -G and -D write (Pacemaker's transition_graph XML, a Graphviz digraph).

Rules: one synapse per action, its inputs the actions ordered before it (Transition.orderings); keys and labels
are Pacemaker's (RSC_TASK_0 NODE, stonith-NODE-reboot). The actions are drover's: the starts, stops,
promotions, demotions, migrations and fencing it plans, not Pacemaker's pseudo-actions, probes or monitors.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from appliance.model.cluster import Cib
from appliance.model.history import base_id
from appliance.model.resources import Clone, Group, parents
from appliance.model.values import is_true
from appliance.scheduler.schedule import Transition
from appliance.scheduler.transition import Action


def _key(action: Action, resource: str | None = None) -> str:
    if action.task == "fence":
        return f"stonith-{action.node}-{action.fence_type or 'reboot'}"
    return f"{resource or action.resource}_{action.task}_0"


def _history_id(cib: Cib, rid: str) -> str:
    """The name an anonymous clone instance has in the history (and in Pacemaker's operation keys)."""
    base = base_id(rid)
    if base == rid:
        return rid
    parent = parents(cib.configuration.resources).get(base)
    clone = cib.configuration.resource(parent) if parent else None
    while isinstance(clone, Group):
        parent = parents(cib.configuration.resources).get(clone.id)
        clone = cib.configuration.resource(parent) if parent else None
    unique = isinstance(clone, Clone) and is_true(clone.meta.get("globally-unique"))
    return rid if unique else base


def _label(action: Action) -> str:
    if action.task == "fence":
        return f"stonith '{action.fence_type or 'reboot'}' {action.node}"
    return f"{_key(action)} {action.node}"


def _action_element(parent: ET.Element, index: int, action: Action, cib: Cib, agents: dict[str, str]) -> None:
    configured = cib.configuration.node(action.node)
    node_id = configured.id if configured is not None else action.node
    if action.task == "fence":
        event = ET.SubElement(parent, "crm_event", id=str(index), operation="stonith", operation_key=_key(action),
                              on_node=action.node, on_node_uuid=node_id)
        ET.SubElement(event, "attributes", CRM_meta_on_node=action.node, CRM_meta_on_node_uuid=node_id,
                      CRM_meta_stonith_action=action.fence_type or "reboot")
        return
    op = ET.SubElement(parent, "rsc_op", id=str(index), operation=action.task,
                       operation_key=_key(action, _history_id(cib, action.resource)),
                       internal_operation_key=_key(action), on_node=action.node, on_node_uuid=node_id)
    standard, _, rest = agents.get(action.resource, "").partition(":")
    provider, _, agent_type = rest.rpartition(":")
    primitive = ET.SubElement(op, "primitive", id=_history_id(cib, action.resource))
    primitive.set("class", standard)
    if provider:
        primitive.set("provider", provider)
    primitive.set("type", agent_type)
    attributes = {"CRM_meta_on_node": action.node, "CRM_meta_on_node_uuid": node_id}
    if action.peer:
        side = "target" if action.task == "migrate_to" else "source"
        attributes[f"CRM_meta_migrate_{side}"] = action.peer
    ET.SubElement(op, "attributes", attributes)


def graph_xml(cib: Cib, result: Transition) -> str:
    agents = {change.resource: change.agent for change in result.changes}
    root = ET.Element("transition_graph", {"cluster-delay": "60s", "stonith-timeout": "60s",
                                           "failed-stop-offset": "INFINITY", "failed-start-offset": "INFINITY",
                                           "transition_id": "0"})
    before: dict[int, list[int]] = {}
    for first, then in result.orderings:
        before.setdefault(then, []).append(first)
    for index, action in enumerate(result.actions):
        synapse = ET.SubElement(root, "synapse", id=str(index))
        _action_element(ET.SubElement(synapse, "action_set"), index, action, cib, agents)
        inputs = ET.SubElement(synapse, "inputs")
        for first in sorted(before.get(index, [])):
            _action_element(ET.SubElement(inputs, "trigger"), first, result.actions[first], cib, agents)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def graph_dot(result: Transition) -> str:
    lines = [' digraph "g" {']
    for first, then in sorted(result.orderings):
        lines.append(f'"{_label(result.actions[first])}" -> "{_label(result.actions[then])}" [ style = bold]')
    for action in result.actions:
        lines.append(f'"{_label(action)}" [ style=bold color="green" fontcolor="black"]')
    lines.append("}")
    return "\n".join(lines) + "\n"
