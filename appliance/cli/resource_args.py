"""`drover resource create` arguments, pcs grammar: NAME AGENT [k=v...] [op NAME k=v...]... [meta k=v...]
[clone [k=v...] | promotable [k=v...]].

Rules: parameters are checked against the agent's metadata (unknown or missing
required ones are errors unless --force), operations get pcs's ids and the
agent's default start/stop/monitor(/promote/demote) timeouts, meta values that
Pacemaker interprets are checked. Pure apart from the metadata given to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from appliance.model.attributes import Attributes
from appliance.model.resources import AgentRef, Clone, Op, Primitive, Resource
from appliance.model.values import (
    ModelError,
    check_id,
    parse_boolean,
    parse_interval_ms,
    parse_role,
    parse_score,
    sanitize_id,
)
from guest.agents.metadata import Action, AgentMetadata

KEYWORDS = ("op", "meta", "params", "clone", "promotable")
OP_OPTIONS = ("interval", "timeout", "role", "on-fail", "start-delay", "interval-origin", "record-pending", "enabled",
              "OCF_CHECK_LEVEL", "description", "requires", "id")
ON_FAIL = ("ignore", "block", "stop", "restart", "standby", "fence", "demote")
# as pcs: every action an agent advertises goes into the CIB with its recommended timeout (so a live migration
# runs under VirtualDomain's 120s, not the 20s default), except these one-time or alias actions
NOT_COPIED_ACTIONS = ("meta-data", "status", "validate-all")
PROMOTION_ACTIONS = ("promote", "demote")
DEFAULT_MONITOR_INTERVAL = "60s"


def _check_port(value: str, what: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ModelError(f"invalid {what} '{value}': expected a port number 1-65535")
    return int(value)


META_CHECKS = {
    "target-role": parse_role,
    "resource-stickiness": parse_score,
    "migration-threshold": parse_score,
    "priority": parse_score,
    "is-managed": parse_boolean,
    "maintenance": parse_boolean,
    "promotable": parse_boolean,
    "globally-unique": parse_boolean,
    "interleave": parse_boolean,
    "ordered": parse_boolean,
    "notify": parse_boolean,
    "failure-timeout": parse_interval_ms,
    "remote-port": _check_port,
    "remote-connect-timeout": parse_interval_ms,
    "clone-max": parse_score,
    "clone-node-max": parse_score,
    "promoted-max": parse_score,
    "promoted-node-max": parse_score,
}


def check_meta(name: str, value: str) -> None:
    check = META_CHECKS.get(name)
    if check is not None:
        check(value, f"meta attribute {name}")
    if name == "remote-node":
        check_id(value, "remote-node name")


@dataclass
class CreateArgs:
    params: list[tuple[str, str]] = field(default_factory=list)
    ops: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    meta: list[tuple[str, str]] = field(default_factory=list)
    clone: list[tuple[str, str]] | None = None
    promotable: bool = False


def _pair(token: str, where: str) -> tuple[str, str]:
    name, sep, value = token.partition("=")
    if not sep or not name:
        raise ModelError(f"invalid {where} '{token}': expected NAME=VALUE")
    return name, value


def split_args(tokens: list[str]) -> CreateArgs:
    parsed = CreateArgs()
    section = "params"
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "op":
            if index >= len(tokens) or "=" in tokens[index] or tokens[index] in KEYWORDS:
                raise ModelError("'op' must be followed by an operation name, e.g. op monitor interval=30s")
            parsed.ops.append((tokens[index], []))
            index += 1
            section = "op"
        elif token == "meta":
            section = "meta"
        elif token == "params":             # crm shell's and older guides' spelling: the agent's parameters follow
            section = "params"
        elif token in ("clone", "promotable"):
            if parsed.clone is not None:
                raise ModelError("give either clone or promotable, once")
            parsed.clone = []
            parsed.promotable = token == "promotable"
            section = "clone"
        elif section == "params":
            parsed.params.append(_pair(token, "resource option"))
        elif section == "op":
            parsed.ops[-1][1].append(_pair(token, f"option of op {parsed.ops[-1][0]}"))
        elif section == "meta":
            parsed.meta.append(_pair(token, "meta attribute"))
        else:
            assert parsed.clone is not None
            parsed.clone.append(_pair(token, "clone option"))
    return parsed


def _op(rid: str, name: str, options: list[tuple[str, str]], known_actions: set[str] | None, force: bool) -> Op:
    if known_actions is not None and name not in known_actions and not force:
        raise ModelError(f"'{name}' is not a valid operation name for this agent "
                         f"(it has {', '.join(sorted(known_actions))}), use --force to override")
    values = dict(options)
    for option in values:
        if option not in OP_OPTIONS:
            raise ModelError(f"invalid option '{option}' of op {name}: allowed are {', '.join(OP_OPTIONS)}")
    # as pcs: a monitor given without an interval is monitored every 60s, not never
    interval_text = values.pop("interval", default_interval(name))
    interval_ms = parse_interval_ms(interval_text, f"interval of op {name}")
    timeout = values.pop("timeout", None)
    if timeout is not None:
        parse_interval_ms(timeout, f"timeout of op {name}")
    role = values.pop("role", None)
    on_fail = values.pop("on-fail", None)
    if on_fail is not None and on_fail not in ON_FAIL:
        raise ModelError(f"invalid on-fail '{on_fail}' of op {name}: expected one of {', '.join(ON_FAIL)}")
    op_id = values.pop("id", None) or sanitize_id(f"{rid}-{name}-interval-{interval_text}")
    check_id(op_id, "operation id")
    params = Attributes.of([("OCF_CHECK_LEVEL", values.pop("OCF_CHECK_LEVEL"))] if "OCF_CHECK_LEVEL" in values else [])
    return Op(op_id, name, interval_ms, parse_role(role, f"role of op {name}") if role else None, timeout, on_fail,
              Attributes.of(values), params)


def default_interval(action: str) -> str:
    """pcs's interval for an operation given without one: a monitor runs every 60s, anything else is one-time."""
    return DEFAULT_MONITOR_INTERVAL if action == "monitor" else "0s"


