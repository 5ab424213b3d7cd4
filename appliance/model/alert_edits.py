"""Pure edits of the alerts behind `drover alert` (pcs alert): create, update, remove alerts and their recipients.

Rules: pcs 0.11's ids (alert, alert-1, ...; ALERT-recipient, ALERT-recipient-1, ...) and messages; an option or
meta option given an empty value is removed, an empty description too; a recipient's value is unique within its
alert unless forced.
"""

from __future__ import annotations

import dataclasses

from appliance.model.alerts import Alert, Recipient
from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration, all_ids
from appliance.model.edits import unique_id
from appliance.model.values import ModelError, check_id, shown


def _updated(attrs: Attributes, changes: dict[str, str]) -> Attributes:
    for name, value in changes.items():
        attrs = attrs.set(name, value) if value != "" else attrs.without(name)
    return attrs


def _description(current: str | None, given: str | None) -> str | None:
    if given is None:
        return current
    return given or None


def _new_id(configuration: Configuration, given: str | None, wanted: str, what: str) -> str:
    if given is None:
        return unique_id(configuration, wanted)
    check_id(given, what)
    if given in {ident for ident, _ in all_ids(configuration)}:
        raise ModelError(f"'{given}' already exists")
    return given


def require_alert(configuration: Configuration, alert_id: str) -> Alert:
    alert = next((a for a in configuration.alerts if a.id == alert_id), None)
    if alert is None:
        raise ModelError(f"alert {shown(alert_id)} does not exist")
    return alert


def _replace(configuration: Configuration, alert: Alert) -> Configuration:
    return dataclasses.replace(configuration, alerts=tuple(alert if a.id == alert.id else a
                                                           for a in configuration.alerts))


def create_alert(configuration: Configuration, alert_id: str | None, path: str | None, options: dict[str, str],
                 meta: dict[str, str], description: str | None) -> Configuration:
    if not path:
        raise ModelError("required option 'path' is missing")
    new_id = _new_id(configuration, alert_id, "alert", "alert id")
    alert = Alert(new_id, path, description or None, _updated(Attributes(), options), _updated(Attributes(), meta))
    return dataclasses.replace(configuration, alerts=(*configuration.alerts, alert))


def update_alert(configuration: Configuration, alert_id: str, path: str | None, options: dict[str, str],
                 meta: dict[str, str], description: str | None) -> Configuration:
    alert = require_alert(configuration, alert_id)
    if path == "":
        raise ModelError("option 'path' cannot be empty")
    return _replace(configuration, dataclasses.replace(
        alert, path=path or alert.path, description=_description(alert.description, description),
        params=_updated(alert.params, options), meta=_updated(alert.meta, meta)))


def remove_alerts(configuration: Configuration, alert_ids: list[str]) -> Configuration:
    for alert_id in alert_ids:
        require_alert(configuration, alert_id)
    return dataclasses.replace(configuration, alerts=tuple(a for a in configuration.alerts if a.id not in alert_ids))


def _check_value_unique(alert: Alert, value: str, recipient_id: str, force: bool) -> None:
    if not force and any(r.value == value and r.id != recipient_id for r in alert.recipients):
        raise ModelError(f"Recipient {shown(value)} in alert {shown(alert.id)} already exists, use --force to "
                         "override")


def add_recipient(configuration: Configuration, alert_id: str, value: str | None, options: dict[str, str],
                  meta: dict[str, str], recipient_id: str | None, description: str | None,
                  force: bool = False) -> Configuration:
    alert = require_alert(configuration, alert_id)
    if not value:
        raise ModelError("required option 'value' is missing")
    new_id = _new_id(configuration, recipient_id, f"{alert.id}-recipient", "recipient id")
    _check_value_unique(alert, value, new_id, force)
    recipient = Recipient(new_id, value, description or None, _updated(Attributes(), options),
                          _updated(Attributes(), meta))
    return _replace(configuration, dataclasses.replace(alert, recipients=(*alert.recipients, recipient)))


def _owner(configuration: Configuration, recipient_id: str) -> tuple[Alert, Recipient]:
    for alert in configuration.alerts:
        for recipient in alert.recipients:
            if recipient.id == recipient_id:
                return alert, recipient
    raise ModelError(f"recipient {shown(recipient_id)} does not exist")


def update_recipient(configuration: Configuration, recipient_id: str, options: dict[str, str], meta: dict[str, str],
                     value: str | None, description: str | None, force: bool = False) -> Configuration:
    alert, recipient = _owner(configuration, recipient_id)
    if value == "":
        raise ModelError("Recipient value '' is not valid.")
    if value is not None:
        _check_value_unique(alert, value, recipient_id, force)
    updated = dataclasses.replace(recipient, value=value or recipient.value,
                                  description=_description(recipient.description, description),
                                  params=_updated(recipient.params, options), meta=_updated(recipient.meta, meta))
    return _replace(configuration, dataclasses.replace(
        alert, recipients=tuple(updated if r.id == recipient_id else r for r in alert.recipients)))


def remove_recipients(configuration: Configuration, recipient_ids: list[str]) -> Configuration:
    for recipient_id in recipient_ids:
        _owner(configuration, recipient_id)
    return dataclasses.replace(configuration, alerts=tuple(
        dataclasses.replace(a, recipients=tuple(r for r in a.recipients if r.id not in recipient_ids))
        for a in configuration.alerts))
