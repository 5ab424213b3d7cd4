"""Model objects <-> JSON-compatible values, driven by the dataclasses' type hints.

Rules: used for storage (one JSON document per resource, constraint, node);
a union member is tagged with its class name under "@"; decoding rejects
unknown kinds and fields, so a corrupted row is an error, not a half object.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any

from appliance.model import alerts, bundles, constraints, nodes, references, resources, rule_sets, status
from appliance.model.attributes import Attributes
from appliance.model.values import ModelError

TAG = "@"
_CLASSES = {cls.__name__: cls for cls in (
    resources.Primitive, resources.Group, resources.Clone, resources.Op, resources.AgentRef, resources.Template,
    resources.TemplateUse, references.Tag, alerts.Alert, alerts.Recipient, alerts.AlertSelect, rule_sets.RuleSet,
    constraints.RscExpression, constraints.OpExpression,
    constraints.Location, constraints.Colocation, constraints.Order, constraints.Rule, constraints.Expression,
    constraints.DateExpression, constraints.ResourceSet, constraints.TicketConstraint, nodes.Node,
    bundles.Bundle, status.NodeState, status.FailCount, status.OpRecord, status.ResourceHistory, status.TicketState,
)}
_NAMESPACE = {**{name: cls for name, cls in _CLASSES.items()}, "Attributes": Attributes,
              "Resource": resources.Resource, "Constraint": constraints.Constraint}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, localns=_NAMESPACE)


_REQUIRED = object()


@cache
def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """(field, default) of each field in order; a field without a default has _REQUIRED."""
    return tuple((field.name, field.default if field.default is not dataclasses.MISSING
                  else field.default_factory() if field.default_factory is not dataclasses.MISSING else _REQUIRED)
                 for field in dataclasses.fields(cls))


def encode(value: Any) -> Any:
    if isinstance(value, Attributes):
        return [list(pair) for pair in value.items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded: dict[str, Any] = {TAG: type(value).__name__}
        for name, default in _defaults(type(value)):
            item = getattr(value, name)
            # a field left out is its default when read back: only what equals it is left out (an "empty" value
            # of a field with another default, e.g. a node_state without in_ccm, is kept)
            if default is _REQUIRED or item != default:
                encoded[name] = encode(item)
        return encoded
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    return value


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is Attributes:
        return Attributes(tuple((str(name), str(val)) for name, val in value))
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if isinstance(value, dict):
            cls = _CLASSES.get(value.get(TAG, ""))
            if cls is None or cls not in options:
                raise ModelError(f"stored object of unexpected kind {value.get(TAG)!r}")
            return decode_object(cls, value)
        return _decode(options[0], value)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        return tuple(_decode(item_hint, item) for item in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode_object(hint, value)
    if hint in (int, str, bool) and not isinstance(value, hint):
        raise ModelError(f"stored value {value!r} is not a {hint.__name__}")
    return value


def decode_object(cls: type, data: dict[str, Any]) -> Any:
    if data.get(TAG, cls.__name__) != cls.__name__:
        raise ModelError(f"stored object is a {data.get(TAG)}, expected {cls.__name__}")
    hints = _hints(cls)
    unknown = set(data) - set(hints) - {TAG}
    if unknown:
        raise ModelError(f"stored {cls.__name__} has unknown fields {sorted(unknown)}")
    arguments = {name: _decode(hints[name], value) for name, value in data.items() if name != TAG}
    return cls(**arguments)


def decode_union(data: dict[str, Any], *allowed: type) -> Any:
    cls = _CLASSES.get(data.get(TAG, ""))
    if cls is None or cls not in allowed:
        raise ModelError(f"stored object of unexpected kind {data.get(TAG)!r}")
    return decode_object(cls, data)


def dumps(value: Any) -> str:
    return json.dumps(encode(value), separators=(",", ":"), sort_keys=True)
