"""Assigning resources to nodes: processing order, primitives, groups, and colocation application.

Rules: mirrors Pacemaker 2.1's pcmk__sort_resources / cmp_resources,
pcmk__primitive_assign / assign_best_node / compare_nodes (score, then free
capacity under placement-strategy=balanced, fewest assigned resources but under
minimal, then the current node, then name; utilization.py bans nodes without
the capacity) and group assignment
(members in order, each colocated with the previous one). Clones live in
clones.py and are reached through assign().
"""

from __future__ import annotations

from functools import cmp_to_key

from appliance.model.nodes import node_name_key
from appliance.model.values import INFINITY, format_score
from appliance.scheduler import scores, utilization
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import Colocation, WNode, WRsc


def _cmp(a: int, b: int) -> int:
    return (a > b) - (a < b)


def sort_nodes(working: Working, weights: dict[str, int], preferred: WNode | None) -> list[tuple[WNode, int]]:
    """pcmk__sort_nodes over a resource's allowed nodes."""
    entries = [(working.node(name), weight) for name, weight in weights.items()]
    entries = [(node, weight) for node, weight in entries if node is not None]
    strategy = working.options.placement_strategy

    def compare(x: tuple[WNode, int], y: tuple[WNode, int]) -> int:
        node1, weight1 = x
        node2, weight2 = y
        score1 = weight1 if node1.available() else -INFINITY
        score2 = weight2 if node2.available() else -INFINITY
        if score1 != score2:
            return -_cmp(score1, score2)
        if strategy == "minimal":
            return _cmp(node1.name, node2.name)   # type: ignore[arg-type]
        if strategy == "balanced":
            capacity = utilization.compare_capacities(node1, node2)
            if capacity:
                return -1 if capacity < 0 else 1
        if node1.num_resources != node2.num_resources:
            return _cmp(node1.num_resources, node2.num_resources)
        if preferred is not None:
            if node1 is preferred:
                return -1
            if node2 is preferred:
                return 1
        return _cmp(node1.name, node2.name)   # type: ignore[arg-type]

    if strategy == "balanced":
        return sorted(entries, key=cmp_to_key(compare))
    # the same order as `compare`, as a key (much faster on large clusters)
    if strategy == "minimal":
        return sorted(entries, key=lambda e: (-(e[1] if e[0].available() else -INFINITY), e[0].name))
    return sorted(entries, key=lambda e: (-(e[1] if e[0].available() else -INFINITY), e[0].num_resources,
                                          e[0] is not preferred, e[0].name))


def assign_resource(working: Working, rsc: WRsc, chosen: WNode | None, force: bool) -> None:
    """pcmk__assign_resource: record the choice (or that it stays stopped) for rsc and everything in it."""
    if rsc.variant != "primitive":
        for child in rsc.children:
            assign_resource(working, child, chosen, force)
        rsc.provisional = False
        return
    if not force and chosen is not None and (rsc.allowed.get(chosen.name, -INFINITY) < 0 or not chosen.available()):
        chosen = None
    rsc.provisional = False
    if chosen is None:
        rsc.assigned = None
        if rsc.next_role is None or rsc.next_role != "Stopped":
            rsc.next_role = "Stopped"
        return
    rsc.assigned = chosen
    chosen.num_resources += 1
    if working.options.placement_strategy != "default":
        utilization.consume(chosen, rsc)


