"""Recurring monitors the transition starts, as Pacemaker 2.1.5 creates them (pcmk__create_recurring_actions):
for the role an instance ends in, and role=Stopped monitors where it does not run.

Rules: none for a blocked resource or one in maintenance, nor on a node in maintenance. Active role: the
configured monitors of that role (model.resources.monitors_for_role; a remote connection without one gets
30s), after the instance's last start/promote/demote/migrate_from on its node, or alone where it runs on
untouched and the history records no such monitor (or one whose op-digest says it runs with other parameters
or another timeout). Stopped role (not for anonymous clone instances, as
Pacemaker): on every other online, clean node where the history records none, after the instance's stop there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib
from appliance.model.history import base_id
from appliance.model.resources import Op, monitors_for_role
from appliance.model.status import recorded_digest_matches
from appliance.model.values import ModelError, is_true, parse_interval_ms
from appliance.scheduler.failures import EXEC_ERROR
from appliance.scheduler.transition import Action
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import WRsc

# what a recurring monitor runs again after (a reload too: the monitor then checks the new parameters)
_ROLE_CHANGES = ("start", "promote", "demote", "migrate_from", "reload-agent")
_STOPPED_ALIASES = ("Stopped",)


@dataclass(frozen=True)
class Monitor:
    """A recurring monitor the controller starts: after action `after` (an index), or alone (None)."""

    resource: str          # primitive or instance id
    node: str
    interval_ms: int
    after: int | None


def _recorded(cib: Cib) -> dict[tuple[str, str], dict[int, Attributes | None]]:
    """(base id, node) -> interval -> the record's attributes with its op-digest (Pacemaker's record; None in
    drover's) of the recurring monitors the history records as having run there."""
    recorded: dict[tuple[str, str], dict[int, Attributes | None]] = {}
    for history in cib.status.history:
        # a stop cancels the monitors before it (an anonymous instance's stopped history says nothing)
        stopped_at = max((op.call_id for op in history.ops if op.operation == "stop" and op.op_status == 0
                          and op.rc_code == 0),
                         default=-1)
        for op in history.ops:
            # (a result reported as an error counts as its rc says, as Pacemaker remaps it; a timed-out one is
            # rescheduled once its failure expires, the other failures are recovered anyway)
            if op.operation == "monitor" and op.interval_ms > 0 and op.rc_code in (0, 7, 8) \
                    and op.op_status in (0, EXEC_ERROR) and op.call_id > stopped_at:
                recorded.setdefault((base_id(history.resource), history.node), {})[op.interval_ms] = \
                    op.extra if op.extra.get("op-digest") else None
    return recorded


def _current(recorded: dict[int, Attributes | None], op: Op, rsc: WRsc, default_timeout: str | None) -> bool:
    """Whether the recorded monitor of op's interval runs as configured: Pacemaker re-schedules one whose
    op-digest (the parameters and the timeout) no longer matches."""
    if op.interval_ms not in recorded:
        return False
    record = recorded[op.interval_ms]
    if record is None or rsc.params is None:
        return True
    try:
        timeout_ms = parse_interval_ms(op.timeout or default_timeout or "20s", "timeout")
    except ModelError:
        return True
    params = {**json.loads(rsc.params), **dict(op.params), "CRM_meta_timeout": str(timeout_ms)}
    return recorded_digest_matches(record, params, rsc.agent is not None and rsc.agent.standard == "stonith")


def _stopped_role_ops(ops: tuple[Op, ...]) -> list[Op]:
    configured = [(op.name, op.interval_ms) for op in ops]
    return [op for op in ops if op.name == "monitor" and op.interval_ms > 0 and op.role in _STOPPED_ALIASES
            and is_true(op.options.get("enabled", "true")) and configured.count((op.name, op.interval_ms)) == 1]


def _in_maintenance(working: Working, rsc: WRsc) -> bool:
    return working.options.maintenance_mode or any(is_true(item.meta.get("maintenance", "false"))
                                                   for item in _chain(rsc))


def _chain(rsc: WRsc) -> list[WRsc]:
    chain = [rsc]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    return chain


def plan(working: Working, cib: Cib, actions: tuple[Action, ...],
         placement: dict[str, list[tuple[str, str]]]) -> tuple[Monitor, ...]:
    """`placement`: primitive or instance id -> [(node, role)] once the transition is done."""
    standing: dict[tuple[str, str], int] = {}     # (instance, node) -> its last role change not undone after
    touched: set[tuple[str, str]] = set()
    stops: dict[tuple[str, str], int] = {}
    for index, action in enumerate(actions):
        if not action.resource:
            continue
        touched.add((action.resource, action.node))
        if action.task in _ROLE_CHANGES:
            standing[action.resource, action.node] = index
        elif action.task in ("stop", "migrate_to"):
            standing.pop((action.resource, action.node), None)
            stops[action.resource, action.node] = index
    recorded = _recorded(cib)
    entries = {(history.resource, history.node) for history in cib.status.history}
    # a remote node whose connection starts (again, elsewhere) in this transition: what runs there is monitored
    # anew once it is connected (the monitors ran over the connection that is gone), as Pacemaker re-issues them
    reconnected = {action.resource: index for index, action in enumerate(actions) if action.task == "start"
                   and (connection := working.by_id.get(action.resource)) is not None
                   and connection.is_remote_connection}
    default_timeout = cib.configuration.op_defaults.get("timeout")
    monitors: list[Monitor] = []
    for rsc in working.all_primitives:
        if rsc.blocked or _in_maintenance(working, rsc):
            continue
        places = placement.get(rsc.id, [])
        clone = rsc.clone_parent()
        for node_name, role in places:
            if len(places) > 1 and rsc.assigned is not None and rsc.assigned.name != node_name:
                continue           # (active on several, as unmanaged: monitored where it is assigned only)
            node = working.node(node_name)
            after = standing.get((rsc.id, node_name))
            if after is None and node_name in reconnected and (rsc.id, node_name) not in touched:
                after = reconnected[node_name]
            if node is None or node.maintenance or not node.online or node.unclean or \
                    (after is None and (rsc.id, node_name) in touched):
                continue                    # (Pacemaker: unrunnable where no node is available)
            known = {} if after is not None else recorded.get((base_id(rsc.id), node_name), {})
            if known and (not node.available() or (clone is not None and not clone.unique and
                          not entries & {(rsc.id, node_name), (base_id(rsc.id), node_name)})):
                # Pacemaker checks definitions only on available nodes (not standby, shutting down, ...), and a
                # history entry against the instance of its name: another instance's is not active there
                known = {interval: None for interval in known}
            for op in monitors_for_role(rsc.ops, role, rsc.is_remote_connection, rsc.id):
                if not _current(known, op, rsc, default_timeout):
                    monitors.append(Monitor(rsc.id, node_name, op.interval_ms, after))
        stopped_ops = _stopped_role_ops(rsc.ops) if clone is None or clone.unique else []
        active = {node for node, _role in places}
        for node in working.nodes if stopped_ops else ():
            if node.name in active or not node.online or node.unclean:
                continue
            # a stop there makes it mandatory (Pacemaker's recurring_op_for_inactive): it runs again after it
            known = {} if (rsc.id, node.name) in stops else recorded.get((base_id(rsc.id), node.name), {})
            for op in stopped_ops:
                if not _current(known, op, rsc, default_timeout):
                    monitors.append(Monitor(rsc.id, node.name, op.interval_ms, stops.get((rsc.id, node.name))))
    return tuple(monitors)
