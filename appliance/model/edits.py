"""Pure configuration edits behind the pcs-style CLI.

Rules: every function takes a Configuration and returns a new one (or raises
ModelError with a message a pcs user recognises); ids are generated the way pcs
generates them; nothing here touches storage or the clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection

from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration, all_ids
from appliance.model.constraints import Colocation, Constraint, Location, Order, referenced_resources
from appliance.model.nodes import Node
from appliance.model.resources import Clone, Group, Primitive, Resource, walk
from appliance.model.values import INFINITY, ModelError, check_id, format_score, sanitize_id, shown

Edit = Callable[[Configuration], Configuration]


def unique_id(configuration: Configuration, wanted: str, also_taken: Collection[str] = ()) -> str:
    """`wanted` (made a valid id), or wanted-1, wanted-2, ... if the configuration (or `also_taken`) has it."""
    taken = {ident for ident, _ in all_ids(configuration)} | set(also_taken)
    candidate, suffix = sanitize_id(wanted), 1
    while candidate in taken:
        candidate = f"{sanitize_id(wanted)}-{suffix}"
        suffix += 1
    return candidate


def require_resource(configuration: Configuration, rid: str) -> Resource:
    resource = configuration.resource(rid)
    if resource is None:
        raise ModelError(f"resource {shown(rid, 80)} does not exist")
    return resource


def ensure_node(configuration: Configuration, name: str, node_type: str = "member", node_id: str | None = None
                ) -> Configuration:
    if configuration.node(name) is not None:
        return configuration
    if node_id is None:
        numeric = [int(n.id) for n in configuration.nodes if n.id.isdigit()]
        node_id = str(max(numeric, default=0) + 1) if node_type == "member" else name
    return dataclasses.replace(configuration, nodes=(*configuration.nodes, Node(name, node_id, node_type)))


# -- resources ---------------------------------------------------------------------------------------------------------

def add_resource(configuration: Configuration, resource: Resource, group: str | None = None) -> Configuration:
    if configuration.resource(resource.id) is not None:
        raise ModelError(f"'{resource.id}' already exists")
    if group is None:
        return dataclasses.replace(configuration, resources=(*configuration.resources, resource))
    if not isinstance(resource, Primitive):
        raise ModelError("only primitives can be put in a group")
    check_id(group, "group name")
    existing = configuration.resource(group)
    if existing is None:
        return dataclasses.replace(configuration, resources=(*configuration.resources, Group(group, (resource,))))
    if not isinstance(existing, Group):
        raise ModelError(f"'{group}' is not a group")
    updated = dataclasses.replace(existing, members=(*existing.members, resource))
    return replace_resource(configuration, updated)


def _replace_in(resources: tuple[Resource, ...], updated: Resource) -> tuple[Resource, ...]:
    result: list[Resource] = []
    for resource in resources:
        if resource.id == updated.id:
            result.append(updated)
        elif isinstance(resource, Group):
            members = _replace_in(resource.members, updated)
            result.append(dataclasses.replace(resource, members=members))  # type: ignore[arg-type]
        elif isinstance(resource, Clone):
            result.append(dataclasses.replace(resource, child=_replace_in((resource.child,), updated)[0]))
        else:
            result.append(resource)
    return tuple(result)


def replace_resource(configuration: Configuration, updated: Resource) -> Configuration:
    require_resource(configuration, updated.id)
    return dataclasses.replace(configuration, resources=_replace_in(configuration.resources, updated))


def _without(resources: tuple[Resource, ...], rid: str) -> tuple[Resource, ...]:
    result: list[Resource] = []
    for resource in resources:
        if resource.id == rid:
            continue
        if isinstance(resource, Group):
            members = tuple(m for m in resource.members if m.id != rid)
            if members:
                result.append(dataclasses.replace(resource, members=members))
        elif isinstance(resource, Clone):
            inner = _without((resource.child,), rid)
            if inner:
                result.append(dataclasses.replace(resource, child=inner[0]))
        else:
            result.append(resource)
    return tuple(result)


def delete_resource(configuration: Configuration, rid: str) -> tuple[Configuration, tuple[str, ...]]:
    """Remove a resource (an emptied group or clone goes too) and the constraints that name what was removed."""
    require_resource(configuration, rid)
    remaining = _without(configuration.resources, rid)
    kept_ids = {r.id for r in walk(remaining)}
    gone = {r.id for r in walk(configuration.resources)} - kept_ids
    removed = tuple(c.id for c in configuration.constraints if gone & set(referenced_resources(c)))
    constraints = tuple(c for c in configuration.constraints if c.id not in removed)
    return dataclasses.replace(configuration, resources=remaining, constraints=constraints), removed


def set_meta(configuration: Configuration, rid: str, name: str, value: str | None) -> Configuration:
    resource = require_resource(configuration, rid)
    meta = resource.meta.set(name, value) if value is not None else resource.meta.without(name)
    return replace_resource(configuration, dataclasses.replace(resource, meta=meta))


# -- constraints -------------------------------------------------------------------------------------------------------

def _same(a: Constraint, b: Constraint) -> bool:
    return type(a) is type(b) and dataclasses.replace(a, id="") == dataclasses.replace(b, id="")  # type: ignore


def _check_not_itself(constraint: Constraint) -> None:
    if isinstance(constraint, Colocation) and constraint.rsc is not None and constraint.rsc == constraint.with_rsc:
        raise ModelError(f"resource '{constraint.rsc}' cannot be colocated with itself")
    if isinstance(constraint, Order) and constraint.first is not None and constraint.first == constraint.then:
        raise ModelError(f"resource '{constraint.first}' cannot be ordered before or after itself")


def add_constraint(configuration: Configuration, constraint: Constraint, allow_duplicate: bool = False
                   ) -> Configuration:
    for rid in referenced_resources(constraint):
        require_resource(configuration, rid)
    _check_not_itself(constraint)
    if configuration.constraint(constraint.id) is not None:
        raise ModelError(f"constraint id '{constraint.id}' already exists")
    if not allow_duplicate:
        for existing in configuration.constraints:
            if _same(existing, constraint):
                raise ModelError(f"duplicate constraint already exists ({existing.id}), use --force to override")
    return dataclasses.replace(configuration, constraints=(*configuration.constraints, constraint))


def remove_constraints(configuration: Configuration, keep: Callable[[Constraint], bool]) -> Configuration:
    return dataclasses.replace(configuration, constraints=tuple(c for c in configuration.constraints if keep(c)))


def location_id(configuration: Configuration, rsc: str, node: str, score: int) -> str:
    return unique_id(configuration, f"location-{rsc}-{node}-{format_score(score)}")


def colocation_id(configuration: Configuration, rsc: str, with_rsc: str, score: int) -> str:
    return unique_id(configuration, f"colocation-{rsc}-{with_rsc}-{format_score(score)}")


def order_id(configuration: Configuration, first: str, then: str, kind: str) -> str:
    return unique_id(configuration, f"order-{first}-{then}-{kind.lower()}")


def move(configuration: Configuration, rid: str, node: str) -> Configuration:
    """crm_resource --move: a cli-prefer-RSC location of +INFINITY on NODE (replacing an earlier one)."""
    require_resource(configuration, rid)
    prefer_id = f"cli-prefer-{rid}"
    configuration = remove_constraints(configuration, lambda c: c.id != prefer_id)
    return add_constraint(configuration, Location(prefer_id, rsc=rid, node=node, score=INFINITY, role="Started"),
                          allow_duplicate=True)


def ban(configuration: Configuration, rid: str, node: str) -> Configuration:
    """crm_resource --ban: a cli-ban-RSC-on-NODE location of -INFINITY."""
    require_resource(configuration, rid)
    ban_id = sanitize_id(f"cli-ban-{rid}-on-{node}")
    configuration = remove_constraints(configuration, lambda c: c.id != ban_id)
    return add_constraint(configuration, Location(ban_id, rsc=rid, node=node, score=-INFINITY, role="Started"),
                          allow_duplicate=True)


def clear(configuration: Configuration, rid: str, node: str | None = None) -> tuple[Configuration, tuple[str, ...]]:
    """crm_resource --clear: drop the cli-prefer/cli-ban constraints move and ban made (on NODE only if given)."""
    require_resource(configuration, rid)

    def made_by_cli(c: Constraint) -> bool:
        if not isinstance(c, Location) or c.rsc != rid or (node is not None and c.node != node):
            return False
        return c.id == f"cli-prefer-{rid}" or c.id.startswith(f"cli-ban-{rid}-on-")

    removed = tuple(c.id for c in configuration.constraints if made_by_cli(c))
    return remove_constraints(configuration, lambda c: not made_by_cli(c)), removed


# -- nodes and options -------------------------------------------------------------------------------------------------

def set_node_attribute(configuration: Configuration, node: str, name: str, value: str | None) -> Configuration:
    """A permanent node attribute; guest and remote nodes get a type=remote <node> to hold it."""
    info = configuration.node_info(node)
    if configuration.node(node) is None:
        if info is None:
            raise ModelError(f"node '{node}' does not exist")
        if value is None:
            return configuration
        configuration = ensure_node(configuration, node, "remote" if info.kind != "cluster" else "member")
    existing = configuration.node(node)
    assert existing is not None
    attributes = existing.attributes.set(name, value) if value is not None else existing.attributes.without(name)
    updated = dataclasses.replace(existing, attributes=attributes)
    return dataclasses.replace(configuration, nodes=tuple(updated if n.name == node else n
                                                          for n in configuration.nodes))


def set_option(configuration: Configuration, section: str, name: str, value: str | None) -> Configuration:
    field_name = {"cluster": "cluster_options", "rsc_defaults": "rsc_defaults", "op_defaults": "op_defaults"}[section]
    current: Attributes = getattr(configuration, field_name)
    updated = current.set(name, value) if value is not None else current.without(name)
    return dataclasses.replace(configuration, **{field_name: updated})
