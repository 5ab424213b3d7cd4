"""Clones: spreading instances over nodes, and choosing which instances of a promotable clone are promoted.

Rules: mirrors Pacemaker 2.1's clone assignment (clone-level colocations
first, instances that are active keep their node when it is still allowed
and not over the per-node optimum, then the rest by the primitive rules with
clone-node-max enforced) and pcmk__set_instance_roles (promotion score from
the master-RSC node attribute, role=Promoted locations, role colocations;
highest first, promoted-max / promoted-node-max, never below 0).
"""

from __future__ import annotations

from functools import cmp_to_key

from appliance.model.values import INFINITY, add_scores, format_score, parse_score
from appliance.scheduler import assign as assigning
from appliance.scheduler import relations, scores, utilization
from appliance.scheduler.scores import descendants
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import WNode, WRsc


def _instance_current(instance: WRsc) -> WNode | None:
    for primitive in instance.primitives():
        if primitive.running_on:
            return primitive.running_on[0]
    return None


def _sorted_instances(working: Working, clone: WRsc) -> list[WRsc]:
    """pcmk__cmp_instance: which instances are assigned first (a stable sort, so CIB order breaks ties)."""

    def nodes_of(instance: WRsc) -> list[WNode]:
        return list(dict.fromkeys(n for p in instance.primitives() for n in p.running_on))

    def current(instance: WRsc) -> tuple[WNode | None, bool]:
        node = _instance_current(instance)
        if node is not None and instance.allowed.get(node.name, -INFINITY) < 0:
            return None, False
        return node, True

    def compare(a: WRsc, b: WRsc) -> int:
        n1, n2 = len(nodes_of(a)), len(nodes_of(b))
        if n1 > 0 and n2 > 0 and n1 != n2:
            return -1 if n1 < n2 else 1
        (node1, can1), (node2, can2) = current(a), current(b)
        if can1 != can2:
            return -1 if can1 else 1
        if a.priority != b.priority:
            return -1 if a.priority > b.priority else 1
        if node1 is None and node2 is None:
            return 0
        if node1 is None or node2 is None:
            return 1 if node1 is None else -1
        if node1.available() != node2.available():
            return -1 if node1.available() else 1
        top1, top2 = node1.name in clone.allowed, node2.name in clone.allowed
        if top1 != top2:
            return -1 if top1 else 1
        failed1 = any(p.failed for p in a.primitives())
        failed2 = any(p.failed for p in b.primitives())
        if failed1 != failed2:
            return 1 if failed1 else -1
        return (a.instance_number > b.instance_number) - (a.instance_number < b.instance_number)

    return sorted(clone.children, key=cmp_to_key(compare))


def _reset(working: Working, instance: WRsc) -> None:
    for item in descendants(instance):
        if item.variant == "primitive" and item.assigned is not None:
            item.assigned.num_resources -= 1
            if working.options.placement_strategy != "default":
                utilization.release(item.assigned, item)
        item.assigned = None
        item.provisional = True
        if item.next_role == "Stopped" and item.target_role != "Stopped" and not item.on_fail_stop:
            item.next_role = None


def _can_run(working: Working, clone: WRsc, node: WNode | None, per_node: dict[str, int]) -> bool:
    """can_run_instance: the node runs resources, the clone's own score there is not negative, room is left."""
    return node is not None and node.available() and clone.allowed.get(node.name, -INFINITY) >= 0 \
        and per_node.get(node.name, 0) < clone.clone_node_max