def default_actions(metadata: AgentMetadata, promotable: bool) -> list[Action]:
    """The operations `resource create` adds from the agent's metadata (pcs's rule; a resource that is not
    promotable gets no promote/demote and one role-less monitor)."""
    first_of_each: dict[str, Action] = {}
    for action in metadata.actions:
        if action.name not in (*NOT_COPIED_ACTIONS, "monitor") and (promotable or action.name not in PROMOTION_ACTIONS):
            first_of_each.setdefault(action.name, action)
    actions = list(first_of_each.values())
    monitors = [a for a in metadata.actions if a.name == "monitor"]
    if not promotable:
        plain = [a for a in monitors if not a.role]
        monitors = (plain or [dataclasses.replace(monitors[0], role=None)]) if monitors else []
    return actions + monitors


def _default_ops(rid: str, metadata: AgentMetadata | None, given: set[str], promotable: bool) -> list[Op]:
    if metadata is None:
        return [] if "monitor" in given else [_op(rid, "monitor", [("interval", DEFAULT_MONITOR_INTERVAL)], None, True)]
    ops = []
    for action in default_actions(metadata, promotable):
        if action.name in given:
            continue
        options = [("interval", action.interval or default_interval(action.name))]
        if action.timeout:
            options.append(("timeout", action.timeout))
        if action.role:
            options.append(("role", action.role))
        if action.depth not in (None, "0"):
            options.append(("OCF_CHECK_LEVEL", action.depth))
        ops.append(_op(rid, action.name, options, None, True))
    return ops


def _check_known_params(metadata: AgentMetadata, names: list[str]) -> None:
    allowed = {p.name for p in metadata.parameters}
    for name in names:
        if name not in allowed:
            raise ModelError(f"invalid resource option '{name}', allowed options are: "
                             f"{', '.join(sorted(allowed)) or 'none'}, use --force to override")