def assign_best_node(working: Working, rsc: WRsc, prefer: WNode | None) -> bool:
    most_free = utilization.ban_insufficient_capacity(working.options.placement_strategy, working.nodes, rsc)
    prefer = prefer or most_free
    if not rsc.provisional:
        return rsc.assigned is not None
    nodes = sort_nodes(working, rsc.allowed, rsc.current)
    best = nodes[0] if nodes else None
    chosen: tuple[WNode, int] | None = None
    if prefer is not None and nodes:
        # Pacemaker 2.1.5 takes the preferred node whenever it is allowed (later versions want it to be the best)
        weight = rsc.allowed.get(prefer.name)
        if weight is not None and weight >= 0 and best is not None and weight >= best[1] and prefer.available():
            chosen = (prefer, weight)
    if chosen is None and best is not None:
        chosen = best
        clone = rsc.clone_parent()
        unique_instance = clone is not None and clone.unique
        if not unique_instance and chosen[1] > 0 and chosen[0].available():
            running = rsc.current
            if running is not None and running.available():
                for node, weight in nodes[1:]:
                    if weight != chosen[1]:
                        break
                    if node is running:
                        chosen = (node, weight)
    assign_resource(working, rsc, chosen[0] if chosen else None, force=False)
    return rsc.assigned is not None


def primary_nodes(rsc: WRsc, colocation: Colocation) -> list[WNode] | None:
    """Where the primary of a colocation will be, for the purpose of the dependent's scores."""
    if rsc.variant == "group":
        if not rsc.children:
            return None
        member = rsc.children[-1] if colocation.score >= INFINITY else rsc.children[0]
        return primary_nodes(member, colocation)
    if rsc.variant == "clone":
        found = []
        for instance in rsc.children:
            node = instance_node(instance)
            if node is None or instance.blocked:
                continue
            if colocation.primary_role not in ("Unknown", None) and instance_role(instance) != colocation.primary_role:
                continue
            found.append(node)
        return found or None
    return [rsc.assigned] if rsc.assigned is not None else None


def instance_node(instance: WRsc) -> WNode | None:
    if instance.variant == "primitive":
        return instance.assigned
    nodes = [p.assigned for p in instance.primitives()]
    return nodes[0] if nodes and all(n is not None and n is nodes[0] for n in nodes) else (nodes[0] if nodes else None)


def instance_role(instance: WRsc) -> str:
    roles = [p.next_role or "Started" for p in instance.primitives()]
    return "Promoted" if "Promoted" in roles else ("Started" if roles else "Stopped")


def _role_filter_allows(wanted: str | None, next_role: str | None, score: int) -> bool:
    """pcmk__colocation_affects: a colocation limited to a role counts only when the resource will have that
    role; an anti-colocation limited to a role is skipped when it will (Pacemaker 2.1.5's rule, kept as is)."""
    if wanted in ("Unknown", None):
        return True
    matches = wanted == (next_role or "Unknown")
    return matches if score > 0 else not matches


def apply_coloc_score(working: Working, dependent: WRsc, primary: WRsc, colocation: Colocation) -> None:
    if primary.provisional:
        return
    if not _role_filter_allows(colocation.dependent_role, dependent.next_role, colocation.score):
        return
    if primary.variant == "clone" and primary.promotable and colocation.primary_role not in ("Unknown", None):
        _apply_with_promotable(working, dependent, primary, colocation)
        return
    if primary.variant == "clone":
        nodes = primary_nodes(primary, colocation)
        if colocation.score >= INFINITY:
            names = {n.name for n in nodes or []}
            for name in list(dependent.allowed):
                if name not in names:
                    dependent.allowed[name] = -INFINITY
            return
        for instance in primary.children:
            node = instance_node(instance)
            if node is not None:
                scores.apply_coloc_to_weights(working, dependent, [node], colocation)
        return
    if not _role_filter_allows(colocation.primary_role, primary.next_role, colocation.score):
        return
    scores.apply_coloc_to_weights(working, dependent, primary_nodes(primary, colocation), colocation)


