"""The messages on 3121: JSON objects in frames, validated strictly on the way in.

    hello     {"type": "hello", "versions": [1], "software": "...", "node": "..."}
    request   {"type": "request", "id": 7, "op": "exec", "args": {...}}
    response  {"type": "response", "id": 7, "ok": true, "result": {...}}
              {"type": "response", "id": 7, "ok": false, "error": "..."}
    event     {"type": "event", "name": "op_result", "data": {...}}

The server sends hello first (after the TLS handshake); the client answers with
hello naming the one version it chose. Anything malformed raises ProtocolError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSIONS = (1,)
MAX_ID = 2**53 - 1


class ProtocolError(Exception):
    """A message that breaks the protocol; the connection must be closed."""


@dataclass(frozen=True)
class Hello:
    versions: tuple[int, ...]
    software: str
    node: str


@dataclass(frozen=True)
class Request:
    id: int
    op: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    id: int
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any] = field(default_factory=dict)


Message = Hello | Request | Response | Event


def encode(message: Message) -> bytes:
    match message:
        case Hello(versions, software, node):
            body: dict[str, Any] = {"type": "hello", "versions": list(versions), "software": software, "node": node}
        case Request(id_, op, args):
            body = {"type": "request", "id": id_, "op": op, "args": args}
        case Response(id_, True, result, _):
            body = {"type": "response", "id": id_, "ok": True, "result": result}
        case Response(id_, False, _, error):
            body = {"type": "response", "id": id_, "ok": False, "error": error}
        case Event(name, data):
            body = {"type": "event", "name": name, "data": data}
        case _:
            raise TypeError(f"not a message: {message!r}")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _field(body: dict, name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind in (int, (int,)) and isinstance(value, bool)):
        raise ProtocolError(f"'{body.get('type')}' message needs '{name}' of type "
                            f"{getattr(kind, '__name__', kind)}")
    return value


def _message_id(body: dict) -> int:
    value = _field(body, "id", int)
    if not 0 < value <= MAX_ID:
        raise ProtocolError(f"message id {value} out of range")
    return value


def _short_text(body: dict, name: str, limit: int = 256) -> str:
    value = _field(body, name, str)
    if len(value) > limit:
        raise ProtocolError(f"'{name}' longer than {limit} characters")
    return value


def decode(payload: bytes) -> Message:
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        # ValueError: JSONDecodeError, and Python's cap on integer digits (a 5000-digit number)
        raise ProtocolError(f"frame is not JSON: {str(error)[:80]}") from None
    if not isinstance(body, dict):
        raise ProtocolError("message is not a JSON object")
    kind = body.get("type")
    if kind == "hello":
        versions = _field(body, "versions", list)
        if not versions or len(versions) > 16 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                          and 0 < v < 65536 for v in versions):
            raise ProtocolError("hello needs a list of protocol versions")
        return Hello(tuple(versions), _short_text(body, "software"), _short_text(body, "node"))
    if kind == "request":
        return Request(_message_id(body), _short_text(body, "op", 64), _field(body, "args", dict))
    if kind == "response":
        if _field(body, "ok", bool):
            return Response(_message_id(body), True, _field(body, "result", dict))
        return Response(_message_id(body), False, error=_field(body, "error", str))
    if kind == "event":
        return Event(_short_text(body, "name", 64), _field(body, "data", dict))
    raise ProtocolError(f"unknown message type {str(kind)[:32]!r}")
