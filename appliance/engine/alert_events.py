"""The events alerts are sent for, read from what changed between two states of the status section.

Rules: pure. A node event when a node comes up or goes down (desc member/lost); a fencing event when a fencing
request ends (done or failed); a resource event for each operation result recorded (not for a pending one, nor
for a probe that found what was expected, as Pacemaker's executor skips those); an attribute event for each
transient node attribute set, changed or removed, and for fail counts (Pacemaker keeps them as attributes).
Fields are the CRM_alert_* variables without their prefix; the sender adds kind, recipient and timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.model.attributes import Attributes
from appliance.model.history import EXEC_STATUS_NAMES, RC_NAMES
from appliance.model.status import NodeState, OpRecord, ResourceHistory, Status

_PENDING = -1
_DOWN = ("", "false", "offline", "0")


@dataclass(frozen=True)
class AlertEvent:
    kind: str                       # node, fencing, resource, attribute
    fields: Attributes              # node, desc, nodeid, rsc, task, interval, rc, status, target_rc, ...
    attribute: str | None = None    # an attribute event's name (alerts may select by it)


def _up(state: NodeState | None) -> bool:
    """A cluster node is up while in membership with its controller online; a guest or remote node while its
    connection is (records.remote_node_state)."""
    if state is None or state.in_ccm is None or state.in_ccm in _DOWN:
        return False
    return state.extra.get("remote_node") == "true" or state.crmd not in _DOWN


def _node_events(old: Status, new: Status) -> list[AlertEvent]:
    events = []
    names = [s.name for s in new.nodes] + [s.name for s in old.nodes if new.node_state(s.name) is None]
    for name in names:
        before, after = old.node_state(name), new.node_state(name)
        if _up(before) != _up(after):
            state = after or before
            assert state is not None
            events.append(AlertEvent("node", Attributes.of({
                "node": name, "desc": "member" if _up(after) else "lost",
                "nodeid": state.id if state.id.isdigit() else "0"})))
    return events


def _fencing_events(old: Status, new: Status) -> list[AlertEvent]:
    ended_before = {e.id for e in old.fencing if e.state != "pending"}
    events = []
    for event in new.fencing:
        if event.state == "pending" or event.id in ended_before:
            continue
        by = event.delegate or "<no-one>"
        outcome = "OK" if event.state == "done" else f"Error ({event.exit_reason})" if event.exit_reason else "Error"
        events.append(AlertEvent("fencing", Attributes.of({
            "node": event.target, "task": event.action, "rc": "0" if event.state == "done" else "1",
            "desc": f"Operation {event.action} of {event.target} by {by} for {event.client}@{event.origin}: "
                    f"{outcome}"})))
    return events


def _target_rc(op: OpRecord) -> int:
    key = op.extra.get("transition-key") or ""
    parts = key.split(":")
    return int(parts[2]) if len(parts) >= 3 and parts[2].lstrip("-").isdigit() else 0


def _resource_event(entry: ResourceHistory, op: OpRecord) -> AlertEvent | None:
    target_rc = _target_rc(op)
    if op.operation == "monitor" and op.interval_ms == 0 and op.rc_code == target_rc:
        return None
    desc = RC_NAMES.get(op.rc_code, "unknown") if op.op_status == 0 else EXEC_STATUS_NAMES.get(op.op_status,
                                                                                               "UNKNOWN!")
    return AlertEvent("resource", Attributes.of({
        "node": entry.node, "rsc": entry.resource, "task": op.operation, "interval": str(op.interval_ms),
        "target_rc": str(target_rc), "status": str(op.op_status), "rc": str(op.rc_code),
        "exec_time": op.extra.get("exec-time") or "0", "desc": desc}))


def _resource_events(old: Status, new: Status) -> list[AlertEvent]:
    before = {(e.node, e.resource, op.id): op for e in old.history for op in e.ops}
    events = []
    for entry in new.history:
        for op in entry.ops:
            previous = before.get((entry.node, entry.resource, op.id))
            if op.op_status == _PENDING or (previous is not None and (previous.call_id, previous.rc_code,
                                                                      previous.op_status) == (op.call_id, op.rc_code,
                                                                                              op.op_status)):
                continue
            event = _resource_event(entry, op)
            if event is not None:
                events.append(event)
    return events


def _attributes(status: Status) -> dict[tuple[str, str], str]:
    values = {(node, name): value for node, attrs in status.attributes for name, value in attrs}
    for count in status.fail_counts:
        key = f"{count.resource}#{count.operation}_{count.interval_ms}"
        values[(count.node, f"fail-count-{key}")] = str(count.count)
    return values


def _attribute_events(old: Status, new: Status) -> list[AlertEvent]:
    before, after = _attributes(old), _attributes(new)
    events = []
    for key in [*after, *(k for k in before if k not in after)]:
        if before.get(key) == after.get(key):
            continue
        node, name = key
        fields = {"node": node, "attribute_name": name}
        if key in after:
            fields["attribute_value"] = after[key]
        events.append(AlertEvent("attribute", Attributes.of(fields), name))
    return events


def events(old: Status, new: Status) -> list[AlertEvent]:
    """What happened between `old` and `new`, in the order alerts for it are sent."""
    if old == new:
        return []
    return [*_node_events(old, new), *_fencing_events(old, new), *_resource_events(old, new),
            *_attribute_events(old, new)]
