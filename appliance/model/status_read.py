"""Read a CIB <status> section: node_state, transient attributes, fail counts, lrm history.

Rules: node names come from uname (remote nodes: their id); transient
fail-count-*/last-failure-* attributes become FailCount records; history
attributes the model does not name are kept verbatim in `extra`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from appliance.model.attributes import Attributes
from appliance.model.resources import AgentRef
from appliance.model.status import (
    FailCount,
    NodeState,
    OpRecord,
    ResourceHistory,
    Status,
    TicketState,
    split_fail_attribute,
)
from appliance.model.values import ModelError, is_true

Fail = Callable[[ET.Element, str], ModelError]

_OP_KNOWN = frozenset(("id", "operation", "interval", "call-id", "rc-code", "op-status", "operation_key",
                       "last-rc-change", "exit-reason"))
_STATE_KNOWN = ("id", "uname", "in_ccm", "crmd", "join", "expected")


def _int(element: ET.Element, name: str, fail: Fail, default: str | None = None) -> int:
    value = element.get(name, default)
    if value is None:
        raise fail(element, f"missing required attribute '{name}'")
    try:
        return int(value)
    except ValueError:
        raise fail(element, f"invalid {name} '{value}': expected an integer") from None


def _op(element: ET.Element, fail: Fail) -> OpRecord:
    attrib = element.attrib
    op_id, operation = attrib.get("id"), attrib.get("operation")
    if not op_id or not operation:
        raise fail(element, "history entries need id and operation")
    last_change = attrib.get("last-rc-change")
    try:        # (the common case in one go: a history holds hundreds of thousands of these)
        numbers = (int(attrib.get("interval", "0")), int(attrib.get("call-id", "0")), int(attrib["rc-code"]),
                   int(attrib.get("op-status", "0")), int(last_change) if last_change is not None else None)
    except (KeyError, ValueError):
        numbers = (_int(element, "interval", fail, "0"), _int(element, "call-id", fail, "0"),
                   _int(element, "rc-code", fail), _int(element, "op-status", fail, "0"),
                   _int(element, "last-rc-change", fail) if last_change is not None else None)
    interval_ms, call_id, rc_code, op_status, changed = numbers
    extra = dict(attrib)
    for name in _OP_KNOWN:
        extra.pop(name, None)
    return OpRecord(op_id, operation, interval_ms, call_id, rc_code, op_status, attrib.get("operation_key"),
                    changed, attrib.get("exit-reason", ""),
                    # (an element's attributes are unique already: no need for Attributes.of's first-wins pass)
                    Attributes(tuple(extra.items())))


def _history(node: str, lrm: ET.Element, fail: Fail) -> list[ResourceHistory]:
    entries = []
    for resource in lrm.iter("lrm_resource"):
        if not resource.get("id") or not resource.get("class") or not resource.get("type"):
            raise fail(resource, "lrm_resource needs id, class and type")
        agent = AgentRef(resource.get("class", ""), resource.get("type", ""), resource.get("provider"))
        ops = tuple(_op(op, fail) for op in resource.findall("lrm_rsc_op"))
        lock = resource.get("shutdown-lock")
        entries.append(ResourceHistory(node, resource.get("id", ""), agent, ops, resource.get("container"),
                                       _int(resource, "shutdown-lock", fail) if lock is not None else None))
    return entries


def read_status(element: ET.Element, fail: Fail, skip_unnamed: bool = False) -> Status:
    """`skip_unnamed`: pass over a node_state without an id, as Pacemaker does, instead of refusing it."""
    states: list[NodeState] = []
    attributes: list[tuple[str, Attributes]] = []
    fails: dict[tuple[str, str, str, int], dict[str, int]] = {}
    history: list[ResourceHistory] = []
    for state in element.findall("node_state"):
        node_id = state.get("id")
        if not node_id and skip_unnamed:
            continue
        if not node_id:
            raise fail(state, "node_state needs an id")
        name = state.get("uname") or node_id
        extra = Attributes.of((k, v) for k, v in state.attrib.items() if k not in _STATE_KNOWN)
        states.append(NodeState(name, node_id, state.get("in_ccm"), state.get("crmd", "offline"),
                                state.get("join"), state.get("expected"), extra))
        plain: list[tuple[str, str]] = []
        for pair in state.findall("transient_attributes/instance_attributes/nvpair"):
            attr_name, value = pair.get("name", ""), pair.get("value", "")
            parsed = split_fail_attribute(attr_name)
            if parsed is None:
                plain.append((attr_name, value))
                continue
            kind, resource, operation, interval = parsed
            try:
                number = int(value) if value.lstrip("-").isdigit() else (1_000_000 if "INFINITY" in value else 0)
            except ValueError:
                number = 0
            fails.setdefault((name, resource, operation, interval), {})[kind] = number
        if plain:
            attributes.append((name, Attributes.of(plain)))
        for lrm in state.findall("lrm"):
            history.extend(_history(name, lrm, fail))
    fail_counts = tuple(FailCount(node, rsc, op, interval, values.get("fail-count", 0), values.get("last-failure"))
                        for (node, rsc, op, interval), values in fails.items())
    tickets = tuple(_ticket(state, fail) for state in element.findall("tickets/ticket_state"))
    return Status(tuple(states), tuple(attributes), fail_counts, tuple(history), tickets=tickets)


def _ticket(element: ET.Element, fail: Fail) -> TicketState:
    ticket = element.get("id")
    if not ticket:
        raise fail(element, "ticket_state needs an id")
    extra = Attributes.of((k, v) for k, v in element.attrib.items() if k not in ("id", "granted", "standby"))
    return TicketState(ticket, is_true(element.get("granted", "false")), is_true(element.get("standby", "false")),
                       extra)
