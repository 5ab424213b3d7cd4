"""Moving existing resources into and out of groups and clones: pcs's `resource group add`, `group delete|remove`
(`ungroup`), `clone`, `promotable` and `unclone`.

Rules: pcs 0.11's semantics and messages. A primitive moved into a group leaves
its old group (an emptied group goes, with its clone; refused while constraints
or tags name them). Ungrouping puts the primitives at the end of the resources
(back into the clone of a cloned one-member group); an emptied group goes with
the constraints and tag references naming it. Cloning wraps a primitive or
group and renames it to the clone in location, colocation and order
constraints' rsc/with-rsc/first/then, as pcs does; uncloning puts the child at
the end of the resources and drops what named the clone. Each function returns
the new configuration and the ids of the constraints it removed.
"""

from __future__ import annotations

import dataclasses

from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration, all_ids
from appliance.model.constraints import Colocation, Location, Order, referenced_resources
from appliance.model.edits import drop_references
from appliance.model.resources import Clone, Group, Primitive, Resource, parents, walk
from appliance.model.values import ModelError, check_id

Removed = tuple[str, ...]


def _listed(ids: list[str]) -> str:
    return ", ".join(f"'{i}'" for i in sorted(ids))


def _plural(ids: list[str], word: str, plural: str | None = None) -> str:
    return word if len(ids) == 1 else (plural or word + "s")


def _take(resources: tuple[Resource, ...], rids: set[str]) -> tuple[Resource, ...]:
    """The tree without the primitives `rids` (their groups stay, even emptied: the caller decides)."""
    result: list[Resource] = []
    for resource in resources:
        if isinstance(resource, Primitive):
            if resource.id not in rids:
                result.append(resource)
        elif isinstance(resource, Group):
            result.append(dataclasses.replace(resource, members=tuple(m for m in resource.members
                                                                      if m.id not in rids)))
        else:
            child = resource.child
            if isinstance(child, Group):
                result.append(dataclasses.replace(resource, child=_take((child,), rids)[0]))
            elif child.id not in rids:
                result.append(resource)
    return tuple(result)


def _replace_tree(resources: tuple[Resource, ...], rid: str, replacement: Resource | None) -> tuple[Resource, ...]:
    """The tree with the resource `rid` replaced (or dropped, for None) wherever it is."""
    result: list[Resource] = []
    for resource in resources:
        if resource.id == rid:
            if replacement is not None:
                result.append(replacement)
        elif isinstance(resource, Group):
            result.append(resource)
        elif isinstance(resource, Clone):
            inner = _replace_tree((resource.child,), rid, replacement)
            if inner:
                result.append(dataclasses.replace(resource, child=inner[0]))  # type: ignore[arg-type]
        else:
            result.append(resource)
    return tuple(result)


def _referencing(configuration: Configuration, ids: set[str]) -> list[str]:
    """Constraints and tags that name any of `ids`."""
    named = [c.id for c in configuration.constraints if ids & set(referenced_resources(c))]
    return named + [t.id for t in configuration.tags if ids & set(t.refs)]


# -- group add ---------------------------------------------------------------------------------------------------------

def _movable_to_group(configuration: Configuration, rid: str, parent_of: dict[str, str]) -> Primitive:
    resource = configuration.resource(rid)
    if resource is None:
        raise ModelError(f"'{rid}' does not exist")
    if not isinstance(resource, Primitive):
        kind = "group" if isinstance(resource, Group) else "clone"
        raise ModelError(f"'{rid}' is a {kind} resource, {kind} resources cannot be put into a group")
    parent = configuration.resource(parent_of[rid]) if rid in parent_of else None
    if isinstance(parent, Clone):
        raise ModelError(f"'{rid}' cannot be put into a group because its parent '{parent.id}' is a clone resource")
    return resource


def _target_group(configuration: Configuration, group_id: str) -> Group:
    existing = configuration.resource(group_id)
    if isinstance(existing, Group):
        return existing
    if existing is not None or any(ident == group_id for ident, _ in all_ids(configuration)):
        raise ModelError(f"'{group_id}' is not a group")
    check_id(group_id, "group name")
    return Group(group_id, ())


