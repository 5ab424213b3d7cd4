"""`drover simulate --save-graph FILE` and `--save-dotfile FILE`: the transition's actions and their orderings,
in the shapes crm_simulate -G and -D write (Pacemaker's transition_graph XML, a Graphviz digraph).

Rules: one synapse per action (`synapses`: probes, actions, monitors), its inputs what is ordered before it
(Transition.orderings, a resource's probes before its start); keys and labels
are Pacemaker's (RSC_TASK_0 NODE, RSC_monitor_INTERVAL NODE, stonith-NODE-reboot; a clone instance by its
instance name, its primitive by the name its history has). The actions are drover's: the
starts, stops, promotions, demotions, migrations and fencing it plans, the start-up probes (scheduler/probes.py)
and the recurring monitors it starts (scheduler/monitors.py) — not Pacemaker's pseudo-actions.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from appliance.model.cluster import Cib
from appliance.model.history import base_id
from appliance.model.resources import Clone, Group, parents, primitives
from appliance.model.values import is_true
from appliance.scheduler import monitors
from appliance.scheduler.schedule import Transition
from appliance.scheduler.transition import Action


def _key(action: Action) -> str:
    if action.task == "fence":
        return f"stonith-{action.node}-{action.fence_type or 'reboot'}"
    return f"{action.resource}_{action.task}_0"


def history_id(cib: Cib, rid: str) -> str:
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


def _node_id(cib: Cib, node: str) -> str:
    configured = cib.configuration.node(node)
    return configured.id if configured is not None else node


@dataclasses.dataclass(frozen=True)
class GraphNames:
    cib: Cib
    agents: dict[str, str]                   # resource (or instance) id -> agent
    recorded_as: dict[tuple[str, str], str]  # (node, base id) -> the id its history on that node has
    guests: frozenset[str] = frozenset()     # guest (and bundle) nodes
    history_names: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)  # (instance, node)

    @classmethod
    def of(cls, cib: Cib, result: Transition) -> GraphNames:
        agents = {p.id: str(p.agent) for p in primitives(cib.configuration.resources)}
        agents.update({change.resource: change.agent for change in result.changes})
        recorded_as = {(history.node, base_id(history.resource)): history.resource for history in cib.status.history}
        guests = frozenset(info.name for info in cib.configuration.node_infos() if info.kind == "guest")
        return cls(cib, agents, recorded_as, guests, dict(result.history_names or {}))

    def key_name(self, instance: str, node: str) -> str:
        """Pacemaker's operation keys name an anonymous clone instance as its history on the node does, if it
        has one there (its clone_name), and everything else by its own id."""
        if history_id(self.cib, instance) == instance:
            return instance
        return self.recorded_as.get((node, base_id(instance)), instance)

    def history_name(self, instance: str, node: str) -> str:
        """The resource name a result on `node` is recorded under: the name its history there has, else the
        configuration's (an anonymous clone instance as its primitive)."""
        if history_id(self.cib, instance) == instance:
            return instance
        return self.history_names.get((instance, node)) or self.recorded_as.get((node, base_id(instance))) \
            or base_id(instance)


def _rsc_op(parent: ET.Element, index: int, graph: GraphNames, task: str, instance: str, suffix: str, node: str,
            attributes: dict[str, str]) -> None:
    key, internal = f"{graph.key_name(instance, node)}_{suffix}", f"{instance}_{suffix}"
    op = ET.SubElement(parent, "rsc_op", id=str(index), operation=task, operation_key=key)
    if internal != key:
        op.set("internal_operation_key", internal)
    op.set("on_node", node)
    op.set("on_node_uuid", _node_id(graph.cib, node))
    standard, _, rest = graph.agents.get(instance, graph.agents.get(base_id(instance), "")).partition(":")
    provider, _, agent_type = rest.rpartition(":")
    primitive = ET.SubElement(op, "primitive", id=history_id(graph.cib, instance))
    if instance != primitive.get("id"):
        primitive.set("long-id", instance)
    primitive.set("class", standard)
    if provider:
        primitive.set("provider", provider)
    primitive.set("type", agent_type)
    ET.SubElement(op, "attributes", {"CRM_meta_on_node": node, "CRM_meta_on_node_uuid": _node_id(graph.cib, node),
                                     **attributes})


def _action_element(parent: ET.Element, index: int, action: Action, graph: GraphNames) -> None:
    node_id = _node_id(graph.cib, action.node)
    if action.task == "fence" and graph.guests and action.node in graph.guests:
        # a guest node is "fenced" by recovering its container: Pacemaker's graph has a pseudo event for it
        event = ET.SubElement(parent, "pseudo_event", id=str(index), operation="stonith", operation_key=_key(action),
                              on_node=action.node, on_node_uuid=action.node)
        ET.SubElement(event, "attributes", CRM_meta_on_node=action.node, CRM_meta_on_node_uuid=action.node,
                      CRM_meta_stonith_action=action.fence_type or "reboot")
        return
    if action.task == "fence":
        event = ET.SubElement(parent, "crm_event", id=str(index), operation="stonith", operation_key=_key(action),
                              on_node=action.node, on_node_uuid=node_id)
        ET.SubElement(event, "attributes", CRM_meta_on_node=action.node, CRM_meta_on_node_uuid=node_id,
                      CRM_meta_stonith_action=action.fence_type or "reboot")
        return
    attributes = {}
    if action.peer:
        side = "target" if action.task == "migrate_to" else "source"
        attributes[f"CRM_meta_migrate_{side}"] = action.peer
    _rsc_op(parent, index, graph, action.task, action.resource, f"{action.task}_0", action.node, attributes)


