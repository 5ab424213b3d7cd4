"""Operations and results on the wire: dicts in request args and responses, validated on arrival.

A bad operation is an error *response* (the connection stays): the request was
well-formed protocol, just not an operation this side can run. Names that end
up in file paths or environment variable names are checked here, so a hostile
peer cannot reach outside the agent directories.
"""

from __future__ import annotations

import re
from typing import Any

from guest.agents.results import ACTIONS, STANDARDS, AgentSpec, Operation

# resource names: any id the hypervisor accepts (XML NCNames of up to 255 characters) plus a clone suffix ":N"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+:@-]{0,299}$")
_PARAM = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
MAX_TIMEOUT_MS = 2 ** 32 - 1        # what the hypervisor accepts: Pacemaker's guint of milliseconds (about 49.7 days)
MAX_VALUE = 64 * 1024


class InvalidOperation(ValueError):
    pass


def operation_to_args(operation: Operation) -> dict[str, Any]:
    return {
        "resource": operation.resource, "standard": operation.agent.standard,
        "provider": operation.agent.provider, "type": operation.agent.type, "action": operation.action,
        "interval_ms": operation.interval_ms, "timeout_ms": operation.timeout_ms,
        "params": dict(operation.params), "meta": dict(operation.meta),
    }


def _text(args: dict, key: str, pattern: re.Pattern | None = _NAME, required: bool = True) -> str:
    value = args.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value):
        raise InvalidOperation(f"'{key}' must be a non-empty string")
    if value and pattern is not None and (not pattern.match(value) or ".." in value):
        raise InvalidOperation(f"'{key}' {value[:64]!r} has characters that are not allowed")
    return value


def _number(args: dict, key: str, default: int, low: int, high: int) -> int:
    value = args.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidOperation(f"'{key}' must be a whole number from {low} to {high}")
    return value


def _attributes(args: dict, key: str) -> dict[str, str]:
    value = args.get(key, {})
    if not isinstance(value, dict) or len(value) > 256:
        raise InvalidOperation(f"'{key}' must be an object of at most 256 names")
    for name, item in value.items():
        if not _PARAM.match(name):
            raise InvalidOperation(f"{key} name {name[:64]!r} has characters that are not allowed")
        if not isinstance(item, str) or "\0" in item or len(item) > MAX_VALUE:
            raise InvalidOperation(f"{key} value of {name!r} must be a string without NUL, at most {MAX_VALUE} bytes")
    return dict(value)


def operation_from_args(args: dict[str, Any], standards: tuple[str, ...] = STANDARDS) -> Operation:
    """`standards`: those the receiver runs (a guest: STANDARDS; a hypervisor host: stonith too)."""
    standard = _text(args, "standard")
    if standard not in standards:
        raise InvalidOperation(f"unknown resource standard {standard!r}; known: {', '.join(standards)}")
    provider = _text(args, "provider", required=standard == "ocf")
    action = _text(args, "action", pattern=None)
    if action not in ACTIONS:
        raise InvalidOperation(f"unknown action {action[:32]!r}")
    return Operation(
        resource=_text(args, "resource"),
        agent=AgentSpec(standard, _text(args, "type"), provider),
        action=action,
        interval_ms=_number(args, "interval_ms", 0, 0, MAX_TIMEOUT_MS),
        timeout_ms=_number(args, "timeout_ms", 20_000, 1, MAX_TIMEOUT_MS),
        params=_attributes(args, "params"),
        meta=_attributes(args, "meta"),
    )