def _check_required_params(metadata: AgentMetadata, present: set[str]) -> None:
    missing = [p.name for p in metadata.parameters if p.required and p.name not in present]
    if missing:
        raise ModelError(f"required resource option{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(repr(m) for m in missing)} missing, use --force to override")


def with_op_added(primitive: Primitive, metadata: AgentMetadata | None, action: str, tokens: list[str],
                  force: bool) -> Primitive:
    """`resource op add`: one more operation; one with the same action and interval (and role) is refused."""
    op = _op(primitive.id, action, [_pair(t, f"option of op {action}") for t in tokens],
             {a.name for a in metadata.actions} if metadata is not None else None, force)
    same = next((o for o in primitive.ops if (o.name, o.interval_ms, o.role) == (op.name, op.interval_ms, op.role)),
                None)
    if same is not None and not force:
        raise ModelError(f"operation {action} with interval {op.interval_ms // 1000}s already specified for "
                         f"{primitive.id} ({same.id}), use --force to override")
    if any(o.id == op.id for o in primitive.ops):
        raise ModelError(f"operation id '{op.id}' is already in use")
    return dataclasses.replace(primitive, ops=(*primitive.ops, op))


def update_primitive(primitive: Primitive, metadata: AgentMetadata | None, tokens: list[str],
                     force: bool) -> Primitive:
    """pcs resource update: NAME=VALUE sets a parameter (NAME= removes it), `op ACTION ...` replaces that
    action's operations, `meta NAME=VALUE` sets a meta attribute (NAME= removes it)."""
    parsed = split_args(tokens)
    if parsed.clone is not None:
        raise ModelError("clone/promotable cannot be changed by update")
    params = primitive.params
    if metadata is not None and not force:
        _check_known_params(metadata, [name for name, _ in parsed.params])
    for name, value in parsed.params:
        params = params.set(name, value) if value != "" else params.without(name)
    if metadata is not None and not force:
        _check_required_params(metadata, set(params.names()))
    meta = primitive.meta
    for name, value in parsed.meta:
        if value != "":
            check_meta(name, value)
        meta = meta.set(name, value) if value != "" else meta.without(name)
    known_actions = {a.name for a in metadata.actions} if metadata is not None else None
    ops = list(primitive.ops)
    replaced = {name for name, _ in parsed.ops}
    ops = [op for op in ops if op.name not in replaced]
    for name, options in parsed.ops:
        ops.append(_op(primitive.id, name, options, known_actions, force))
    return dataclasses.replace(primitive, params=params, meta=meta, ops=tuple(ops))


def build_resource(rid: str, agent: AgentRef, metadata: AgentMetadata | None, tokens: list[str], force: bool,
                   disabled: bool) -> Resource:
    check_id(rid, "resource name")
    parsed = split_args(tokens)
    if metadata is not None and not force:
        _check_known_params(metadata, [name for name, _ in parsed.params])
        _check_required_params(metadata, {name for name, _ in parsed.params})
    for name, value in parsed.meta:
        check_meta(name, value)
    known_actions = {a.name for a in metadata.actions} if metadata is not None else None
    ops = [_op(rid, name, options, known_actions, force) for name, options in parsed.ops]
    ops += _default_ops(rid, metadata, {op.name for op in ops}, parsed.promotable)
    ops.sort(key=lambda op: op.name)                 # pcs 0.11 writes them by name (a stable sort)
    meta = Attributes.of(parsed.meta)
    if disabled and parsed.clone is None:
        meta = meta.set("target-role", "Stopped")
    primitive = Primitive(rid, agent, Attributes.of(parsed.params), meta, tuple(ops))
    if parsed.clone is None:
        return primitive
    clone_meta = Attributes.of(parsed.clone)
    for name, value in clone_meta:
        check_meta(name, value)
    if parsed.promotable:
        clone_meta = clone_meta.set("promotable", "true")
    if disabled:
        clone_meta = clone_meta.set("target-role", "Stopped")
    return Clone(f"{rid}-clone", primitive, clone_meta)
