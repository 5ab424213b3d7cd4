"""How operation results, node events and fencing change the status section (pure functions over Status).

Rules: history is kept as Pacemaker's controller keeps it: per node and
resource, `RSC_last_0` holds the last non-recurring operation, `RSC_last_failure_0`
the last failed one, `RSC_monitor_N` each recurring monitor; a stop removes
the recurring entries (they were cancelled); call ids grow per node. A failed
operation adds to the fail count (a failed start sets it to INFINITY while
start-failure-is-fatal). Fencing a node erases its history and transient
attributes, as the controller does once fencing is confirmed.
"""

from __future__ import annotations

import dataclasses

from appliance.model.attributes import Attributes
from appliance.model.resources import AgentRef
from appliance.model.status import (
    FORCE_RESTART_EXTRA,
    PARAMS_EXTRA,
    FailCount,
    NodeState,
    OpRecord,
    ResourceHistory,
    Status,
)
from appliance.model.values import INFINITY
from guest.agents.results import ExecStatus, OcfRc, OpResult

# Pacemaker's enum pcmk_exec_status
EXEC_STATUS_CODES = {
    ExecStatus.DONE: 0, ExecStatus.CANCELLED: 1, ExecStatus.TIMEOUT: 2, ExecStatus.NOT_SUPPORTED: 3,
    ExecStatus.ERROR: 4, ExecStatus.NOT_INSTALLED: 7, ExecStatus.INVALID: 9,
}


def expected_rc(action: str, interval_ms: int, role: str | None = None) -> int:
    if action == "monitor" and interval_ms == 0:
        return OcfRc.NOT_RUNNING
    if action == "monitor" and role == "Promoted":
        return OcfRc.RUNNING_PROMOTED
    if action == "monitor" and role == "Stopped":      # a monitor that checks it is not running
        return OcfRc.NOT_RUNNING
    return OcfRc.OK


def is_failure(action: str, interval_ms: int, result: OpResult, role: str | None = None) -> bool:
    """Would Pacemaker count this result as a failure? (A probe finding the resource active is not one.)"""
    if result.exec_status != ExecStatus.DONE:
        return result.exec_status != ExecStatus.CANCELLED
    if action == "monitor" and interval_ms == 0:
        return result.rc not in (OcfRc.OK, OcfRc.NOT_RUNNING, OcfRc.RUNNING_PROMOTED)
    if action == "stop" and result.rc == OcfRc.NOT_RUNNING:
        return False
    return result.rc != expected_rc(action, interval_ms, role)


CONTROLLER_UUID = "d4c0de00-0000-4000-8000-000000000000"   # drover's transition keys (Pacemaker needs one)


def transition_extra(target_rc: int, op_status: int, rc: int) -> Attributes:
    """transition-key / transition-magic: how Pacemaker knows the result an operation was expected to give."""
    key = f"0:0:{target_rc}:{CONTROLLER_UUID}"
    return Attributes.of({"transition-key": key, "transition-magic": f"{op_status}:{rc};{key}"})


CALL_FLOOR = "drover-call-floor"   # on a pending record: the highest call id on the node when it was written


def next_call_id(status: Status, node: str) -> int:
    """Call ids grow per node (the scheduler reads history in call-id order), also past pending records."""
    ids = [op.call_id for entry in status.history if entry.node == node for op in entry.ops if op.call_id > 0]
    ids += [int(op.extra.get(CALL_FLOOR) or 0) for entry in status.history if entry.node == node
            for op in entry.ops if op.call_id < 0]
    return max(ids, default=0) + 1


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One operation's result, ready to be recorded."""

    node: str
    resource: str
    agent: AgentRef
    action: str
    interval_ms: int
    result: OpResult
    now: int                    # epoch seconds
    role: str | None = None     # the role a recurring monitor checks
    container: str | None = None
    migration: tuple[str, str] | None = None    # migrate_to/migrate_from: (source, target)
    shutdown_lock: int | None = None            # a stop that locks it to its node, which shuts down (since)


def _with_migration(extra: Attributes, migration: tuple[str, str] | None) -> Attributes:
    """Pacemaker's migrate_source/migrate_target attributes of a migration's record."""
    if migration is None:
        return extra
    return extra.set("migrate_source", migration[0]).set("migrate_target", migration[1])


