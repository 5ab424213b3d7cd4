"""crm_simulate's what-if modifications for `drover simulate`: nodes brought up, taken down or failed, tickets
granted, revoked, put in standby or activated, operation results injected, applied to the CIB before the
transition is computed (pure).

Rules: as Pacemaker 2.1.5's injections (pcmk_injections.c): a node brought up is in the membership, its
controller online, joined and expected; one taken down is out of all of it and loses its resource history and
transient attributes; a failed node is expected and joined but out of the membership (it must be fenced). A
ticket that has no state yet gets one. An injected result (RSC_TASK_INTERVAL@NODE=RC) is recorded as the
executor would record it, expected to succeed, with a fail count when it failed. Each modification gives
crm_simulate's line for the summary.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from appliance.engine.records import add_failure, transition_extra
from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib
from appliance.model.history import base_id
from appliance.model.resources import Primitive
from appliance.model.status import NodeState, OpRecord, ResourceHistory, Status
from guest.common.errors import UserError


@dataclass(frozen=True)
class Injections:
    node_up: tuple[str, ...] = ()
    node_down: tuple[str, ...] = ()
    node_fail: tuple[str, ...] = ()
    ticket_grant: tuple[str, ...] = ()
    ticket_revoke: tuple[str, ...] = ()
    ticket_standby: tuple[str, ...] = ()
    ticket_activate: tuple[str, ...] = ()
    op_inject: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(dataclasses.astuple(self))


def apply(cib: Cib, injections: Injections, now: int = 0) -> tuple[Cib, list[str]]:
    """The modified CIB and crm_simulate's lines for what was done, in its order; `now`: epoch seconds of an
    injected failure. Without any, `cib` itself."""
    if injections.empty:
        return cib, []
    status, lines = cib.status, []
    for node in injections.node_up:
        lines.append(f"Bringing node {node} online")
        status = _node_state(cib, status, node, "true", "online", "member", "member")
    for node in injections.node_down:
        lines.append(f"Taking node {node} offline")
        status = _node_state(cib, status, node, "false", "offline", "down", "down")
        status = dataclasses.replace(status, history=tuple(h for h in status.history if h.node != node))
        status = status.with_transient(node, Attributes())
    for node in injections.node_fail:
        lines.append(f"Failing node {node}")
        status = _node_state(cib, status, node, "false", "online", "member", "member")
    for ticket, action, field, value in (
            *((t, "Granting", "granted", True) for t in injections.ticket_grant),
            *((t, "Revoking", "granted", False) for t in injections.ticket_revoke),
            *((t, "Standby", "standby", True) for t in injections.ticket_standby),
            *((t, "Activating", "standby", False) for t in injections.ticket_activate)):
        lines.append(f"Making ticket {ticket} standby" if action == "Standby" else f"{action} ticket {ticket}")
        status = _ticket_state(status, ticket, field, value)
    for spec in injections.op_inject:
        lines.append(f"Injecting {spec} into the configuration")
        status = _inject_op(cib, status, spec, now, lines)
    return dataclasses.replace(cib, status=status), lines


_SPEC = re.compile(r"([^@]+)@([^=]+)=(-?\d+)")


def counts_as_failure(rc: int, interval_ms: int) -> bool:
    """crm_simulate's pcmk__inject_failcount: every result but success and a probe's "not running" counts."""
    return rc != 0 and not (rc == 7 and interval_ms == 0)


def failcount_lines(resource: str, task: str, interval_ms: int, now: int, node_id: str) -> list[str]:
    """crm_simulate's lines for a fail count it injects."""
    name = f"{resource}#{task}_{interval_ms}"
    return [f"Injecting attribute fail-count-{name}=value++ into /node_state '{node_id}'",
            f"Injecting attribute last-failure-{name}={now} into /node_state '{node_id}'"]


def _inject_op(cib: Cib, status: Status, spec: str, now: int, lines: list[str]) -> Status:
    match = _SPEC.fullmatch(spec)
    key_parts = match[1].rsplit("_", 2) if match else []
    if match is None or len(key_parts) != 3 or not key_parts[2].isdigit():
        raise UserError(f"Invalid operation spec: {spec} (expected RESOURCE_TASK_INTERVAL@NODE=RC, e.g. "
                        "web_monitor_30000@node1=7)", 64)
    (resource, task, interval_text), node, rc = key_parts, match[2], int(match[3])
    interval_ms = int(interval_text)
    primitive = cib.configuration.resource(base_id(resource))
    if not isinstance(primitive, Primitive):
        raise UserError(f"Invalid resource name: {resource}", 64)
    state = status.node_state(node)
    if state is None:
        configured = cib.configuration.node(node)
        state = NodeState(node, configured.id if configured is not None else node)
        status = dataclasses.replace(status, nodes=(*status.nodes, state))
    if counts_as_failure(rc, interval_ms):
        status = add_failure(status, node, resource, task, interval_ms, now, 1)
        lines += failcount_lines(resource, task, interval_ms, now, state.id)
    entry = next((h for h in status.history if h.node == node and h.resource == resource), None) or \
        ResourceHistory(node, resource, primitive.agent)
    call_id = max((op.call_id for h in status.history if h.node == node for op in h.ops), default=0) + 1
    op_id = f"{resource}_{task}_{interval_ms}" if interval_ms else f"{resource}_last_0"
    extra = transition_extra(0, 0, rc)
    records = [OpRecord(op_id, task, interval_ms, call_id, rc, 0, f"{resource}_{task}_{interval_ms}", now,
                        extra=extra)]
    if rc != 0:
        records.append(dataclasses.replace(records[0], id=f"{resource}_last_failure_0"))
    ids = {r.id for r in records}
    entry = dataclasses.replace(entry, ops=(*(op for op in entry.ops if op.id not in ids), *records))
    history = [h for h in status.history if not (h.node == node and h.resource == resource)]
    return dataclasses.replace(status, history=(*history, entry))


def _node_state(cib: Cib, status: Status, name: str, in_ccm: str, crmd: str, join: str, expected: str) -> Status:
    configured = cib.configuration.node(name)
    current = status.node_state(name)
    if configured is None and current is None:
        raise UserError(f"node '{name}' is not in the CIB", 64)
    node_id = current.id if current is not None else (configured.id or name)
    state = NodeState(name, node_id, in_ccm, crmd, join, expected, current.extra if current else Attributes())
    return dataclasses.replace(status, nodes=(*(s for s in status.nodes if s.name != name), state))


def _ticket_state(status: Status, ticket: str, field: str, value: bool) -> Status:
    return status.with_ticket(dataclasses.replace(status.ticket(ticket), **{field: value}))