def _apply_with_promotable(working: Working, dependent: WRsc, primary: WRsc, colocation: Colocation) -> None:
    """pcmk__update_dependent_with_promotable: an optional colocation adds its score where an instance has the
    role; a mandatory one adds that instance's own node score there and bans every other node."""
    affected: dict[str, int] = {}
    for instance in primary.children:
        node = instance_node(instance)
        if node is None or instance_role(instance) != colocation.primary_role:
            continue
        if colocation.score < INFINITY:
            value = node.attrs.get(colocation.node_attribute)
            for name in list(dependent.allowed):
                other = working.node(name)
                if other is not None and other.attrs.get(colocation.node_attribute) == value:
                    dependent.allowed[name] = scores.add_scores(dependent.allowed[name], colocation.score)
        weights = [p.allowed.get(node.name, 0) for p in instance.primitives() if p.assigned is node]
        affected[node.name] = weights[0] if weights else 0
    if colocation.score >= INFINITY and not (colocation.dependent_role == "Promoted"
                                             and colocation.primary_role == "Promoted"):
        for name in list(dependent.allowed):
            if name in affected:
                dependent.allowed[name] = scores.add_scores(dependent.allowed[name], affected[name])
            else:
                dependent.allowed[name] = -INFINITY


def apply_this_with(working: Working, colocation: Colocation, rsc: WRsc) -> None:
    archive = None
    if colocation.dependent_role == "Promoted" or -INFINITY < colocation.score < 0:
        archive = dict(rsc.allowed)
    primary = colocation.primary
    if primary.provisional:
        assign(working, primary)
    apply_coloc_score(working, rsc, primary, colocation)
    if archive is not None and not scores.any_available(working, rsc.allowed):
        rsc.allowed = archive


def add_dependent_scores(working: Working, colocation: Colocation, rsc: WRsc) -> None:
    if not scores.has_influence(colocation):
        return
    if rsc.variant == "clone" and colocation.primary_role not in ("Unknown", None):
        return      # a colocation with a role of a promotable clone steers promotion, not instance placement
    merged = scores.add_colocated_node_scores(working, colocation.dependent, rsc.allowed, colocation.node_attribute,
                                              colocation.score / INFINITY, this_with_mode=False,
                                              nonnegative=rsc.variant == "clone", active=True)
    if merged is not None:
        rsc.allowed = merged


def is_mandatory(colocation: Colocation) -> bool:
    return colocation.score <= -INFINITY or colocation.score >= INFINITY


def apply_colocations(working: Working, rsc: WRsc) -> None:
    this_with = scores.this_with_list(rsc)
    with_this = scores.with_this_list(rsc)
    for mandatory in (True, False):
        for colocation in this_with:
            if is_mandatory(colocation) == mandatory:
                apply_this_with(working, colocation, rsc)
        for colocation in with_this:
            if is_mandatory(colocation) == mandatory:
                add_dependent_scores(working, colocation, rsc)


def show_scores(working: Working, function: str, rsc: WRsc) -> None:
    """crm_simulate --show-scores (pe__show_node_weights): rsc's scores on every node it has one for, then its
    children's, recursively; none for orphans."""
    if working.score_lines is None or rsc.orphan:
        return
    working.score_lines.extend(
        f"{function}: {rsc.id} allocation score on {name}: {format_score(score)}"
        for name, score in sorted(rsc.allowed.items(), key=lambda item: node_name_key(item[0])))
    for child in rsc.children:
        show_scores(working, function, child)


def primitive_assign(working: Working, rsc: WRsc, prefer: WNode | None = None) -> WNode | None:
    parent = rsc.parent
    if parent is not None and not parent.allocating:
        assign(working, parent, prefer)
    container = working.container_of(rsc) if rsc.is_remote_connection else None
    if container is not None and container.top().bundle and container.top().provisional:
        assign(working, container.top())        # a bundle places its containers before their connections
    if not rsc.provisional:
        return rsc.assigned
    if rsc.allocating:
        return None
    rsc.allocating = True
    apply_colocations(working, rsc)
    options = working.options
    if rsc.next_role == "Stopped":
        for name in rsc.allowed:
            rsc.allowed[name] = -INFINITY
    show_scores(working, "pcmk__primitive_assign", rsc)
    if options.stonith_enabled and not options.have_stonith_resource:
        rsc.managed = False
    if not rsc.managed:
        rsc.next_role = rsc.role
        assign_resource(working, rsc, rsc.current, force=True)
    elif options.stop_all:
        assign_resource(working, rsc, None, force=True)
    else:
        assign_best_node(working, rsc, prefer)
    rsc.allocating = False
    if rsc.is_remote_connection:
        _remote_connection_assigned(working, rsc)
    return rsc.assigned


