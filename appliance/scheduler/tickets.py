"""Ticket constraints (rsc_ticket), as Pacemaker 2.1.5 applies them (pcmk_sched_tickets.c).

Rules: a ticket is granted only if its state in the status section says so; while it is granted and not in
standby nothing happens. Otherwise each primitive under the constraint's resource (clone instances, group
members) is banned from every node, except where the loss policy says otherwise for a resource that runs:
`demote` with the Promoted role only forbids promotion, `fence` also fences the nodes it runs on, `freeze`
leaves it where it is, unmanaged. `fence` without fencing enabled is `stop`; the default is `demote` for the
Promoted role and `stop` otherwise. A constraint for the Promoted role keeps a promotable clone from
promoting anywhere (pcmk__require_promotion_tickets). Resources that do not exist are ignored, as Pacemaker
ignores such constraints.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.model.cluster import Cib
from appliance.model.constraints import TicketConstraint
from appliance.model.values import INFINITY
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import WRsc

_PROMOTED = ("Promoted", "Master")
_UNPROMOTED = ("Unpromoted", "Slave")


@dataclass(frozen=True)
class _Dependency:
    constraint_id: str
    rsc: WRsc
    role: str | None            # None: any role (Started counts as any)
    policy: str                 # stop demote fence freeze
    granted: bool
    standby: bool


def _dependencies(working: Working, cib: Cib) -> list[_Dependency]:
    states = {state.id: state for state in cib.status.tickets}
    found = []
    for constraint in cib.configuration.tickets:
        state = states.get(constraint.ticket)
        granted, standby = (state.granted, state.standby) if state is not None else (False, False)
        for rid, role in _targets(constraint):
            rsc = working.by_id.get(rid)
            if rsc is None:
                continue
            role = None if role in (None, "Started") else ("Promoted" if role in _PROMOTED else role)
            found.append(_Dependency(constraint.id, rsc, role, _policy(constraint, role, working), granted, standby))
    return found


def _targets(constraint: TicketConstraint) -> list[tuple[str, str | None]]:
    if constraint.sets:
        return [(rid, block.role) for block in constraint.sets for rid in block.resources]
    return [(constraint.rsc, constraint.rsc_role)] if constraint.rsc else []


def _policy(constraint: TicketConstraint, role: str | None, working: Working) -> str:
    policy = constraint.loss_policy
    if policy == "fence" and not working.options.stonith_enabled:
        return "stop"
    if policy is None:
        return "demote" if role == "Promoted" else "stop"
    return policy


def _role_matches(rsc: WRsc, role: str | None) -> bool:
    if role is None:
        return True
    current = rsc.role
    clone = rsc.clone_parent()
    if current == "Started" and clone is not None and clone.promotable:
        current = "Unpromoted"
    return current == role or (role in _UNPROMOTED and current in _UNPROMOTED)


def apply(working: Working, cib: Cib) -> None:
    """Bans, fencing and freezing for tickets not granted or in standby (call right after unpack)."""
    for dependency in _dependencies(working, cib):
        if dependency.granted and not dependency.standby:
            continue
        for primitive in dependency.rsc.primitives():
            _apply_one(working, primitive, dependency)


def _apply_one(working: Working, rsc: WRsc, dependency: _Dependency) -> None:
    ban = [(rsc, node.name) for node in working.nodes]
    if not dependency.granted and rsc.running_on:
        if dependency.policy == "stop":
            working.bans.extend(ban)
        elif dependency.policy == "demote":
            if dependency.role != "Promoted":
                working.bans.extend(ban)
        elif dependency.policy == "fence":
            if not _role_matches(rsc, dependency.role):
                return
            clone = rsc.clone_parent()
            if clone is not None and not clone.unique:
                # bans apply to an anonymous clone as a whole here; Pacemaker bans this one instance: the
                # others keep their nodes, and the ones it ran on are fenced anyway
                ban = [(rsc, node.name) for node in rsc.running_on]
            working.bans.extend(ban)
            for node in rsc.running_on:          # "deadman ticket was lost"
                if node.kind == "guest":
                    node.requires_reset = True
                else:
                    node.must_be_fenced("deadman ticket was lost")
        elif dependency.policy == "freeze" and _role_matches(rsc, dependency.role):
            rsc.managed, rsc.blocked = False, True
    elif dependency.role != "Promoted" or dependency.policy == "stop":
        working.bans.extend(ban)                 # __no_ticket__ / __ticket_standby__


def require_promotion(working: Working, cib: Cib) -> None:
    """A promotable clone whose ticket for the Promoted role is missing promotes nowhere (call once the
    role=Promoted locations are known)."""
    for dependency in _dependencies(working, cib):
        if dependency.role != "Promoted" or (dependency.granted and not dependency.standby):
            continue
        clone = dependency.rsc if dependency.rsc.variant == "clone" else None
        if clone is None or not clone.promotable:
            continue
        working.promoted_locations.setdefault(clone.id, []).extend((node.name, -INFINITY) for node in working.nodes)
