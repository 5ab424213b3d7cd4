"""Alerts: Pacemaker's <alerts> as data, and what each recipient of an alert is sent.

Rules: an alert names an agent (`path`) that is run on node, fencing, resource and attribute events; its
instance attributes become the agent's environment, its meta attributes say `timeout` (default 30s) and
`timestamp-format` (default %H:%M:%S.%06N); a <select> limits the events (and attribute events to some names).
Each recipient is one run of the agent per event, with the alert's settings and its own on top (its own
select replaces the alert's); an alert without recipients runs once, with no recipient. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.model.attributes import Attributes
from appliance.model.values import ModelError, parse_interval_ms

KINDS = ("node", "fencing", "resource", "attribute")
SELECT_ELEMENTS = {"node": "select_nodes", "fencing": "select_fencing", "resource": "select_resources",
                   "attribute": "select_attributes"}
DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_TIMESTAMP_FORMAT = "%H:%M:%S.%06N"


@dataclass(frozen=True)
class AlertSelect:
    """<select>: the kinds of events wanted; `attributes` narrows attribute events to those names."""

    kinds: tuple[str, ...]
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recipient:
    id: str
    value: str
    description: str | None = None
    params: Attributes = field(default_factory=Attributes)      # instance_attributes: the agent's environment
    meta: Attributes = field(default_factory=Attributes)
    select: AlertSelect | None = None


@dataclass(frozen=True)
class Alert:
    id: str
    path: str
    description: str | None = None
    params: Attributes = field(default_factory=Attributes)
    meta: Attributes = field(default_factory=Attributes)
    select: AlertSelect | None = None
    recipients: tuple[Recipient, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One run of an alert agent for each event it wants: to one recipient (or to none)."""

    alert: str
    path: str
    recipient: str | None
    environment: Attributes
    timeout_ms: int
    timestamp_format: str
    select: AlertSelect | None

    def wants(self, kind: str, attribute: str | None = None) -> bool:
        if self.select is None:
            return True
        if kind not in self.select.kinds:
            return False
        return kind != "attribute" or not self.select.attributes or attribute in self.select.attributes


def _timeout_ms(meta: Attributes) -> int:
    text = meta.get("timeout")
    if text is None:
        return DEFAULT_TIMEOUT_MS
    try:
        value = parse_interval_ms(text, "timeout")
    except ModelError:
        return DEFAULT_TIMEOUT_MS
    return value if value > 0 else DEFAULT_TIMEOUT_MS


def deliveries(alerts: tuple[Alert, ...]) -> list[Delivery]:
    found: list[Delivery] = []
    for alert in alerts:
        targets: list[tuple[str | None, Attributes, Attributes, AlertSelect | None]] = [
            (r.value, Attributes.of((*r.params, *alert.params)), Attributes.of((*r.meta, *alert.meta)),
             r.select or alert.select) for r in alert.recipients]
        for recipient, params, meta, select in targets or [(None, alert.params, alert.meta, alert.select)]:
            found.append(Delivery(alert.id, alert.path, recipient, params, _timeout_ms(meta),
                                  meta.get("timestamp-format") or DEFAULT_TIMESTAMP_FORMAT, select))
    return found
