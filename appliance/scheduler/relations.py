"""Colocation and ordering relations between working resources, from constraints and implied by structure.

Rules: unpacks rsc_colocation (plain and resource sets, as Pacemaker's
unpack_colocation_set/colocate_rsc_sets do) into Colocation objects hung on
both resources; orders become Order records (first/then action, kind);
groups imply "member with previous member" (INFINITY) and start orderings;
guest connections are colocated with and ordered after their container.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from appliance.model.cluster import Cib
from appliance.model.constraints import Colocation as ColocationConstraint
from appliance.model.constraints import Order as OrderConstraint
from appliance.model.constraints import ResourceSet
from appliance.model.values import INFINITY
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import Colocation, WRsc


@dataclass
class Order:
    id: str
    first: WRsc
    first_action: str
    then: WRsc
    then_action: str
    mandatory: bool
    symmetrical: bool = True
    first_min: int = 1        # a clone first: instances that must be active (its clone-min) for then to start
    any_of: tuple[WRsc, ...] = ()   # a set with require-all=false: then needs one of these (first is one of them)


def _role(role: str | None) -> str:
    return "Unknown" if role in (None, "Started") else role


def new_colocation(working: Working, cid: str, dependent: WRsc | None, primary: WRsc | None, score: int,
                   dependent_role: str | None = None, primary_role: str | None = None,
                   node_attribute: str | None = None, influence: bool | None = None) -> None:
    if score == 0 or dependent is None or primary is None:
        return
    colocation = Colocation(cid, dependent, primary, score, _role(dependent_role), _role(primary_role),
                            node_attribute or "#uname", dependent.critical if influence is None else influence)
    dependent.this_with.append(colocation)
    primary.with_this.append(colocation)


def _set_members(working: Working, resource_set: ResourceSet) -> list[WRsc]:
    return [r for r in (working.by_id.get(rid) for rid in resource_set.resources) if r is not None]


def _colocation_sets(working: Working, constraint: ColocationConstraint) -> None:
    sets = constraint.sets
    for resource_set in sets:
        score = resource_set.score if resource_set.score is not None else constraint.score
        members = _set_members(working, resource_set)
        role = resource_set.role
        if score == 0 or resource_set.sequential is False:
            continue
        if score > 0:
            for previous, current in itertools.pairwise(members):
                new_colocation(working, resource_set.id, current, previous, score, role, role,
                               influence=constraint.influence)
        else:
            for index, current in enumerate(members):
                for previous in members[:index]:
                    new_colocation(working, resource_set.id, current, previous, score, role, role,
                                   influence=constraint.influence)
    for first_set, second_set in itertools.pairwise(sets):
        first_members, second_members = _set_members(working, first_set), _set_members(working, second_set)
        if not first_members or not second_members:
            continue
        rsc_1 = first_members[0] if first_set.sequential is not False else None
        rsc_2 = second_members[-1] if second_set.sequential is not False else None
        if rsc_1 is not None and rsc_2 is not None:
            pairs = [(rsc_1, rsc_2)]
        elif rsc_1 is not None:
            pairs = [(rsc_1, other) for other in second_members]
        elif rsc_2 is not None:
            pairs = [(other, rsc_2) for other in first_members]
        else:
            pairs = [(a, b) for a in first_members for b in second_members]
        for dependent, primary in pairs:
            new_colocation(working, constraint.id, dependent, primary, constraint.score, first_set.role,
                           second_set.role, influence=constraint.influence)


def _order_kind(constraint: OrderConstraint) -> bool:
    if constraint.kind is not None:
        return constraint.kind == "Mandatory"
    if constraint.score is not None:
        return constraint.score > 0
    return True


def _order_sets(working: Working, constraint: OrderConstraint, orders: list[Order]) -> None:
    mandatory = _order_kind(constraint)
    symmetrical = constraint.symmetrical is not False
    for resource_set in constraint.sets:
        if resource_set.sequential is False:
            continue
        members = _set_members(working, resource_set)
        action = resource_set.action or "start"
        for first, then in itertools.pairwise(members):
            orders.append(Order(resource_set.id, first, action, then, action, mandatory, symmetrical))
    for first_set, second_set in zip(constraint.sets, constraint.sets[1:], strict=False):
        first_members, second_members = _set_members(working, first_set), _set_members(working, second_set)
        if not first_members or not second_members:
            continue
        lasts = [first_members[-1]] if first_set.sequential is not False else first_members
        firsts = [second_members[0]] if second_set.sequential is not False else second_members
        one_of = tuple(lasts) if first_set.require_all is False and len(lasts) > 1 else ()
        for first in lasts[:1] if one_of else lasts:
            for then in firsts:
                orders.append(Order(constraint.id, first, first_set.action or "start", then,
                                    second_set.action or "start", mandatory, symmetrical, any_of=one_of))


def _clone_min(first: WRsc) -> int:
    """A clone 'first' with clone-min N: 'then' needs N of its instances started, as Pacemaker's
    clone-one-or-more pseudo-action has it."""
    if first.variant != "clone":
        return 1
    try:
        return max(int(first.meta.get("clone-min") or 1), 1)
    except ValueError:
        return 1


def build(working: Working, cib: Cib) -> list[Order]:
    orders: list[Order] = []
    for top in working.resources:
        _structural(working, top, orders)
    for constraint in cib.configuration.constraints:
        if isinstance(constraint, ColocationConstraint):
            if constraint.sets:
                _colocation_sets(working, constraint)
            else:
                new_colocation(working, constraint.id, working.by_id.get(constraint.rsc or ""),
                               working.by_id.get(constraint.with_rsc or ""), constraint.score, constraint.rsc_role,
                               constraint.with_rsc_role, constraint.node_attribute, constraint.influence)
        elif isinstance(constraint, OrderConstraint):
            if constraint.sets:
                _order_sets(working, constraint, orders)
                continue
            first, then = working.by_id.get(constraint.first or ""), working.by_id.get(constraint.then or "")
            if first is None or then is None:
                continue
            first_action = constraint.first_action or "start"
            then_action = constraint.then_action or first_action
            # require-all=false: then needs one instance of a clone first, anywhere (not per node, even interleaved)
            one_of = (first,) if constraint.require_all is False and first.variant == "clone" else ()
            orders.append(Order(constraint.id, first, first_action, then, then_action, _order_kind(constraint),
                                constraint.symmetrical is not False, _clone_min(first), one_of))
    return orders


def _structural(working: Working, rsc: WRsc, orders: list[Order]) -> None:
    if rsc.variant == "group" and rsc.parent is not None and rsc.parent.bundle and len(rsc.children) == 2:
        # a bundle replica's container and IP (Pacemaker's bundle constraints): the IP runs with its container
        # and starts before it (so a container recovered in place keeps its IP)
        container, ip = rsc.children
        new_colocation(working, f"{rsc.id}-ip-with-container", ip, container, INFINITY, influence=True)
        orders.append(Order(f"{rsc.id}-ip-then-container", ip, "start", container, "start", True))
    elif rsc.variant == "group":
        for previous, member in zip(rsc.children, rsc.children[1:], strict=False):
            new_colocation(working, f"{rsc.id}-internal", member, previous, INFINITY)  # influence: critical
            orders.append(Order(f"{rsc.id}-internal", previous, "start", member, "start", True))
    for child in rsc.children:
        _structural(working, child, orders)
    # a guest's connection, and any primitive with meta container= (a "filler"), runs with its container
    container_id = rsc.meta.get("container") if rsc.variant == "primitive" else None
    if container_id:
        container = working.by_id.get(container_id)
        if container is not None:
            # Pacemaker: a bundle's connection prefers its container's host (10000) but may run elsewhere, so
            # containers can run on remote nodes; a clean, active container does not follow its connection
            # (one on a host to be fenced counts as failed, as Pacemaker marks it)
            bundled = rsc.is_remote_connection and container.top().bundle
            influence = not bundled or container.failed or len(container.running_on) != 1 \
                or container.running_on[0].unclean
            new_colocation(working, f"{rsc.id}-container", rsc, container, 10_000 if bundled else INFINITY,
                           influence=influence)
            orders.append(Order(f"{rsc.id}-container", container, "start", rsc, "start", True))
