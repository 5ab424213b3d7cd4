"""Pure configuration edits behind the pcs-style CLI.

Rules: every function takes a Configuration and returns a new one (or raises
ModelError with a message a pcs user recognises); ids are generated the way pcs
generates them; nothing here touches storage or the clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection

from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration, all_ids, rule_set_owners
from appliance.model.constraints import Colocation, Constraint, Location, Order, referenced_resources
from appliance.model.nodes import Node
from appliance.model.references import Tag, reapplied
from appliance.model.resources import Clone, Group, Primitive, Resource, Template, walk
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


def require_constrainable(configuration: Configuration, rid: str) -> None:
    """What a constraint may name: a resource, a tag or a template (those two stand for their resources)."""
    if configuration.tag(rid) is None and configuration.template(rid) is None:
        require_resource(configuration, rid)


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


def add_template(configuration: Configuration, template: Template) -> Configuration:
    if configuration.template(template.id) is not None:
        raise ModelError(f"template '{template.id}' already exists")
    return dataclasses.replace(configuration, templates=(*configuration.templates, template))


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
    if isinstance(updated, Primitive) and updated.template is not None:
        template = configuration.template(updated.template.template)
        if template is not None:
            updated = reapplied(updated, template)
    return _without_orphan_rule_sets(dataclasses.replace(configuration,
                                                         resources=_replace_in(configuration.resources, updated)))


def _without_orphan_rule_sets(configuration: Configuration) -> Configuration:
    """Attribute sets with rules go with their owner (a deleted resource, operation or node)."""
    if not configuration.rule_sets:
        return configuration
    owners = rule_set_owners(configuration)
    kept = tuple(s for s in configuration.rule_sets if s.owner in owners)
    return dataclasses.replace(configuration, rule_sets=kept) if len(kept) != len(configuration.rule_sets) \
        else configuration


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


def drop_references(configuration: Configuration, gone: set[str]) -> tuple[Configuration, tuple[str, ...]]:
    """Without the constraints naming `gone` and without `gone` in tags (an emptied tag goes too, and what names
    it), as pcs removes a deleted resource's references. Returns the removed constraints' ids too."""
    tags = tuple(dataclasses.replace(tag, refs=tuple(ref for ref in tag.refs if ref not in gone))
                 for tag in configuration.tags)
    gone = gone | {tag.id for tag in tags if not tag.refs}
    removed = tuple(c.id for c in configuration.constraints if gone & set(referenced_resources(c)))
    return _without_orphan_rule_sets(dataclasses.replace(
        configuration, constraints=tuple(c for c in configuration.constraints if c.id not in removed),
        tags=tuple(tag for tag in tags if tag.refs))), removed


def delete_resource(configuration: Configuration, rid: str) -> tuple[Configuration, tuple[str, ...]]:
    """Remove a resource (an emptied group or clone goes too), it from tags (an emptied tag goes too, as pcs does)
    and the constraints that name what was removed."""
    require_resource(configuration, rid)
    remaining = _without(configuration.resources, rid)
    kept_ids = {r.id for r in walk(remaining)}
    gone = {r.id for r in walk(configuration.resources)} - kept_ids
    return drop_references(dataclasses.replace(configuration, resources=remaining), gone)


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
        require_constrainable(configuration, rid)
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


# -- tags (pcs tag) ----------------------------------------------------------------------------------------------------

def _taggable(configuration: Configuration, ids: list[str]) -> None:
    for rid in ids:
        if configuration.resource(rid) is None:
            raise ModelError(f"bundle/clone/group/primitive '{rid}' does not exist")


def _no_duplicates(ids: list[str], action: str) -> None:
    duplicates = sorted({rid for rid in ids if ids.count(rid) > 1})
    if duplicates:
        raise ModelError(f"Ids to {action} must be unique, duplicate ids: {', '.join(map(shown, duplicates))}")


def require_tag(configuration: Configuration, tag_id: str) -> Tag:
    tag = configuration.tag(tag_id)
    if tag is None:
        raise ModelError(f"tag '{tag_id}' does not exist")
    return tag


def create_tag(configuration: Configuration, tag_id: str, ids: list[str]) -> Configuration:
    check_id(tag_id, "tag id")
    if any(ident == tag_id for ident, _ in all_ids(configuration)):
        raise ModelError(f"'{tag_id}' already exists")
    if not ids:
        raise ModelError("Cannot create empty tag, no resource ids specified")
    if tag_id in ids:
        raise ModelError("Tag cannot contain itself")
    _taggable(configuration, ids)
    _no_duplicates(ids, "add")
    return dataclasses.replace(configuration, tags=(*configuration.tags, Tag(tag_id, tuple(ids))))


def constraints_naming(configuration: Configuration, ident: str) -> list[str]:
    return sorted(c.id for c in configuration.constraints if ident in referenced_resources(c))


def remove_tags(configuration: Configuration, tag_ids: list[str]) -> Configuration:
    if not tag_ids:
        raise ModelError("Cannot remove tags, no tags to remove specified")
    for tag_id in tag_ids:
        require_tag(configuration, tag_id)
        naming = constraints_naming(configuration, tag_id)
        if naming:
            word = "constraint" if len(naming) == 1 else "constraints"
            raise ModelError(f"Tag '{tag_id}' cannot be removed because it is referenced in {word} "
                             f"{', '.join(map(shown, naming))}")
    return dataclasses.replace(configuration, tags=tuple(t for t in configuration.tags if t.id not in tag_ids))


def update_tag(configuration: Configuration, tag_id: str, add: list[str], remove: list[str],
               adjacent: str | None = None, after: bool = True) -> Configuration:
    """pcs tag update: add ids (at the end, or moved/put before or after `adjacent`), remove ids."""
    tag = require_tag(configuration, tag_id)
    if not add and not remove:
        raise ModelError("Cannot update tag, no ids to be added or removed specified")
    if adjacent is not None and not add:
        raise ModelError(f"Cannot specify adjacent id '{adjacent}' without ids to add")
    common = sorted(set(add) & set(remove))
    if common:
        raise ModelError(f"Ids cannot be added and removed at the same time: {', '.join(map(shown, common))}")
    if adjacent is not None:
        if adjacent not in tag.refs:
            raise ModelError(f"There is no reference id '{adjacent}' in the tag '{tag_id}', cannot put reference "
                             "ids next to it in the tag")
        if adjacent in add:
            raise ModelError(f"Cannot put id '{adjacent}' next to itself.")
        if adjacent in remove:
            raise ModelError(f"Cannot remove id '{adjacent}' next to which ids are being added")
    _no_duplicates(add, "add")
    _taggable(configuration, add)
    present = sorted(rid for rid in add if rid in tag.refs)
    if present and adjacent is None:
        ids = "id" if len(present) == 1 else "ids"
        raise ModelError(f"Cannot add reference {ids} already in the tag '{tag_id}': {', '.join(map(shown, present))}")
    _no_duplicates(remove, "remove")
    missing = sorted(rid for rid in set(remove) if rid not in tag.refs)
    if missing:
        ids = "id" if len(missing) == 1 else "ids"
        raise ModelError(f"Tag '{tag_id}' does not contain {ids}: {', '.join(map(shown, missing))}")
    refs = [rid for rid in tag.refs if rid not in remove and rid not in add]
    if not refs and not add:
        raise ModelError(f"There would be no references left in the tag '{tag_id}'")
    position = len(refs) if adjacent is None else refs.index(adjacent) + (1 if after else 0)
    refs[position:position] = add
    updated = dataclasses.replace(tag, refs=tuple(refs))
    return dataclasses.replace(configuration, tags=tuple(updated if t.id == tag_id else t for t in configuration.tags))