def group_add(configuration: Configuration, group_id: str, rids: list[str], adjacent: str | None = None,
              after: bool = True) -> tuple[Configuration, Removed]:
    """Put primitives into a group (created at the end if missing) or move them within it; `adjacent`: beside
    that member, in the order given."""
    if not rids:
        raise ModelError(f"Cannot modify group '{group_id}', no resources to add or remove specified")
    if adjacent is not None and configuration.resource(adjacent) is None:
        raise ModelError(f"'{adjacent}' does not exist")
    group = _target_group(configuration, group_id)
    parent_of = parents(configuration.resources)
    moving = [_movable_to_group(configuration, rid, parent_of) for rid in rids]
    duplicates = sorted({rid for rid in rids if rids.count(rid) > 1})
    if duplicates:
        raise ModelError(f"Resources to add or remove must be unique, duplicate resources: {_listed(duplicates)}")
    members = [m.id for m in group.members]
    present = sorted(set(rids) & set(members))
    if adjacent is None and present:
        they, are = ("it", "is") if len(present) == 1 else ("they", "are")
        raise ModelError(f"Cannot add {_plural(present, 'resource')} {_listed(present)}, {they} {are} already "
                         f"present in group '{group_id}'")
    if adjacent is not None and adjacent not in members:
        raise ModelError(f"There is no resource '{adjacent}' in the group '{group_id}', cannot add resources next "
                         "to it")
    if adjacent in rids:
        raise ModelError(f"Cannot put resource '{adjacent}' next to itself")
    emptied = _emptied_groups(configuration, set(rids), group_id, parent_of)
    resources = _take(configuration.resources, set(rids))
    for old in emptied:
        resources = _replace_tree(resources, parent_of.get(old, old) if _is_cloned(configuration, old, parent_of)
                                  else old, None)
    kept = [m for m in group.members if m.id not in rids]
    position = len(kept) if adjacent is None else [m.id for m in kept].index(adjacent) + (1 if after else 0)
    kept[position:position] = moving
    updated = dataclasses.replace(group, members=tuple(kept))
    if configuration.resource(group_id) is None:
        resources = (*resources, updated)
    else:
        resources = _replace_tree(resources, group_id, updated)
    return dataclasses.replace(configuration, resources=resources), ()


def _is_cloned(configuration: Configuration, rid: str, parent_of: dict[str, str]) -> bool:
    return rid in parent_of and isinstance(configuration.resource(parent_of[rid]), Clone)


def _emptied_groups(configuration: Configuration, moving: set[str], target: str, parent_of: dict[str, str]
                    ) -> list[str]:
    """The other groups that `moving` leaves empty; refused while something names them (or their clone)."""
    emptied = []
    for resource in walk(configuration.resources):
        if isinstance(resource, Group) and resource.id != target and resource.members \
                and {m.id for m in resource.members} <= moving:
            gone = {resource.id, parent_of[resource.id]} if _is_cloned(configuration, resource.id, parent_of) \
                else {resource.id}
            if _referencing(configuration, gone):
                inner = [m.id for m in resource.members]
                raise ModelError(f"Unable to move {_plural(inner, 'resource')} {_listed(inner)} as it would leave "
                                 f"group '{resource.id}' empty.")
            emptied.append(resource.id)
    return emptied


# -- ungroup -----------------------------------------------------------------------------------------------------------

def ungroup(configuration: Configuration, group_id: str, rids: list[str]) -> tuple[Configuration, Removed]:
    """pcs resource ungroup / group delete / group remove: take primitives (all when none given) out of a group."""
    group = configuration.resource(group_id)
    if not isinstance(group, Group):
        raise ModelError(f"Group '{group_id}' does not exist")
    members = [m.id for m in group.members]
    for rid in rids:
        if rid not in members:
            raise ModelError(f"Resource '{rid}' does not exist in group '{group_id}'")
    moving = [m for m in group.members if m.id in rids] if rids else list(group.members)
    moving.sort(key=lambda m: rids.index(m.id) if rids else 0)
    parent_of = parents(configuration.resources)
    cloned = _is_cloned(configuration, group_id, parent_of)
    if cloned and len(members) > 1 and len(moving) == len(members):
        raise ModelError("Cannot remove all resources from a cloned group")
    resources = _take(configuration.resources, {m.id for m in moving})
    if cloned and len(members) == 1:
        clone = configuration.resource(parent_of[group_id])
        assert isinstance(clone, Clone)
        resources = _replace_tree(resources, clone.id, dataclasses.replace(clone, child=moving[0]))
        return _without_group(configuration, resources, group_id)
    resources = (*resources, *moving)
    if len(moving) == len(members):
        return _without_group(configuration, _replace_tree(resources, group_id, None), group_id)
    return dataclasses.replace(configuration, resources=resources), ()


