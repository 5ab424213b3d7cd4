"""The local door for changes in a cluster: a CLI command on this host hands its change to this host's daemon,
which puts it in the cluster's order and answers once it is applied (or refused).

Rules: a unix socket in the run directory, mode 0600 (root's, like the state database); one JSON line each way:
`{"kind": "config"|"status", "change": {...}}` -> `{"applied": bool, "reason": str}`; `{"kind": "leave", "all":
bool}` asks this host's daemon (with all: every host's) to leave the cluster, once drained; `{"kind": "fence",
"target": NODE, "action": reboot|off|on}` has it fence NODE (answered once the fencing ended). A request that is
not such a line gets an error answer and the connection is closed; one larger than MAX_REQUEST is refused
unread. The client side is `send_change`, which the CLI calls (blocking, bounded by a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from appliance.cluster.replica import Outcome
from appliance.store.replicated import ConfigChange, StatusChange

log = logging.getLogger(__name__)
SOCKET_NAME = "cib.sock"
MAX_REQUEST = 16 * 1024 * 1024
Apply = Callable[[ConfigChange | StatusChange], Awaitable[Outcome]]
Leave = Callable[[bool], None]
Fence = Callable[[str, str], Awaitable[dict]]


def socket_path(run_dir: Path) -> Path:
    return run_dir / SOCKET_NAME


async def serve(run_dir: Path, apply: Apply, leave: Leave, fence: Fence) -> asyncio.AbstractServer:
    path = socket_path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            answer = await _answer(reader, apply, leave, fence)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    old_mask = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(handle, path, limit=MAX_REQUEST)
    finally:
        os.umask(old_mask)
    return server


async def _answer(reader: asyncio.StreamReader, apply: Apply, leave: Leave, fence: Fence) -> dict:
    try:
        line = await reader.readline()
        request = json.loads(line)
        if request["kind"] == "leave":
            leave(bool(request.get("all")))
            return {"applied": True, "reason": ""}
        if request["kind"] == "fence":
            target, action = request["target"], request["action"]
            if not isinstance(target, str) or action not in ("reboot", "off", "on"):
                raise ValueError("fence needs a target name and an action reboot, off or on")
            return await fence(target, action)
        if request["kind"] == "config":
            change: ConfigChange | StatusChange = ConfigChange.from_json(request["change"])
        elif request["kind"] == "status":
            change = StatusChange.from_json(request["change"])
        else:
            raise ValueError(f"unknown kind {request['kind']!r}")
    except (ValueError, KeyError, TypeError) as error:
        return {"applied": False, "reason": f"bad request: {error}"}
    outcome = await apply(change)
    return {"applied": outcome.applied, "reason": outcome.reason}


class NoAnswer(OSError):
    """The daemon took the request and ended (or timed out) before answering: its outcome is unknown."""


def send_change(run_dir: Path, change: ConfigChange | StatusChange, timeout_s: float = 30.0) -> tuple[bool, str]:
    """Hand `change` to this host's daemon; (applied, reason). Raises NoAnswer when the daemon took it but gave
    no answer, another OSError when no daemon took it."""
    kind = "config" if isinstance(change, ConfigChange) else "status"
    return _ask(run_dir, {"kind": kind, "change": change.to_json()}, timeout_s)


def send_leave(run_dir: Path, everyone: bool, timeout_s: float = 10.0) -> None:
    _ask(run_dir, {"kind": "leave", "all": everyone}, timeout_s)


def send_fence(run_dir: Path, target: str, action: str, timeout_s: float) -> dict:
    """Have this host's daemon fence `target`; its answer: applied, reason, delegate, device."""
    return _request(run_dir, {"kind": "fence", "target": target, "action": action}, timeout_s)


def _ask(run_dir: Path, request: dict, timeout_s: float) -> tuple[bool, str]:
    answer = _request(run_dir, request, timeout_s)
    return bool(answer["applied"]), str(answer.get("reason", ""))


def _request(run_dir: Path, request: dict, timeout_s: float) -> dict:
    payload = json.dumps(request).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout_s)
        client.connect(str(socket_path(run_dir)))
        client.sendall(payload)
        received = b""
        try:
            while not received.endswith(b"\n"):
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError as error:
            raise NoAnswer(f"no answer from the daemon ({error})") from None
    try:
        answer = json.loads(received)
        if not isinstance(answer, dict) or "applied" not in answer:
            raise ValueError("not an answer")
        return answer
    except (ValueError, TypeError):
        raise NoAnswer("the daemon ended before answering") from None
