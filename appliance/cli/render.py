"""Human and machine renderings of configuration objects, in the layouts pcs and crm_mon users know.

Rules: text follows pcs (`resource config`, `constraint`) and crm_mon
(resource lines); JSON is plain objects with Pacemaker's attribute names;
nothing here reads state, callers pass what to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.model.attributes import Attributes
from appliance.model.constraints import Colocation, Constraint, Location, Order, ResourceSet, Rule, TicketConstraint
from appliance.model.resources import AgentRef, Clone, Group, Op, Primitive, Resource
from appliance.model.values import format_interval, format_score

Placement = Callable[[str], list[tuple[str, str]]]     # primitive id -> [(node, role)]


def _pairs(attrs: Attributes) -> str:
    return " ".join(f"{name}={value}" for name, value in attrs)


def op_text(op: Op) -> str:
    parts = [op.name, f"interval={format_interval(op.interval_ms)}"]
    parts += [f"{k}={v}" for k, v in (("timeout", op.timeout), ("role", op.role), ("on-fail", op.on_fail)) if v]
    parts += [f"{k}={v}" for k, v in (*op.options, *op.params)]
    return f"{' '.join(parts)} ({op.id})"


def resource_config(resource: Resource, indent: str = " ") -> list[str]:
    """pcs `resource config` layout."""
    lines: list[str] = []
    if isinstance(resource, Primitive):
        agent = resource.agent
        provider = f" provider={agent.provider}" if agent.provider else ""
        lines.append(f"{indent}Resource: {resource.id} (class={agent.standard}{provider} type={agent.type})")
        if len(resource.params):
            lines.append(f"{indent} Attributes: {_pairs(resource.params)}")
        if len(resource.meta):
            lines.append(f"{indent} Meta Attrs: {_pairs(resource.meta)}")
        if len(resource.utilization):
            lines.append(f"{indent} Utilization: {_pairs(resource.utilization)}")
        for position, op in enumerate(resource.ops):
            label = " Operations: " if position == 0 else "             "
            lines.append(f"{indent}{label}{op_text(op)}")
        return lines
    lines.append(f"{indent}{'Group' if isinstance(resource, Group) else 'Clone'}: {resource.id}")
    if len(resource.meta):
        lines.append(f"{indent} Meta Attrs: {_pairs(resource.meta)}")
    for child in resource.children():
        lines.extend(resource_config(child, indent + " "))
    return lines


def _agent_text(primitive: Primitive) -> str:
    return agent_text(primitive.agent)


def agent_text(agent: AgentRef) -> str:
    """`ocf:heartbeat:Dummy`, as crm_mon and pcs of Pacemaker 2.1 write an agent in resource lists."""
    return f"{agent.standard}:{agent.provider}:{agent.type}" if agent.provider else f"{agent.standard}:{agent.type}"


def _state_text(primitive: Primitive, places: list[tuple[str, str]], disabled: bool) -> str:
    if not places:
        return "Stopped (disabled)" if disabled else "Stopped"
    return " ".join(f"{role} {node}" for node, role in places) + (" (disabled)" if disabled else "")


def _disabled(resource: Resource, inherited: bool) -> bool:
    role = resource.meta.get("target-role")
    return inherited or (role is not None and role.lower() == "stopped")


def resource_lines(resource: Resource, placement: Placement, indent: str = "  ", inherited: bool = False
                   ) -> list[str]:
    """crm_mon's resource list layout."""
    disabled = _disabled(resource, inherited)
    if isinstance(resource, Primitive):
        state = _state_text(resource, placement(resource.id), disabled)
        return [f"{indent}* {resource.id}\t({_agent_text(resource)}):\t {state}"]
    if isinstance(resource, Group):
        suffix = " (disabled)" if disabled else ""
        lines = [f"{indent}* Resource Group: {resource.id}{suffix}:"]
        for member in resource.members:
            lines.extend(resource_lines(member, placement, indent + "  ", disabled))
        return lines
    return _clone_lines(resource, placement, indent, disabled)


def _clone_lines(clone: Clone, placement: Placement, indent: str, disabled: bool) -> list[str]:
    flags = " (promotable)" if clone.promotable else ""
    flags += " (disabled)" if disabled else ""
    child = clone.child
    lines = [f"{indent}* Clone Set: {clone.id} [{child.id}]{flags}:"]
    primitive_ids = [m.id for m in child.members] if isinstance(child, Group) else [child.id]
    by_role: dict[str, set[str]] = {}
    for rid in primitive_ids[:1]:
        for node, role in placement(rid):
            by_role.setdefault(role, set()).add(node)
    for role in ("Promoted", "Unpromoted", "Started"):
        if role in by_role:
            lines.append(f"{indent}  * {role}: [ {' '.join(sorted(by_role[role]))} ]")
    if not by_role:
        lines.append(f"{indent}  * Stopped{' (disabled)' if disabled else ''}")
    return lines