def record_result(status: Status, outcome: Outcome, start_failure_is_fatal: bool = True) -> Status:
    call_id = next_call_id(status, outcome.node)
    result = outcome.result
    failure = is_failure(outcome.action, outcome.interval_ms, result, outcome.role)
    rc = result.rc
    if outcome.action == "stop" and rc == OcfRc.NOT_RUNNING and result.exec_status == ExecStatus.DONE:
        rc = OcfRc.OK
    op_status = EXEC_STATUS_CODES.get(result.exec_status, 4)
    record = OpRecord(
        id="", operation=outcome.action, interval_ms=outcome.interval_ms, call_id=call_id, rc_code=rc,
        op_status=op_status, operation_key=f"{outcome.resource}_{outcome.action}_{outcome.interval_ms}",
        last_rc_change=outcome.now, exit_reason=result.exit_reason,
        extra=_with_migration(transition_extra(expected_rc(outcome.action, outcome.interval_ms, outcome.role),
                                               op_status, rc), outcome.migration))
    entry = next((h for h in status.history if h.node == outcome.node and h.resource == outcome.resource), None)
    ops = list(entry.ops) if entry is not None else []
    if outcome.interval_ms:
        ops = [op for op in ops if op.id != f"{outcome.resource}_monitor_{outcome.interval_ms}"]
        ops.append(dataclasses.replace(record, id=f"{outcome.resource}_monitor_{outcome.interval_ms}"))
    else:
        previous = next((op for op in ops if op.id == f"{outcome.resource}_last_0"), None)
        kept = previous.extra.get(PARAMS_EXTRA) if previous is not None else None
        if kept and outcome.action not in ("start", "stop"):      # still running with those parameters
            record = dataclasses.replace(record, extra=record.extra.set(PARAMS_EXTRA, kept))
            restart = previous.extra.get(FORCE_RESTART_EXTRA)
            if restart is not None:                                # (and what of them it cannot reload)
                record = dataclasses.replace(record, extra=record.extra.set(FORCE_RESTART_EXTRA, restart))
        ops = [op for op in ops if op.id != f"{outcome.resource}_last_0"]
        if outcome.action == "stop" and not failure:
            ops = [op for op in ops if op.interval_ms == 0 or op.id.endswith("_last_failure_0")]
        ops.append(dataclasses.replace(record, id=f"{outcome.resource}_last_0"))
    if failure:
        ops = [op for op in ops if op.id != f"{outcome.resource}_last_failure_0"]
        ops.append(dataclasses.replace(record, id=f"{outcome.resource}_last_failure_0", call_id=call_id))
    ops.sort(key=lambda op: op.call_id)
    # the lock a stop for a shutdown leaves stays until the resource starts again
    lock = entry.shutdown_lock if entry is not None else None
    if outcome.action == "stop" and not failure and outcome.shutdown_lock:
        lock = outcome.shutdown_lock
    elif outcome.action in ("start", "migrate_from"):
        lock = None
    updated = ResourceHistory(outcome.node, outcome.resource, outcome.agent, tuple(ops),
                              outcome.container if entry is None else entry.container, lock)
    history = (*tuple(h for h in status.history if h is not entry), updated)
    status = dataclasses.replace(status, history=history)
    if failure:
        fatal = outcome.action == "start" and start_failure_is_fatal
        status = add_failure(status, outcome.node, outcome.resource, outcome.action, outcome.interval_ms,
                             outcome.now, INFINITY if fatal else 1)
    return status


OP_TOKEN = "drover-op"     # pending record extra (and CRM_meta_drover_op of the agent process): which run it is


def record_pending(status: Status, node: str, resource: str, agent: AgentRef, action: str, now: int,
                   container: str | None = None, token: str = "", params: str | None = None,
                   migration: tuple[str, str] | None = None) -> Status:
    """An operation about to run (Pacemaker's record-pending): if the controller dies before its result is
    recorded, the next controller sees it was in flight and probes instead of guessing. It keeps the
    parameters it runs with (`params`, else those of the record it replaces): a stop of it as a deleted
    resource needs them."""
    extra = _with_migration(transition_extra(0, -1, 193), migration)            # 193: pending
    extra = extra.set(CALL_FLOOR, str(next_call_id(status, node) - 1))
    pending = OpRecord(f"{resource}_last_0", action, 0, -1, 0, -1, f"{resource}_{action}_0", now,
                       extra=extra.set(OP_TOKEN, token) if token else extra)
    entry = next((h for h in status.history if h.node == node and h.resource == resource), None)
    replaced = next((op for op in (entry.ops if entry is not None else ()) if op.id == pending.id), None)
    params = params or (replaced.extra.get(PARAMS_EXTRA) if replaced is not None else None)
    if params:
        pending = dataclasses.replace(pending, extra=pending.extra.set(PARAMS_EXTRA, params))
    ops = [op for op in (entry.ops if entry is not None else ()) if op.id != pending.id]
    updated = ResourceHistory(node, resource, agent, (*ops, pending), container if entry is None else entry.container)
    return dataclasses.replace(status, history=(*(h for h in status.history if h is not entry), updated))


def has_pending(entry: ResourceHistory) -> bool:
    return any(op.op_status == -1 for op in entry.ops)


def pending_tokens(entry: ResourceHistory) -> list[str]:
    return [op.extra.get(OP_TOKEN) or "" for op in entry.ops if op.op_status == -1]


def add_failure(status: Status, node: str, resource: str, action: str, interval_ms: int, now: int,
                amount: int) -> Status:
    key = (node, resource, action, interval_ms)
    current = next((f for f in status.fail_counts if (f.node, f.resource, f.operation, f.interval_ms) == key), None)
    count = min((current.count if current else 0) + amount, INFINITY)
    others = tuple(f for f in status.fail_counts if f is not current)
    return dataclasses.replace(status, fail_counts=(*others, FailCount(node, resource, action, interval_ms,
                                                                         count, now)))


