"""crm_simulate's what-if modifications for `drover simulate`: nodes brought up, taken down or failed, tickets
granted, revoked, put in standby or activated, applied to the CIB before the transition is computed (pure).

Rules: as Pacemaker 2.1.5's injections (pcmk_injections.c): a node brought up is in the membership, its
controller online, joined and expected; one taken down is out of all of it and loses its resource history and
transient attributes; a failed node is expected and joined but out of the membership (it must be fenced). A
ticket that has no state yet gets one. Each modification gives crm_simulate's line for the summary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib
from appliance.model.status import NodeState, Status
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

    @property
    def empty(self) -> bool:
        return not any(dataclasses.astuple(self))


def apply(cib: Cib, injections: Injections) -> tuple[Cib, list[str]]:
    """The modified CIB and crm_simulate's lines for what was done, in its order."""
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
    return dataclasses.replace(cib, status=status), lines


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
