"""Utilization: node capacities and resource needs under placement-strategy utilization, minimal or balanced.

Rules: Pacemaker 2.1.5's pcmk_sched_utilization.c. Under any strategy but `default`, a node may take a
resource only if its remaining capacity covers the resource's need for every utilization attribute the resource
names (a node without the attribute has none of it); the need counted is that of the resource and of every
resource still unassigned that INFINITY colocations tie to it, unless no node could take them all (then the
resource's own need alone), and the node with the most free capacity is preferred among equals. Assigning a
resource consumes its need on the node. `balanced` also orders nodes by free capacity (compare_capacities);
`minimal` does not order by the number of resources, so nodes fill up in name order.
"""

from __future__ import annotations

from appliance.model.values import INFINITY
from appliance.scheduler.working import WNode, WRsc

STRATEGIES = ("default", "utilization", "minimal", "balanced")


def value(text: str | None) -> int:
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def compare_capacities(node1: WNode, node2: WNode) -> int:
    """Negative when node1 has more free capacity (attribute by attribute, counted), positive when node2 has."""
    result = 0
    for name in {**node1.utilization, **node2.utilization}:
        first, second = node1.utilization.get(name, 0), node2.utilization.get(name, 0)
        result += (first < second) - (first > second)
    return result


def _enough(node: WNode, needs: dict[str, int]) -> bool:
    return all(need <= node.utilization.get(name, 0) for name, need in needs.items())


def _colocated(rsc: WRsc, origin: WRsc, found: list[WRsc]) -> list[WRsc]:
    """pcmk__colocated_resources: rsc and what INFINITY colocations (either way) tie to it, transitively; a clone
    instance is tied by its clone's colocations (what is colocated with a clone, but is no clone itself, is not
    sure to come along)."""
    if rsc in found:
        return found
    found.append(rsc)
    if rsc.parent is not None and rsc.parent.variant == "clone":
        _colocated(rsc.parent, origin, found)
    elif rsc.variant == "group":
        for member in rsc.children:
            _colocated(member, origin, found)
    for colocation in rsc.this_with:
        if colocation.primary is not origin and colocation.score >= INFINITY and _affects_location(colocation):
            _colocated(colocation.primary, origin, found)
    for colocation in rsc.with_this:
        dependent = colocation.dependent
        if dependent is origin or (rsc.variant == "clone" and dependent.variant != "clone"):
            continue
        if colocation.score >= INFINITY and _affects_location(colocation):
            _colocated(dependent, origin, found)
    return found


def _affects_location(colocation) -> bool:
    dependent = colocation.dependent
    parent = dependent.parent
    return not (colocation.dependent_role in ("Unpromoted", "Promoted") and parent is not None
                and parent.promotable and not dependent.provisional)


def _add_needs(rsc: WRsc, found: list[WRsc], needs: dict[str, int]) -> None:
    """add_utilization: a group's provisional members, a clone's one instance (none if one is counted already)."""
    if not rsc.provisional:
        return
    if rsc.variant == "primitive":
        for name, need in rsc.utilization.items():
            needs[name] = needs.get(name, 0) + need
    elif rsc.variant == "group":
        for member in rsc.children:
            if member not in found:
                _add_needs(member, found, needs)
    elif rsc.children:
        counted = any(child in found or any(m in found for m in child.children) for child in rsc.children)
        if not counted:
            _add_needs(rsc.children[0], found, needs)


def ban_insufficient_capacity(strategy: str, nodes: list[WNode], rsc: WRsc) -> WNode | None:
    """Ban rsc (-INFINITY) from nodes that cannot take it; the node with the most free capacity when no node
    could take it together with what is colocated with it, else None."""
    if strategy == "default":
        return None
    colocated = _colocated(rsc, rsc, [])
    needs: dict[str, int] = {}
    for member in colocated:
        _add_needs(member, colocated, needs)
    candidates = [n for n in nodes if n.name in rsc.allowed and n.available() and rsc.allowed[n.name] >= 0]
    any_capable = any(_enough(node, needs) for node in candidates)
    most_capable: WNode | None = None
    for node in candidates:
        if most_capable is None or compare_capacities(node, most_capable) < 0:
            most_capable = node
    own = needs if any_capable else rsc.utilization
    for node in candidates:
        if not _enough(node, own):
            rsc.allowed[node.name] = -INFINITY
    return None if any_capable else most_capable


def consume(node: WNode, rsc: WRsc) -> None:
    for name, need in rsc.utilization.items():
        # as Pacemaker: an attribute the node does not have becomes 0, not a debt
        node.utilization[name] = node.utilization[name] - need if name in node.utilization else 0


def release(node: WNode, rsc: WRsc) -> None:
    """pcmk__release_node_capacity: an unassigned resource gives back what it took."""
    for name, need in rsc.utilization.items():
        if name in node.utilization:
            node.utilization[name] += need