def _set_text(resource_set: ResourceSet) -> str:
    options = []
    for name, value in (("sequential", resource_set.sequential), ("require-all", resource_set.require_all),
                        ("action", resource_set.action), ("role", resource_set.role)):
        if value is not None:
            options.append(f"{name}={str(value).lower() if isinstance(value, bool) else value}")
    return f"set {' '.join(resource_set.resources)}{(' ' + ' '.join(options)) if options else ''}"


def _rule_text(rule: Rule) -> str:
    parts = []
    for item in rule.items:
        if isinstance(item, Rule):
            parts.append(f"({_rule_text(item)})")
        elif hasattr(item, "attribute"):
            value = f" {item.value}" if getattr(item, "value", None) is not None else ""
            parts.append(f"{item.attribute} {item.operation}{value}")
        else:
            parts.append(f"date {item.operation}")
    return f" {rule.boolean_op} ".join(parts)


def constraint_text(constraint: Constraint) -> str:
    """One line per constraint, in pcs's `constraint config` wording."""
    sets = " ".join(_set_text(s) for s in constraint.sets)
    if isinstance(constraint, Location):
        subject = constraint.rsc or (f"pattern {constraint.rsc_pattern}" if constraint.rsc_pattern else sets)
        role = f" (role {constraint.role})" if constraint.role else ""
        if constraint.rules:
            rules = "; ".join(f"rule score={format_score(r.score) if r.score is not None else r.score_attribute}: "
                              f"{_rule_text(r)}" for r in constraint.rules)
            return f"Location: {subject}{role} {rules} (id: {constraint.id})"
        verb = "prefers" if (constraint.score or 0) >= 0 else "avoids"
        return f"Location: {subject}{role} {verb} {constraint.node} (score: {format_score(constraint.score or 0)}) " \
               f"(id: {constraint.id})"
    if isinstance(constraint, Colocation):
        if constraint.sets:
            return f"Colocation: {sets} (score: {format_score(constraint.score)}) (id: {constraint.id})"
        first = " ".join(p for p in (constraint.rsc_role, constraint.rsc) if p)
        second = " ".join(p for p in (constraint.with_rsc_role, constraint.with_rsc) if p)
        return f"Colocation: {first} with {second} (score: {format_score(constraint.score)}) (id: {constraint.id})"
    if isinstance(constraint, TicketConstraint):
        options = " ".join(f"{name}={value}" for name, value in (("loss-policy", constraint.loss_policy),
                                                                  ("ticket", constraint.ticket)) if value)
        if constraint.sets:
            return f"Ticket: {sets} setoptions {options} (id: {constraint.id})"
        subject = " ".join(p for p in (constraint.rsc_role, constraint.rsc) if p)
        return f"Ticket: {subject} {options} (id: {constraint.id})"
    assert isinstance(constraint, Order)
    kind = constraint.kind or "Mandatory"
    if constraint.sets:
        return f"Order: {sets} (kind: {kind}) (id: {constraint.id})"
    return (f"Order: {constraint.first_action or 'start'} {constraint.first} then "
            f"{constraint.then_action or constraint.first_action or 'start'} {constraint.then} (kind: {kind}) "
            f"(id: {constraint.id})")


def attrs_json(attrs: Attributes) -> dict[str, str]:
    return attrs.as_dict()


def resource_json(resource: Resource, placement: Placement | None = None) -> dict[str, Any]:
    if isinstance(resource, Primitive):
        result: dict[str, Any] = {
            "id": resource.id, "type": "primitive", "class": resource.agent.standard,
            "provider": resource.agent.provider, "agent": resource.agent.type,
            "instance_attributes": attrs_json(resource.params), "meta_attributes": attrs_json(resource.meta),
            "operations": [{"id": op.id, "name": op.name, "interval": format_interval(op.interval_ms),
                            **({"timeout": op.timeout} if op.timeout else {}), **({"role": op.role} if op.role else {}),
                            **({"on-fail": op.on_fail} if op.on_fail else {}), **op.options.as_dict()}
                           for op in resource.ops],
        }
        if placement is not None:
            result["active"] = [{"node": node, "role": role} for node, role in placement(resource.id)]
        return result
    kind = "group" if isinstance(resource, Group) else "clone"
    return {"id": resource.id, "type": kind, "meta_attributes": attrs_json(resource.meta),
            **({"promotable": resource.promotable} if isinstance(resource, Clone) else {}),
            "children": [resource_json(child, placement) for child in resource.children()]}


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untagged(v) for k, v in value.items() if k != "@"}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value


def constraint_json(constraint: Constraint) -> dict[str, Any]:
    from appliance.model import codec
    from appliance.model.constraints import kind_name
    return {"constraint": kind_name(constraint), **_untagged(codec.encode(constraint))}