def clear_fail_counts(status: Status, keys: list[tuple[str, str]]) -> Status:
    """Forget the fail counts of (resource, node) pairs (all operations)."""
    wanted = set(keys)
    return dataclasses.replace(status, fail_counts=tuple(f for f in status.fail_counts
                                                         if (f.resource, f.node) not in wanted))


def fence(status: Status, node: str) -> Status:
    """A fenced node (a guest whose VM was reset) starts from nothing."""
    history = tuple(h for h in status.history if h.node != node)
    attributes = tuple((name, attrs) for name, attrs in status.attributes if name != node)
    status = dataclasses.replace(status, history=history, attributes=attributes)
    current = status.node_state(node)
    if current is not None and current.extra.get("remote_node") == "true":
        status = remote_node_state(status, node, up=False)
    return status


def cluster_node_up(status: Status, name: str, node_id: str) -> Status:
    state = NodeState(name, node_id, in_ccm="true", crmd="online", join="member", expected="member")
    current = status.node_state(name)
    if current == state:
        return status
    others = tuple(s for s in status.nodes if s.name != name)
    return dataclasses.replace(status, nodes=(*others, state))


def forget_hosts(status: Status, hosts: frozenset[str]) -> Status:
    """Hosts that (re)joined: their history is learned again by probing them (what they run now), as Pacemaker's
    DC has a joining node's controller upload its own state. Fail counts are kept, and so are entries that lock
    a resource to the host (shutdown-lock), as Pacemaker's DC erases only unlocked ones."""
    history = tuple(h for h in status.history if h.node not in hosts or h.shutdown_lock)
    if len(history) != len(status.history):
        status = dataclasses.replace(status, history=history)
    for host in hosts:                      # a shutdown it asked for before it was restarted is over
        if status.transient(host).get("shutdown") is not None:
            status = status.with_transient(host, status.transient(host).without("shutdown"))
    return status


def cluster_node_down(status: Status, name: str, node_id: str) -> Status:
    """A host that left corosync's membership (it did not say goodbye: it stays expected, as Pacemaker's DC
    records a lost peer). A host never seen keeps no node_state."""
    current = status.node_state(name)
    if current is None or (current.in_ccm == "false" and current.join == "down"):
        return status
    left_cleanly = (status.transient(name).get("shutdown") or "0") != "0"
    state = NodeState(name, node_id, in_ccm="false", crmd="offline", join="down",
                      expected="down" if left_cleanly else "member")
    if current == state:
        return status
    others = tuple(s for s in status.nodes if s.name != name)
    # its transient attributes went with it, as the DC erases a lost peer's
    return dataclasses.replace(status, nodes=(*others, state)).with_transient(name, Attributes())


def remote_node_state(status: Status, name: str, up: bool) -> Status:
    """A guest or remote node's membership, as the controller records it when its connection starts or stops
    (Pacemaker reads such a node's attributes only once it has a node_state)."""
    current = status.node_state(name)
    extra = (current.extra if current is not None else Attributes()).set("remote_node", "true")
    state = NodeState(name, name, in_ccm="true" if up else "false", crmd=current.crmd if current else "offline",
                      extra=extra)
    if current == state:
        return status
    return dataclasses.replace(status, nodes=(*(s for s in status.nodes if s.name != name), state))


def remove_recurring(status: Status, node: str, resource: str, interval_ms: int) -> Status:
    """A recurring monitor that is no longer wanted (cancelled) leaves the history."""
    entry = next((h for h in status.history if h.node == node and h.resource == resource), None)
    if entry is None:
        return status
    ops = tuple(op for op in entry.ops if not (op.interval_ms == interval_ms and op.interval_ms))
    if ops == entry.ops:
        return status
    history = (*tuple(h for h in status.history if h is not entry), dataclasses.replace(entry, ops=ops))
    return dataclasses.replace(status, history=history)


def set_extras(status: Status, entry: ResourceHistory, record: OpRecord, values: dict[str, str]) -> Status:
    """Keep attributes on one history record (the parameters a resource was started with, its digest)."""
    extra = record.extra
    for name, value in values.items():
        extra = extra.set(name, value)
    updated_record = dataclasses.replace(record, extra=extra)
    ops = tuple(updated_record if op is record else op for op in entry.ops)
    history = tuple(dataclasses.replace(h, ops=ops) if h is entry else h for h in status.history)
    return dataclasses.replace(status, history=history)


def host_fenced(status: Status, name: str) -> Status:
    """A cluster host that was fenced: down and expected down, nothing running there any more, its transient
    attributes gone (as Pacemaker's DC records a fenced node)."""
    current = status.node_state(name)
    state = NodeState(name, current.id if current is not None else name, in_ccm="false", crmd="offline",
                      join="down", expected="down")
    history = tuple(h for h in status.history if h.node != name)
    others = tuple(s for s in status.nodes if s.name != name)
    return dataclasses.replace(status, nodes=(*others, state), history=history).with_transient(name, Attributes())
