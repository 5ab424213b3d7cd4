"""Resource templates and tags: what a primitive made from a template is, and constraints on templates and tags
turned into the constraints on resources that Pacemaker 2.1.5 schedules.

Rules: a primitive's own attributes win over its template's, its own operations replace the template's of the
same name and role (Started and Unpromoted count as no role); a constraint naming a template means every
primitive made from it, one naming a tag every resource tagged, as an unordered resource set (sequential=false)
in place of the name, the role or action moving onto that set; the other side of a colocation or order becomes a
set of its one resource. The configuration keeps what was written; only the scheduler sees the expansion.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from appliance.model.attributes import Attributes
from appliance.model.constraints import Colocation, Constraint, Location, Order, ResourceSet, TicketConstraint
from appliance.model.resources import Op, Primitive, Template, TemplateUse, primitives

_NO_ROLE = (None, "Started", "Unpromoted", "Slave")


@dataclass(frozen=True)
class Tag:
    """<tag id=...><obj_ref id=.../>...</tag>: a name for a list of resources, usable in constraints."""

    id: str
    refs: tuple[str, ...]


def op_key(op: Op) -> tuple[str, str | None]:
    return op.name, None if op.role in _NO_ROLE else op.role


def made_from(template: Template, use: TemplateUse, rid: str, description: str | None = None) -> Primitive:
    """The primitive `rid` that `use` makes from `template`."""
    own_keys = {op_key(op) for op in use.ops}
    ops = use.ops + tuple(op for op in template.ops if op_key(op) not in own_keys)
    def on_top(own: Attributes, given: Attributes) -> Attributes:
        return Attributes.of((*own, *given))        # the first value of a name counts, as the reader orders sets
    return Primitive(rid, template.agent, on_top(use.params, template.params), on_top(use.meta, template.meta), ops,
                     on_top(use.utilization, template.utilization), description, use)


def reapplied(primitive: Primitive, template: Template) -> Primitive:
    """After an edit of a primitive made from `template`: what it writes itself becomes what the edit left that
    the template does not already give, and the result is made again from that (an unedited one is unchanged)."""
    use = primitive.template
    if use is None or made_from(template, use, primitive.id, primitive.description) == primitive:
        return primitive
    given_ops = set(template.ops)
    own = TemplateUse(
        use.template,
        Attributes(tuple(p for p in primitive.params if template.params.get(p[0]) != p[1])),
        Attributes(tuple(p for p in primitive.meta if template.meta.get(p[0]) != p[1])),
        tuple(op for op in primitive.ops if op not in given_ops),
        Attributes(tuple(p for p in primitive.utilization if template.utilization.get(p[0]) != p[1])))
    return made_from(template, own, primitive.id, primitive.description)


def members(templates: tuple[Template, ...], tags: tuple[Tag, ...], resources) -> dict[str, tuple[str, ...]]:
    """Template id -> the primitives made from it (configuration order), tag id -> the resources it tags."""
    found: dict[str, tuple[str, ...]] = {t.id: () for t in templates}
    for primitive in primitives(resources):
        if primitive.template is not None and primitive.template.template in found:
            found[primitive.template.template] += (primitive.id,)
    for tag in tags:
        found.setdefault(tag.id, tag.refs)
    return found


def expand_constraints(constraints: tuple[Constraint, ...], named: dict[str, tuple[str, ...]]
                       ) -> tuple[Constraint, ...]:
    """`constraints` with every template or tag (`named`: members()) replaced by the resources it stands for."""
    if not named:
        return constraints
    return tuple(_expanded(constraint, named) for constraint in constraints)


def _expanded(constraint: Constraint, named: dict[str, tuple[str, ...]]) -> Constraint:
    if constraint.sets:
        sets = tuple(_set_expanded(s, named) for s in constraint.sets)
        return dataclasses.replace(constraint, sets=sets) if sets != constraint.sets else constraint
    if isinstance(constraint, (Location, TicketConstraint)):
        if constraint.rsc not in named:
            return constraint
        role = constraint.role if isinstance(constraint, Location) else constraint.rsc_role
        made = ResourceSet(constraint.rsc, named[constraint.rsc], sequential=False, role=role)
        if isinstance(constraint, Location):
            return dataclasses.replace(constraint, rsc=None, role=None, sets=(made,))
        return dataclasses.replace(constraint, rsc=None, rsc_role=None, sets=(made,))
    if isinstance(constraint, Colocation):
        if constraint.rsc not in named and constraint.with_rsc not in named:
            return constraint
        sets = (_side(constraint.rsc, constraint.rsc_role, named, "role"),
                _side(constraint.with_rsc, constraint.with_rsc_role, named, "role"))
        return dataclasses.replace(constraint, rsc=None, with_rsc=None, rsc_role=None, with_rsc_role=None, sets=sets)
    if isinstance(constraint, Order):
        if constraint.first not in named and constraint.then not in named:
            return constraint
        sets = (_side(constraint.first, constraint.first_action, named, "action"),
                _side(constraint.then, constraint.then_action, named, "action"))
        return dataclasses.replace(constraint, first=None, then=None, first_action=None, then_action=None,
                                   sets=sets)
    return constraint


def _side(rid: str | None, qualifier: str | None, named: dict[str, tuple[str, ...]], what: str) -> ResourceSet:
    assert rid is not None      # validate() made sure both sides are named
    if rid in named:
        return ResourceSet(rid, named[rid], sequential=False, **{what: qualifier})
    return ResourceSet(rid, (rid,), **{what: qualifier})


def _set_expanded(resource_set: ResourceSet, named: dict[str, tuple[str, ...]]) -> ResourceSet:
    if not any(rid in named for rid in resource_set.resources):
        return resource_set
    refs = tuple(member for rid in resource_set.resources for member in named.get(rid, (rid,)))
    return dataclasses.replace(resource_set, resources=refs)