def _monitor_label(monitor: monitors.Monitor) -> str:
    return f"{monitor.resource}_monitor_{monitor.interval_ms} {monitor.node}"


@dataclasses.dataclass(frozen=True)
class Synapse:
    """One entry of the graph: an action, a probe or a recurring monitor, and the entries it waits for."""

    kind: str                   # "probe", "action" or "monitor"
    index: int                  # into Transition.probes, .actions or .monitors
    inputs: tuple[int, ...]     # positions in the synapse list


# the order Pacemaker creates a resource's actions in (its graph lists them newest first)
_CREATED = {"demote": 1, "stop": 2, "start": 3, "promote": 4, "monitor": 5, "migrate_to": 6, "migrate_from": 7}


def synapses(result: Transition) -> list[Synapse]:
    """The graph in Pacemaker's order, which decides what its executor runs first: resource by resource (by
    priority, then as configured), each one's actions newest first (its probes were made before everything
    else), node actions (fencing) last. A start, promotion or migration waits for the probes on its node and
    for its resource's probes everywhere; an action for its orderings; a monitor for the action it follows."""
    rank = {rid: position for position, rid in enumerate(result.resource_order or ())}
    last = len(rank)

    def sort_key(kind: str, index: int) -> tuple[int, int, int]:
        if kind == "probe":
            rid, created = result.probes[index][0], 0
        elif kind == "monitor":
            rid, created = result.monitors[index].resource, _CREATED["monitor"]
        elif result.actions[index].resource:
            rid, created = result.actions[index].resource, _CREATED.get(result.actions[index].task, 0)
        else:
            return last + 1, 0, index           # node actions (fencing) last, in their order
        return rank.get(rid, last), -created, -index

    keys = [("probe", i) for i in range(len(result.probes))] + [("action", i) for i in range(len(result.actions))] \
        + [("monitor", i) for i in range(len(result.monitors))]
    entries = sorted(((sort_key(*key), key) for key in keys), key=lambda entry: entry[0])
    position = {key: place for place, (_sort, key) in enumerate(entries)}
    probes_on: dict[str, list[int]] = {}
    probes_of: dict[str, list[int]] = {}
    for index, (instance, node) in enumerate(result.probes):
        probes_on.setdefault(node, []).append(position[("probe", index)])
        probes_of.setdefault(base_id(instance), []).append(position[("probe", index)])
    before: dict[int, list[int]] = {}
    for first, then in result.orderings:
        before.setdefault(then, []).append(position[("action", first)])
    unfencing = {action.node: position[("action", index)] for index, action in enumerate(result.actions)
                 if action.task == "fence" and action.fence_type == "on"}
    graph = []
    for _sort, (kind, index) in entries:
        inputs: set[int] = set()
        if kind == "probe" and result.probes[index][1] in unfencing:
            inputs.add(unfencing[result.probes[index][1]])     # a host is probed once it is unfenced
        if kind == "action":
            action = result.actions[index]
            inputs.update(before.get(index, []))
            if action.task in ("start", "promote", "migrate_to", "migrate_from"):
                inputs.update(probes_on.get(action.node, []))
                inputs.update(probes_of.get(base_id(action.resource), []))
        elif kind == "monitor" and result.monitors[index].after is not None:
            inputs.add(position[("action", result.monitors[index].after)])
        graph.append(Synapse(kind, index, tuple(sorted(inputs))))
    return graph


def _synapse_element(parent: ET.Element, position: int, synapse: Synapse, graph: GraphNames,
                     result: Transition) -> None:
    if synapse.kind == "action":
        _action_element(parent, position, result.actions[synapse.index], graph)
    elif synapse.kind == "probe":
        instance, node = result.probes[synapse.index]
        _rsc_op(parent, position, graph, "monitor", instance, "monitor_0", node, {"CRM_meta_op_target_rc": "7"})
    else:
        monitor = result.monitors[synapse.index]
        _rsc_op(parent, position, graph, "monitor", monitor.resource, f"monitor_{monitor.interval_ms}",
                monitor.node, {"CRM_meta_interval": str(monitor.interval_ms)})


def graph_xml(cib: Cib, result: Transition) -> str:
    graph = GraphNames.of(cib, result)
    root = ET.Element("transition_graph", {"cluster-delay": "60s", "stonith-timeout": "60s",
                                           "failed-stop-offset": "INFINITY", "failed-start-offset": "INFINITY",
                                           "transition_id": "0"})
    entries = synapses(result)
    for position, synapse in enumerate(entries):
        element = ET.SubElement(root, "synapse", id=str(position))
        _synapse_element(ET.SubElement(element, "action_set"), position, synapse, graph, result)
        inputs = ET.SubElement(element, "inputs")
        for first in synapse.inputs:
            _synapse_element(ET.SubElement(inputs, "trigger"), first, entries[first], graph, result)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def graph_dot(cib: Cib, result: Transition) -> str:
    lines = [' digraph "g" {']
    for first, then in sorted(result.orderings):
        lines.append(f'"{_label(result.actions[first])}" -> "{_label(result.actions[then])}" [ style = bold]')
    monitors = result.monitors
    for monitor in monitors:
        if monitor.after is not None:
            lines.append(f'"{_label(result.actions[monitor.after])}" -> "{_monitor_label(monitor)}" [ style = bold]')
    for action in result.actions:
        lines.append(f'"{_label(action)}" [ style=bold color="green" fontcolor="black"]')
    for monitor in monitors:
        lines.append(f'"{_monitor_label(monitor)}" [ style=bold color="green" fontcolor="black"]')
    lines.append("}")
    return "\n".join(lines) + "\n"