def _allocate_instance(working: Working, clone: WRsc, instance: WRsc, prefer: WNode | None,
                       per_node: dict[str, int]) -> WNode | None:
    """allocate_instance (Pacemaker 2.1.5): only onto prefer when given; nodes it cannot use are banned first."""
    if prefer is not None and instance.allowed.get(prefer.name, -INFINITY) < 0:
        return None
    for item in descendants(instance):
        for name in item.allowed:
            if not _can_run(working, clone, working.node(name), per_node):
                item.allowed[name] = -INFINITY
    saved = {id(i): dict(i.allowed) for i in descendants(instance)}
    if instance.variant == "group":
        chosen = assigning.group_assign(working, instance, prefer)
    else:
        chosen = assigning.primitive_assign(working, instance, prefer)
    if chosen is not None and prefer is not None and chosen is not prefer:
        if instance.variant == "group" and not clone.bundle:      # (a bundle's replica is its container)
            instance.allowed = saved[id(instance)]
            instance.assigned = None
            instance.provisional = True
            return None
        _reset(working, instance)
        for item in descendants(instance):
            item.allowed = saved[id(item)]
        return None
    if chosen is not None:
        per_node[chosen.name] = per_node.get(chosen.name, 0) + 1
    return chosen


def assign_instances(working: Working, clone: WRsc) -> None:
    """distribute_children: instances keep their node while under the per-node optimum, then the rest."""
    per_node: dict[str, int] = {}
    available = [n for n in working.nodes if n.name in clone.allowed and n.available()]
    clone.all_coloc = clone.clone_max < len(available)
    optimal = max(1, clone.clone_max // len(available)) if available else 1
    assigned = 0
    instances = _sorted_instances(working, clone)
    for instance in instances:
        if assigned >= clone.clone_max:
            break
        current = _instance_current(instance)
        if current is None or not all(p.provisional for p in instance.primitives()) \
                or any(p.failed for p in instance.primitives()) or not current.available():
            continue
        if per_node.get(current.name, 0) >= optimal:
            continue
        if _allocate_instance(working, clone, instance, current, per_node) is not None:
            assigned += 1
    for instance in instances:
        if not instance.provisional and not any(p.provisional for p in instance.primitives()):
            continue
        if assigned >= clone.clone_max:
            assigning.assign_resource(working, instance, None, force=True)
            for item in descendants(instance):
                item.next_role = "Stopped"
            continue
        if _allocate_instance(working, clone, instance, None, per_node) is not None:
            assigned += 1


def clone_assign(working: Working, clone: WRsc, prefer: WNode | None = None) -> WNode | None:
    if not clone.provisional or clone.allocating:
        return None
    clone.allocating = True
    for colocation in clone.this_with:          # primaries first; the colocations apply to each instance
        if colocation.primary.provisional:
            assigning.assign(working, colocation.primary)
    for mandatory in (True, False):
        for colocation in scores.with_this_list(clone):
            if assigning.is_mandatory(colocation) == mandatory:
                assigning.add_dependent_scores(working, colocation, clone)
    # a clone's target-role reaches its instances through meta inheritance, where their own can override it
    if clone.promotable:
        _add_promotion_scores(working, clone)
    if not clone.bundle:
        assigning.show_scores(working, "pcmk__clone_allocate", clone)
    assign_instances(working, clone)
    if clone.bundle:
        _nested_connections(working, clone)
    if clone.promotable:
        set_instance_roles(working, clone)
    clone.allocating = False
    clone.provisional = False
    if clone.bundle:        # Pacemaker's bundle assigns each replica's connection right after the containers
        for replica in clone.children:
            connection = working.by_id.get(replica.children[0].guest_node or "") if replica.children else None
            if connection is not None:
                assigning.assign(working, connection)
    return None


def _nested_connections(working: Working, bundle: WRsc) -> None:
    """Pacemaker's bundle assignment: a replica whose container went to a remote or guest node has its
    connection run with that node's own connection (pacemaker-remoted takes one connection at a time)."""
    for replica in bundle.children:
        container = replica.children[0] if replica.children else None
        host = container.assigned if container is not None else None
        connection = working.by_id.get(container.guest_node or "") if container is not None else None
        if host is not None and host.kind != "cluster" and host.remote_rsc is not None and connection is not None:
            relations.new_colocation(working, "child-remote-with-docker-remote", connection, host.remote_rsc,
                                     INFINITY)


def _score_applies(working: Working, clone: WRsc, instance: WRsc, node: WNode) -> bool:
    """promotion_score_applies (2.1.5): an anonymous instance's score counts where it is active, or where no
    instance is active but the resource is known (probed); when nothing is known anywhere, everywhere."""
    primitives = instance.primitives()
    base = _base_of(primitives[0]) if primitives else instance.id
    known = working.known_on.get(base, set())
    allowed = min((p.allowed.get(node.name, -INFINITY) for p in primitives), default=-INFINITY)
    if allowed < 0:
        return False
    running_here = any(node in p.running_on for p in primitives)
    if not clone.unique:
        if running_here:
            return True
        active_here = any(node in p.running_on for p in clone.primitives())
        if not active_here and node.name in known:
            return True
    own = set().union(*(working.instance_known_on.get(p.id, set()) for p in primitives))
    if not any(p.running_on for p in primitives) and not own:
        return True
    return node.name in own or running_here


def _base_of(primitive: WRsc) -> str:
    return primitive.id.rpartition(":")[0] or primitive.id


def _add_promotion_scores(working: Working, clone: WRsc) -> None:
    """pcmk__add_promotion_scores: instances lean towards nodes where they could be promoted."""
    for instance in clone.children:
        for name in list(instance.allowed):
            node = working.node(name)
            if node is None or not node.available() or not _score_applies(working, clone, instance, node):
                continue
            score = _promotion_score(working, instance, node)
            if score is not None and score > 0:
                for item in descendants(instance):
                    if item.variant == "primitive":
                        item.allowed[name] = add_scores(item.allowed.get(name, 0), score)
            if score is not None and score > instance.priority:
                instance.priority = score       # Pacemaker sorts instances by it before assigning them


# -- promotion -------------------------------------------------------------------------------------------------------

def _attribute_node(working: Working, rsc: WRsc, node: WNode) -> WNode:
    """Where a resource's node attributes are read (pe__node_attribute_calculated): a guest's host when the
    resource says container-attribute-target=host (a bundle's wrapped primitive usually does), with no
    attributes while the container is not running."""
    if rsc.meta.get("container-attribute-target") != "host" or node.kind != "guest" or node.remote_rsc is None:
        return node
    container = working.container_of(node.remote_rsc)
    host = container.current if container is not None else None     # where it runs now: none while inactive
    return host or WNode(node.name, node.id, node.kind)


def _promotion_score(working: Working, instance: WRsc, node: WNode) -> int | None:
    # Pacemaker's promotion_score: the name the instance has in its history (else its own), then, for an
    # anonymous clone, the name without the instance number
    names = [f"master-{p.clone_name or p.id}" for p in instance.primitives()]
    clone = instance.clone_parent()
    if clone is None or not clone.unique:
        names += [f"master-{p.id.rpartition(':')[0] or p.id}" for p in instance.primitives()]
    attrs = _attribute_node(working, instance.primitives()[0], node).attrs if instance.primitives() else node.attrs
    for name in names:
        value = attrs.get(name)
        if value is not None:
            try:
                return parse_score(value)
            except Exception:
                return 0
    return None


def _instance_priority(working: Working, clone: WRsc, instance: WRsc, node: WNode) -> int:
    """set_instance_priority: promotion score (-1 when none), role=Promoted locations, role colocations."""
    score = _promotion_score(working, instance, node) if _score_applies(working, clone, instance, node) else None
    priority = score if score is not None else -1
    for where, extra in working.promoted_locations.get(clone.id, []):
        if where == node.name:
            # Pacemaker applies a clone's role=Promoted locations twice, from the instance's copy and the clone's
            priority = add_scores(add_scores(priority, extra), extra)
    for colocation in clone.this_with:
        if colocation.dependent_role != "Promoted":
            continue
        nodes = assigning.primary_nodes(colocation.primary, colocation) or []
        attribute = colocation.node_attribute
        if any(n.attrs.get(attribute) == node.attrs.get(attribute) for n in nodes):
            priority = add_scores(priority, colocation.score)
        elif colocation.score >= INFINITY:
            priority = -INFINITY
    return priority


def _show_promotion_scores(working: Working, clone: WRsc, placed: list[tuple[WRsc, WNode]],
                           sort_index: dict[int, int]) -> None:
    """crm_simulate --show-scores' "INSTANCE promotion score on NODE: SCORE" lines, in the order Pacemaker
    considers the instances for promotion (an instance that will not run: on none, 0)."""
    if working.score_lines is None:
        return
    where = {id(instance): node.name for instance, node in placed}
    listed = sorted(clone.children, key=lambda instance: (
        -sort_index.get(id(instance), 0), 0 if any(p.role == "Promoted" for p in instance.primitives()) else 1,
        instance.instance_number))
    working.score_lines.extend(f"{instance.id} promotion score on {where.get(id(instance), 'none')}: "
                               f"{format_score(sort_index.get(id(instance), 0))}" for instance in listed)


def set_instance_roles(working: Working, clone: WRsc) -> None:
    """pcmk__set_instance_roles: sort instances by promotion priority folded into the clone's node scores."""
    placed: list[tuple[WRsc, WNode]] = []
    sort_index: dict[int, int] = {}
    for instance in clone.children:
        node = assigning.instance_node(instance)
        if node is None:
            continue
        placed.append((instance, node))
        sort_index[id(instance)] = _instance_priority(working, clone, instance, node)
    work = dict(clone.allowed)
    for instance, node in placed:
        if sort_index[id(instance)] >= 0:
            work[node.name] = add_scores(sort_index[id(instance)], work.get(node.name, 0))
    for colocation in clone.this_with:
        if colocation.dependent_role == "Promoted":
            merged = scores.add_colocated_node_scores(working, colocation.primary, work, colocation.node_attribute,
                                                      colocation.score / INFINITY, this_with_mode=True,
                                                      nonnegative=False, active=True)
            work = merged if merged is not None else work
    for colocation in clone.with_this:
        if colocation.primary_role == "Promoted" and scores.has_influence(colocation):
            merged = scores.add_colocated_node_scores(working, colocation.dependent, work, colocation.node_attribute,
                                                      colocation.score / INFINITY, this_with_mode=False,
                                                      nonnegative=True, active=True)
            work = merged if merged is not None else work
    for instance, node in placed:
        if sort_index[id(instance)] >= 0:
            sort_index[id(instance)] = work.get(node.name, 0)
    ordered = sorted(placed, key=lambda pair: (-sort_index[id(pair[0])],
                                               0 if any(p.role == "Promoted" for p in pair[0].primitives()) else 1,
                                               pair[0].instance_number))
    _show_promotion_scores(working, clone, placed, sort_index)
    promoted_per_node: dict[str, int] = {}
    promoted = 0
    # an instance that stays promoted whatever is decided (blocked or unmanaged) takes up a promoted slot
    stuck: set[int] = set()
    for instance in clone.children:
        for primitive in instance.primitives():
            if primitive.role == "Promoted" and (primitive.blocked or not primitive.managed) and primitive.running_on:
                promoted += 1
                where = primitive.running_on[0].name
                promoted_per_node[where] = promoted_per_node.get(where, 0) + 1
                stuck.add(id(instance))
                break
    options = working.options
    quorum_demotes = not options.have_quorum and options.no_quorum_policy == "demote"
    can_promote = clone.target_role not in ("Unpromoted", "Stopped") and not quorum_demotes  # Started allows it
    for instance, node in ordered:
        if id(instance) in stuck:
            continue
        role = "Unpromoted"
        if can_promote and sort_index[id(instance)] >= 0 and promoted < clone.promoted_max \
                and promoted_per_node.get(node.name, 0) < clone.promoted_node_max and _can_be_promoted(instance):
            role = "Promoted"
            promoted += 1
            promoted_per_node[node.name] = promoted_per_node.get(node.name, 0) + 1
        for primitive in instance.primitives():
            if primitive.assigned is not None:
                primitive.next_role = role


def _can_be_promoted(instance: WRsc) -> bool:
    return all(p.target_role not in ("Unpromoted", "Stopped") for p in instance.primitives())