def _without_group(configuration: Configuration, resources: tuple[Resource, ...], group_id: str
                   ) -> tuple[Configuration, Removed]:
    return drop_references(dataclasses.replace(configuration, resources=resources), {group_id})


# -- clone, promotable, unclone ----------------------------------------------------------------------------------------

def clone(configuration: Configuration, rid: str, clone_id: str | None, meta: Attributes) -> tuple[Configuration,
                                                                                                    Removed]:
    """Wrap primitive or group `rid` in a new clone (id `clone_id`, or RID-clone made unique)."""
    resource = configuration.resource(rid)
    if not isinstance(resource, Primitive | Group):
        raise ModelError(f"unable to find group or resource: {rid}")
    parent_of = parents(configuration.resources)
    parent = configuration.resource(parent_of[rid]) if rid in parent_of else None
    if isinstance(parent, Clone):
        raise ModelError(f"{rid} is already a clone resource" if isinstance(resource, Primitive)
                         else "cannot clone a group that has already been cloned")
    taken = {ident for ident, _ in all_ids(configuration)}
    if clone_id is not None:
        check_id(clone_id, "clone id")
        if clone_id in taken:
            raise ModelError(f"id '{clone_id}' already exists")
    else:
        clone_id, suffix = f"{rid}-clone", 1
        while clone_id in taken:
            clone_id, suffix = f"{rid}-clone-{suffix}", suffix + 1
    removed: Removed = ()
    if isinstance(parent, Group) and len(parent.members) == 1:
        resources = _replace_tree(configuration.resources, parent.id, None)
        configuration, removed = drop_references(dataclasses.replace(configuration, resources=resources),
                                                 {parent.id})
    elif isinstance(parent, Group):
        configuration = dataclasses.replace(configuration, resources=_take(configuration.resources, {rid}))
    else:
        configuration = dataclasses.replace(configuration,
                                            resources=_replace_tree(configuration.resources, rid, None))
    wrapped = Clone(clone_id, resource, Attributes.of(sorted(meta)))
    renamed = tuple(_renamed(c, rid, clone_id) for c in configuration.constraints)
    return dataclasses.replace(configuration, resources=(*configuration.resources, wrapped),
                               constraints=renamed), removed


def _renamed(constraint, old: str, new: str):
    """pcs's constraint_resource_update: the plain references of location, colocation and order constraints."""
    fields = {Location: ("rsc",), Colocation: ("rsc", "with_rsc"), Order: ("first", "then")}.get(type(constraint), ())
    changes = {name: new for name in fields if getattr(constraint, name) == old}
    return dataclasses.replace(constraint, **changes) if changes else constraint


def unclone(configuration: Configuration, name: str) -> tuple[Configuration, Removed]:
    """Take the primitive or group out of its clone (NAME: the clone, or what it wraps); the clone goes with what
    names it. A primitive of a cloned group with other members leaves the group instead."""
    resource = configuration.resource(name)
    if isinstance(resource, Clone):
        resource = resource.child
    if resource is None:
        raise ModelError(f"could not find resource: {name}")
    parent_of = parents(configuration.resources)
    owner = parent_of.get(resource.id)
    if isinstance(configuration.resource(owner or ""), Group):
        group = configuration.resource(owner or "")
        owner = parent_of.get(group.id)
    clone_resource = configuration.resource(owner or "")
    if not isinstance(clone_resource, Clone):
        raise ModelError(f"'{name}' is not a clone resource")
    child = clone_resource.child
    if isinstance(child, Group) and isinstance(resource, Primitive) and len(child.members) > 1:
        return ungroup(configuration, child.id, [resource.id])
    resources = _replace_tree(configuration.resources, clone_resource.id, None)
    return drop_references(dataclasses.replace(configuration, resources=(*resources, child)), {clone_resource.id})