def _remote_connection_assigned(working: Working, connection: WRsc) -> None:
    node = working.node(connection.id)
    if node is None:
        return
    if connection.assigned is not None and connection.next_role != "Stopped":
        node.online = True
        if node.unseen:
            node.unclean = False
    else:
        node.shutdown = True


def group_assign(working: Working, rsc: WRsc, prefer: WNode | None = None) -> WNode | None:
    if not rsc.provisional:
        return rsc.children[0].assigned if rsc.children else None
    if rsc.allocating:
        return None
    rsc.allocating = True
    show_scores(working, "pcmk__group_assign", rsc)
    first: WNode | None = None
    for index, member in enumerate(rsc.children):
        node = primitive_assign(working, member, prefer)
        if index == 0:
            first = node
    rsc.allocating = False
    rsc.provisional = False
    return first


def assign(working: Working, rsc: WRsc, prefer: WNode | None = None) -> WNode | None:
    top = rsc.top()
    if top is not rsc and top.bundle and top.provisional:
        # a bundle's container is placed with its replicas (as Pacemaker's bundle assigns them), never alone
        from appliance.scheduler.clones import clone_assign
        clone_assign(working, top)
        return rsc.assigned
    if rsc.variant == "primitive":
        return primitive_assign(working, rsc, prefer)
    if rsc.variant == "group":
        return group_assign(working, rsc, prefer)
    from appliance.scheduler.clones import clone_assign
    return clone_assign(working, rsc, prefer)


# -- processing order ------------------------------------------------------------------------------------------------

def _current_node(rsc: WRsc) -> WNode | None:
    for primitive in rsc.primitives():
        if primitive.running_on:
            return primitive.running_on[0]
    return None


def sort_resources(working: Working) -> list[WRsc]:
    node_order = [n for n, _ in sort_nodes(working, {n.name: 0 for n in working.nodes}, None)]
    merged: dict[str, dict[str, int]] = {}
    for rsc in working.resources:
        merged[rsc.id] = scores.add_colocated_node_scores(working, rsc, None, "#uname", 1.0, this_with_mode=True,
                                                          nonnegative=False, active=False) or {}

    def weight(rsc: WRsc, node: WNode | None) -> int:
        if node is None:
            return -INFINITY
        return merged[rsc.id].get(node.name, -INFINITY)

    def compare(a: WRsc, b: WRsc) -> int:
        if a.priority != b.priority:
            return -_cmp(a.priority, b.priority)
        wa, wb = weight(a, _current_node(a)), weight(b, _current_node(b))
        if wa != wb:
            return -_cmp(wa, wb)
        for node in node_order:
            wa, wb = weight(a, node), weight(b, node)
            if wa != wb:
                return -_cmp(wa, wb)
        return 0

    return sorted(working.resources, key=cmp_to_key(compare))


def assign_all(working: Working, placement_strategy: str = "default") -> None:
    """Pacemaker sorts resources by score only for non-default placement strategies; otherwise CIB order."""
    ordered = sort_resources(working) if placement_strategy != "default" else list(working.resources)
    # remote connections first, except a bundle's, which its bundle places with its replicas (in CIB order)
    first = [rsc for rsc in ordered if rsc.variant == "primitive" and rsc.is_remote_connection
             and not _bundled_connection(working, rsc)]
    for rsc in first:
        assign(working, rsc)
    for rsc in ordered:
        if rsc not in first:
            assign(working, rsc)


def _bundled_connection(working: Working, connection: WRsc) -> bool:
    container = working.container_of(connection)
    return container is not None and container.top().bundle
