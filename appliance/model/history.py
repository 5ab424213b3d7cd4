"""What the operation history says: where a resource is active, and status edits (cleanup, attributes).

Rules: pure functions over Status. A resource's state on a node is read from
its history entries in call-id order the way Pacemaker reads them for the
common cases (start/stop/promote/demote/probe/monitor results); clone instances
recorded as RSC:N count as RSC. The scheduler has its own, complete reading.
"""

from __future__ import annotations

import dataclasses

from appliance.model.status import OpRecord, ResourceHistory, Status

RC_NAMES = {0: "ok", 1: "error", 2: "invalid parameter", 3: "unimplemented feature", 4: "insufficient privileges",
            5: "not installed", 6: "not configured", 7: "not running", 8: "promoted", 9: "promoted (failed)",
            190: "degraded", 191: "degraded promoted"}          # services_ocf_exitcode_str
EXEC_STATUS_NAMES = {0: "complete", 1: "Cancelled", 2: "Timed Out", 3: "NOT SUPPORTED", 4: "Error",
                     5: "Hard error", 6: "Fatal error", 7: "Not installed", 8: "Not connected", 9: "Invalid"}
_OK, _NOT_RUNNING, _PROMOTED = 0, 7, 8
_PENDING = -1                     # op-status of an operation in flight (record-pending)


def base_id(resource_id: str) -> str:
    """'web:2' -> 'web' (Pacemaker's clone instance suffix)."""
    head, sep, tail = resource_id.rpartition(":")
    return head if sep and tail.isdigit() else resource_id


def _role_after(ops: tuple[OpRecord, ...]) -> str | None:
    role: str | None = None
    for op in sorted(ops, key=lambda o: o.call_id):
        if op.call_id < 0 or op.op_status not in (0,):
            continue
        if op.operation == "stop" and op.rc_code == _OK:
            role = None
        elif op.operation in ("start", "migrate_from", "migrate_to") and op.rc_code == _OK:
            role = "Started"
        elif op.operation == "promote" and op.rc_code == _OK:
            role = "Promoted"
        elif op.operation == "demote" and op.rc_code == _OK:
            role = "Unpromoted"
        elif op.operation == "monitor":
            if op.rc_code == _NOT_RUNNING:
                role = None
            elif op.rc_code == _PROMOTED:
                role = "Promoted"
            elif op.rc_code == _OK:
                role = role or "Started"
        elif op.operation in ("start", "promote") and op.rc_code not in (_OK, _NOT_RUNNING):
            role = role or "Started"       # a failed start may have left it half running: Pacemaker treats it as active
    return role


def active_on(status: Status, resource_id: str) -> list[tuple[str, str]]:
    """[(node, role)] where the history shows resource_id (or its clone instances) active."""
    found = []
    for entry in status.history:
        if base_id(entry.resource) == resource_id:
            role = _role_after(entry.ops)
            if role is not None:
                found.append((entry.node, role))
    return sorted(found)


def failed_on(status: Status) -> set[tuple[str, str]]:
    """(resource base id, node) wherever a resource has a fail count or a failed operation recorded."""
    failed = {(base_id(f.resource), f.node) for f in status.fail_counts if f.count > 0}
    for entry in status.history:
        for op in entry.ops:
            if op.op_status == _PENDING:
                continue
            probe = op.operation == "monitor" and op.interval_ms == 0
            expected = (_OK, _NOT_RUNNING, _PROMOTED) if probe else (_OK, _PROMOTED)
            if op.op_status != 0 or op.rc_code not in expected:
                failed.add((base_id(entry.resource), entry.node))
    return failed


def failed_resources(status: Status) -> set[str]:
    return {resource for resource, _ in failed_on(status)}


def cleanup(status: Status, resource_ids: set[str], node: str | None = None, failed_only: bool = True) -> Status:
    """crm_resource --cleanup: forget the fail counts and history of resource_ids on the nodes where they
    failed (elsewhere what is known stays known, as Pacemaker's clear_rsc_failures); failed_only=False is
    crm_resource --refresh: forget them on every node, failed or not, so they are probed again."""
    failed = failed_on(status)

    def matches(resource: str, where: str) -> bool:
        base = base_id(resource)
        return base in resource_ids and (node is None or where == node) and \
            (not failed_only or (base, where) in failed)

    # an operation in flight stays recorded: forgetting it would let the next controller run it a second time
    history = tuple(h if not matches(h.resource, h.node) else
                    dataclasses.replace(h, ops=tuple(op for op in h.ops if op.op_status == _PENDING))
                    for h in status.history)
    history = tuple(h for h in history if h.ops)
    fail_counts = tuple(f for f in status.fail_counts if not matches(f.resource, f.node))
    return dataclasses.replace(status, history=history, fail_counts=fail_counts)


def set_transient(status: Status, node: str, name: str, value: str | None) -> Status:
    current = status.transient(node)
    updated = current.set(name, value) if value is not None else current.without(name)
    return status.with_transient(node, updated)


def record(status: Status, entry: ResourceHistory) -> Status:
    """Replace the history of entry.resource on entry.node."""
    others = tuple(h for h in status.history if not (h.node == entry.node and h.resource == entry.resource))
    return dataclasses.replace(status, history=(*others, entry))

