"""From an action's resource id to what to run: agent, parameters, meta attributes and the operation's timeout.

Rules (pure): meta attributes merge rsc_defaults, then parents (clone, group),
then the primitive's own; an anonymous clone's instances (`web:0`) run and
are recorded as the base id, unique clones keep the instance id; a guest
node's implicit connection resource is ocf:pacemaker:remote with server
from `remote-addr` (default: the node name), `port` from `remote-port` and its
start timeout from `remote-connect-timeout`; timeouts come from the matching
<op>, else op_defaults, else 20 s. A resource no longer configured (orphan)
is run with the parameters its history recorded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from appliance.model import rule_sets
from appliance.model.cluster import Cib, Configuration
from appliance.model.history import base_id
from appliance.model.nodes import KIND_ATTRIBUTE
from appliance.model.resources import AgentRef, Clone, Op, Primitive, monitors_for_role, parents, primitives
from appliance.model.status import PARAMS_EXTRA, Status
from appliance.model.values import ModelError, is_true, parse_interval_ms
from guest.agents.results import AgentSpec, Operation

PARAMS_KEY = PARAMS_EXTRA        # history extra attribute: the parameters of the last start (orphans, changes)
DEFAULT_TIMEOUT_MS = 20_000
DEFAULT_CONNECT_TIMEOUT = "60s"   # Pacemaker's remote-connect-timeout default; drover.conf remote.connect_timeout
REMOTE_AGENT = AgentRef("ocf", "remote", "pacemaker")


@dataclass(frozen=True)
class Runnable:
    history_id: str                   # lrm resource id: base id for anonymous clone instances
    agent: AgentRef
    params: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    ops: tuple[Op, ...] = ()
    container: str | None = None      # for the connection of a guest node: the VM resource
    guest_node: str | None = None     # for a VM resource: the guest node it hosts

    def op(self, action: str, interval_ms: int = 0) -> Op | None:
        return next((op for op in self.ops if op.name == action and op.interval_ms == interval_ms), None)

    def monitors(self, role: str) -> list[Op]:
        """The recurring monitors to run for a resource active in `role` (Started/Unpromoted/Promoted)."""
        return monitors_for_role(self.ops, role, self.agent == REMOTE_AGENT, self.history_id)


def _chain(configuration: Configuration, rid: str) -> list:
    """The configured resource and its parents, outermost first."""
    parent_of = parents(configuration.resources)
    chain = []
    found = configuration.resource(rid)
    while found is not None:
        chain.insert(0, found)
        parent_id = parent_of.get(found.id)
        found = configuration.resource(parent_id) if parent_id else None
    return chain


def resolve(configuration: Configuration, status: Status, resource_id: str,
            connect_timeout: str = DEFAULT_CONNECT_TIMEOUT, node: str | None = None) -> Runnable | None:
    """`connect_timeout`: a guest connection's start timeout where its VM has no remote-connect-timeout;
    `node`: where it runs, for an orphan (the parameters it was started with there)."""
    base = base_id(resource_id)
    chain = _chain(configuration, base)
    if chain and isinstance(chain[-1], Primitive):
        primitive: Primitive = chain[-1]
        context = rule_sets.Context(agent=primitive.agent)
        meta = dict(rule_sets.conditional(configuration.rule_sets, configuration.rsc_defaults, rule_sets.RSC_DEFAULTS,
                                          "meta_attributes", context).items)
        for resource in chain:
            meta.update(rule_sets.conditional(configuration.rule_sets, resource.meta,
                                              rule_sets.resource_owner(resource.id), "meta_attributes", context).items)
        clone = next((r for r in chain if isinstance(r, Clone)), None)
        unique = clone is not None and is_true(clone.meta.get("globally-unique", "false"))
        if clone is not None:       # agents read these (Pacemaker always passes them for clones)
            meta.setdefault("globally-unique", "false")
            meta.setdefault("promotable", "true" if clone.promotable else "false")
        history_id = resource_id if unique else base
        return Runnable(history_id, primitive.agent, dict(primitive.params.items), meta, primitive.ops,
                        guest_node=primitive.guest_node)
    for primitive in primitives(configuration.resources):
        if primitive.guest_node == resource_id:
            return _connection(configuration, primitive, connect_timeout)
    return _orphan(status, resource_id, node)


def _connection(configuration: Configuration, container: Primitive, connect_timeout: str) -> Runnable:
    meta = container.meta
    name = container.guest_node or ""
    params = {"server": meta.get("remote-addr") or name}
    if meta.get("remote-port"):
        params["port"] = meta.get("remote-port") or ""
    # as Pacemaker's implicit connection always has one (60s unless remote-connect-timeout says otherwise)
    ops = [Op(f"{name}-start-0", "start", 0, timeout=meta.get("remote-connect-timeout") or connect_timeout)]
    connection_meta = dict(configuration.rsc_defaults.items)
    connection_meta["container"] = container.id
    return Runnable(name, REMOTE_AGENT, params, connection_meta, tuple(ops), container=container.id)


def _orphan(status: Status, resource_id: str, node: str | None) -> Runnable | None:
    """A deleted resource as its history knows it: on `node` if it has history there (a probe that found it
    stopped on another node knows no parameters), its parameters from wherever they were recorded last."""
    entries = [h for h in status.history
               if h.resource == resource_id or base_id(h.resource) == base_id(resource_id)]
    if not entries:
        return None
    entry = next((h for h in entries if h.node == node), entries[0])

    def recorded(history) -> list:
        return [op for op in history.ops if op.extra.get(PARAMS_KEY)]

    own = recorded(entry)
    anywhere = sorted((op for h in entries for op in recorded(h)), key=lambda op: op.last_rc_change)
    source = own[-1] if own else anywhere[-1] if anywhere else None
    params = json.loads(source.extra.get(PARAMS_KEY)) if source is not None else {}
    return Runnable(entry.resource, entry.agent, params, {}, (), container=entry.container)


def as_started(status: Status, runnable: Runnable, node: str) -> Runnable:
    """`runnable` as it was started on `node`: the agent its history names there and the parameters it recorded,
    as Pacemaker stops a resource (a restart for a changed agent or parameters stops what the old ones
    started)."""
    entry = next((h for h in status.history if h.node == node and h.resource == runnable.history_id), None)
    if entry is None:
        return runnable
    recorded = [op for op in entry.ops if op.extra.get(PARAMS_KEY)]
    params = json.loads(max(recorded, key=lambda op: op.call_id).extra.get(PARAMS_KEY)) if recorded else \
        runnable.params
    agent = entry.agent
    complete = agent.type and agent.standard and (agent.standard != "ocf" or agent.provider)
    return dataclasses.replace(runnable, agent=agent if complete else runnable.agent, params=params)


def on_node(cib: Cib, runnable: Runnable, node: str) -> Runnable:
    """`runnable` with the parameters it has on `node`: its instance attribute sets whose rules hold there (the
    node's attributes as the scheduler reads them); unchanged when it has none."""
    configuration = cib.configuration
    sets = rule_sets.sets_of(configuration.rule_sets, rule_sets.resource_owner(base_id(runnable.history_id)),
                             "instance_attributes")
    if not sets:                       # the common case: no lookup at all on an operation's path
        return runnable
    primitive = configuration.resource(base_id(runnable.history_id))
    if not isinstance(primitive, Primitive):
        return runnable
    info = configuration.node_info(node)
    configured = configuration.node(node)
    attrs = {"#uname": node, "#kind": KIND_ATTRIBUTE[info.kind if info is not None else "cluster"],
             "#id": configured.id if configured is not None else node}
    if configured is not None:
        attrs.update(configured.attributes.items)
    attrs.update(cib.status.transient(node).items)
    params = rule_sets.effective(primitive.params, sets, rule_sets.Context(node=attrs))
    return dataclasses.replace(runnable, params=dict(params.items))


def timeout_ms(configuration: Configuration, runnable: Runnable, action: str, interval_ms: int = 0) -> int:
    op = runnable.op(action, interval_ms)
    if op is None and action == "monitor" and interval_ms == 0:
        op = next((o for o in runnable.ops if o.name == "monitor"), None)   # probes use a monitor's timeout
    context = rule_sets.Context(agent=runnable.agent, op=(action, interval_ms))
    defaults = rule_sets.conditional(configuration.rule_sets, configuration.op_defaults, rule_sets.OP_DEFAULTS,
                                     "meta_attributes", context)
    value = (op.timeout if op is not None else None) or defaults.get("timeout")
    if not value:
        return DEFAULT_TIMEOUT_MS
    try:
        return parse_interval_ms(value) or DEFAULT_TIMEOUT_MS
    except ModelError:
        return DEFAULT_TIMEOUT_MS


def operation(configuration: Configuration, runnable: Runnable, action: str, interval_ms: int = 0,
              role: str | None = None) -> Operation:
    agent = runnable.agent
    spec = AgentSpec(agent.standard, agent.type, agent.provider or "")
    meta = {k: v for k, v in runnable.meta.items() if k not in ("remote-node", "remote-addr", "remote-port")}
    if role:
        meta["role"] = role
    op = runnable.op(action, interval_ms)
    params = dict(runnable.params)
    if op is not None:
        params.update(op.params.items)
    return Operation(runnable.history_id, spec, action, interval_ms, timeout_ms(configuration, runnable, action,
                                                                                interval_ms), params, meta)


__all__ = ["Runnable", "as_started", "base_id", "operation", "resolve", "timeout_ms"]
