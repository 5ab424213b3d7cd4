"""Cluster status: node membership, transient attributes, fail counts, operation history, fencing history.

Rules: this is Pacemaker's <status> section as data. Fail counts live in
Pacemaker as transient attributes fail-count-RSC#OP_INTERVAL / last-failure-...;
here they are their own records and are turned back into those attributes on
export. Unknown XML attributes of history entries are kept in `extra`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field

from appliance.model.attributes import Attributes
from appliance.model.fence_history import FenceEvent
from appliance.model.resources import AgentRef


@dataclass(frozen=True)
class NodeState:
    name: str
    id: str
    in_ccm: str | None = "false"      # None: the node_state has no in_ccm (never seen by the cluster layer)
    crmd: str = "offline"
    join: str | None = None
    expected: str | None = None
    extra: Attributes = field(default_factory=Attributes)


@dataclass(frozen=True)
class FailCount:
    node: str
    resource: str
    operation: str
    interval_ms: int
    count: int
    last_failure: int | None = None   # epoch seconds


@dataclass(frozen=True)
class OpRecord:
    """One <lrm_rsc_op>: the last result of one operation key on one node."""

    id: str
    operation: str
    interval_ms: int
    call_id: int
    rc_code: int
    op_status: int
    operation_key: str | None = None
    last_rc_change: int | None = None
    exit_reason: str = ""
    extra: Attributes = field(default_factory=Attributes)


@dataclass(frozen=True)
class ResourceHistory:
    """One <lrm_resource> on one node."""

    node: str
    resource: str
    agent: AgentRef
    ops: tuple[OpRecord, ...] = ()
    container: str | None = None
    shutdown_lock: int | None = None      # when its node shut down with shutdown-lock (epoch seconds)


@dataclass(frozen=True)
class TicketState:
    """<ticket_state id=... granted=... standby=...>; a ticket with no state is not granted."""

    id: str
    granted: bool = False
    standby: bool = False
    extra: Attributes = field(default_factory=Attributes)      # last-granted, owner, ... kept as they are


@dataclass(frozen=True)
class Status:
    nodes: tuple[NodeState, ...] = ()
    attributes: tuple[tuple[str, Attributes], ...] = ()    # node name -> transient (reboot) attributes
    fail_counts: tuple[FailCount, ...] = ()
    history: tuple[ResourceHistory, ...] = ()
    fencing: tuple[FenceEvent, ...] = ()       # not in Pacemaker's <status>: its fencer's history
    tickets: tuple[TicketState, ...] = ()      # <tickets><ticket_state>

    def node_state(self, name: str) -> NodeState | None:
        return next((state for state in self.nodes if state.name == name), None)

    def ticket_state(self, ticket: str) -> TicketState | None:
        return next((state for state in self.tickets if state.id == ticket), None)

    def ticket(self, ticket: str) -> TicketState:
        """The ticket's state; a ticket without one is not granted."""
        return self.ticket_state(ticket) or TicketState(ticket)

    def with_ticket(self, state: TicketState) -> Status:
        """`state` replaces the ticket's state (kept in place, new tickets last)."""
        if self.ticket_state(state.id) is None:
            return dataclasses.replace(self, tickets=(*self.tickets, state))
        return dataclasses.replace(self, tickets=tuple(state if t.id == state.id else t for t in self.tickets))

    def without_ticket(self, ticket: str) -> Status:
        return dataclasses.replace(self, tickets=tuple(t for t in self.tickets if t.id != ticket))

    def transient(self, node: str) -> Attributes:
        return next((attrs for name, attrs in self.attributes if name == node), Attributes())

    def with_transient(self, node: str, attrs: Attributes) -> Status:
        others = tuple((name, a) for name, a in self.attributes if name != node)
        updated = (*others, (node, attrs)) if len(attrs) else others
        return dataclasses.replace(self, attributes=updated)


PARAMS_EXTRA = "drover-params"     # history extra: the parameters a resource was started with (JSON)
# beside it, for an agent that can reload: Pacemaker's list of the parameters whose change needs a restart
FORCE_RESTART_EXTRA = "op-force-restart"


def pacemaker_digest(params) -> str:
    """Pacemaker's op-digest of parameters: the MD5 of " <parameters NAME="VALUE".../>\\n", names sorted (its
    v1 operation digest; CRM_meta_* are never part of a one-time operation's)."""
    inner = "".join(f' {name}="{_xml_attribute(value)}"' for name, value in sorted(dict(params).items()))
    return hashlib.md5(f" <parameters{inner}/>\n".encode(), usedforsecurity=False).hexdigest()


def recorded_digest_matches(extra: Attributes, params: dict[str, str], fence_device: bool = False) -> bool:
    """Whether an operation Pacemaker recorded ran with `params` (CRM_meta_timeout included for a recurring one):
    its op-digest is theirs, or, as crm_simulate assumes of an input whose secrets may have been masked, its
    op-secure-digest is once the op-secure-params and the timeout are left out (and, from older recorders, a fence
    device's pcmk_ parameters), as Pacemaker 2.1.5 compares them."""
    if extra.get("op-digest") == pacemaker_digest(params):
        return True
    secure_digest, secure_names = extra.get("op-secure-digest"), extra.get("op-secure-params")
    if secure_digest is None or secure_names is None:
        return False
    # (the timeout never survives: Pacemaker filters the parameters a second time, when the interval is gone)
    kept = {name: value for name, value in params.items()
            if name not in secure_names.split() and name != "CRM_meta_timeout"}
    if fence_device and _feature_set(extra.get("crm_feature_set")) < (3, 16, 0):
        kept = {name: value for name, value in kept.items() if not name.startswith("pcmk_")}
    return secure_digest == pacemaker_digest(kept)


def _feature_set(text: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in (text or "0").split("."))
    except ValueError:
        return (0,)


def _xml_attribute(value: str) -> str:
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\n", "&#10;"),
                         ("\r", "&#13;"), ("\t", "&#9;")):
        value = value.replace(raw, escaped)
    return value


def encode_params(params) -> str:
    """The canonical form kept in the history and compared to the configuration (a changed one restarts)."""
    return json.dumps(dict(params), sort_keys=True)


_FAIL_ATTRIBUTE = re.compile(r"(fail-count|last-failure)-(.+)#(\w+)_(\d+)")
_LEGACY_FAIL_ATTRIBUTE = re.compile(r"(fail-count|last-failure)-([^#]+)")


def split_fail_attribute(name: str) -> tuple[str, str, str, int] | None:
    """'fail-count-db#monitor_10000' -> ('fail-count', 'db', 'monitor', 10000); Pacemaker 1.x's per-resource
    'fail-count-db' (which 2.1.5 still counts) -> ('fail-count', 'db', '', 0)."""
    match = _FAIL_ATTRIBUTE.fullmatch(name)
    if match:
        return match.group(1), match.group(2), match.group(3), int(match.group(4))
    legacy = _LEGACY_FAIL_ATTRIBUTE.fullmatch(name)
    if legacy:
        return legacy.group(1), legacy.group(2), "", 0
    return None


def fail_attribute_names(fail: FailCount) -> tuple[str, str]:
    suffix = f"{fail.resource}#{fail.operation}_{fail.interval_ms}" if fail.operation else fail.resource
    return f"fail-count-{suffix}", f"last-failure-{suffix}"
