"""The human summary of `drover simulate`, laid out like crm_simulate's: status, transition summary, result.

Rules: pure formatting of a scheduler Transition; one line per resource change in crm_simulate's words
(Start, Stop, Move, Migrate, Recover, Restart, Promote, Demote); the current status, when given, in
crm_mon's layout as crm_simulate prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.model.history import base_id
from appliance.scheduler.schedule import Change, Transition


@dataclass(frozen=True)
class CurrentStatus:
    """The input's state in crm_mon's words (appliance.cli.status_text's lines) and its counts."""
    node_lines: tuple[str, ...]
    resource_lines: tuple[str, ...]
    instances: int = 0
    disabled: int = 0
    blocked: int = 0


def _node_lists(states: dict[str, str]) -> list[str]:
    lines = ["  * Node List:"]
    groups: dict[str, list[str]] = {}
    for name, state in states.items():
        groups.setdefault(state, []).append(name)
    for state, label in (("online", "Online"), ("offline", "OFFLINE")):
        if groups.get(state):
            lines.append(f"    * {label}: [ {' '.join(sorted(groups[state]))} ]")
    for state in ("standby", "maintenance", "unclean", "pending"):
        for name in sorted(groups.get(state, [])):
            lines.append(f"    * Node {name}: {state.upper() if state == 'unclean' else state}")
    return lines


def _where(places: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    return ", ".join(f"{role} {node}" for node, role in places) or "Stopped"


def change_line(change: Change, acted_on: set[str], reloaded: frozenset[str] = frozenset()) -> str | None:
    """`acted_on`: the resources the transition starts or stops (a failed resource left alone, blocked, is
    no recovery); `reloaded`: those it reloads (reload-agent) in place."""
    before, after = list(change.before), list(change.after)
    name = change.resource
    if before == after:
        acted = before and (name in acted_on or base_id(name) in acted_on)
        if not acted:
            return f"  * Reload     {name:<20} ( {before[0][0]} )" if before and name in reloaded else None
        return f"  * {'Recover' if change.failed else 'Restart':<10} {name:<20} ( {before[0][0]} )"
    if not before and after:
        node, role = after[0]
        if role == "Promoted":
            return f"  * Promote    {name:<20} ( Stopped -> Promoted {node} )"
        return f"  * Start      {name:<20} ( {node} )"
    if before and not after:
        return f"  * Stop       {name:<20} ( {before[0][0]} )"
    (old_node, old_role), (new_node, new_role) = before[0], after[0]
    if len(after) > len(before):      # still listed where a reset guest stopped it: it recovers on the new node
        new_node, new_role = next((place for place in after if place not in before), after[0])
    if change.migrates:
        old_node = next((node for node, _ in before if (node, "Started") not in after), old_node)
        return f"  * Migrate    {name:<20} ( {old_node} -> {new_node} )"
    if old_node != new_node:
        verb = "Recover" if change.failed else "Move"
        return f"  * {verb:<10} {name:<20} ( {old_node} -> {new_node} )"
    if old_role != new_role:
        verb = "Recover" if change.failed and name in acted_on else "Promote" if new_role == "Promoted" else "Demote"
        return f"  * {verb:<10} {name:<20} ( {old_role} -> {new_role} {new_node} )"
    return f"  * Recover    {name:<20} ( {old_node} )"


def render(result: Transition, current: CurrentStatus | None = None, revised: CurrentStatus | None = None,
           modifications: list[str] | tuple[str, ...] = (), executed: tuple[str, ...] | None = None) -> str:
    """`current` / `revised`: the state before and after, as crm_mon writes it (crm_simulate prints them so);
    without them, the short form from the transition's own before- and after-states. `executed`: what ran
    of the transition (crm_simulate's "Executing Cluster Transition" items), when it was run."""
    if current is not None:
        lines = [f"{current.disabled} of {current.instances} resource instances DISABLED and {current.blocked} "
                 "BLOCKED from further action due to failure", ""] if current.disabled or current.blocked else []
        lines += ["Current cluster status:", "  * Node List:", *(f"  {line}" for line in current.node_lines), "",
                  "  * Full List of Resources:", *(f"  {line}" for line in current.resource_lines or
                                                   ["  * No resources"])]
    else:
        lines = ["Current cluster status:", *_node_lists(result.nodes_before or {}), "",
                 "  * Full List of Resources:"]
        lines += [f"    * {c.resource}\t({c.agent}):\t {_where(c.before)}" for c in result.changes]
    if modifications:
        lines += ["", "Performing Requested Modifications:", *(f"  * {line}" for line in modifications)]
    if result.scores:
        lines += ["", "Allocation Scores:", *result.scores]
    lines += ["", "Transition Summary:"]
    fences = [a for a in result.actions if a.task == "fence"][::-1]     # newest first, as Pacemaker lists them
    lines += [f"  * Fence ({a.fence_type or 'reboot'}) {a.node}"
              + (f" (resource: {a.container})" if a.container else "") + (f" '{a.reason}'" if a.reason else "")
              for a in fences]
    acted_on = {a.resource for a in result.actions if a.resource and a.task in ("stop", "start")}
    reloaded = frozenset(a.resource for a in result.actions if a.task == "reload-agent")
    lines += [line for line in (change_line(c, acted_on, reloaded) for c in result.changes) if line]
    if executed is not None:
        lines += ["", "Executing Cluster Transition:", *(f"  * {item}" for item in executed)]
    if revised is not None:
        lines += ["", "Revised Cluster Status:", "  * Node List:", *(f"  {line}" for line in revised.node_lines), "",
                  "  * Full List of Resources:", *(f"  {line}" for line in revised.resource_lines or
                                                   ["  * No resources"])]
    else:
        lines += ["", "Revised Cluster Status:", *_node_lists(result.nodes), "", "  * Full List of Resources:"]
        lines += [f"    * {c.resource}\t({c.agent}):\t {_where(c.after)}" for c in result.changes]
    return "\n".join(lines)
