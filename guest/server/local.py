"""The guest's local door to the cluster: a Unix socket where `drover-guest status|resource|attribute ...` and
the crm_* tools send their command line, forwarded to the hypervisor over the authenticated 3121 session.

Rules: one JSON line in ({"program", "argv", "env"}), one JSON line out
({"rc", "stdout", "stderr"}); requests are bounded (64 KiB) and time out;
only root (the socket is 0600) may use it; the guest's access policy
(guest.conf [access] policy) travels with every command and the hypervisor
enforces it for the node this connection belongs to. Without a connected
hypervisor the answer is Pacemaker's "not connected" (exit 102).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guest.common.aio import within
from guest.server.session import RequestError, Session

log = logging.getLogger(__name__)
MAX_REQUEST = 64 * 1024
READ_TIMEOUT_S = 5.0
CLI_TIMEOUT_S = 90.0
EXIT_NOT_CONNECTED = 102            # Pacemaker's CRM_EX_DISCONNECT
PASSED_ENV = ("OCF_RESOURCE_INSTANCE",)


def socket_path(run_dir: Path) -> Path:
    return run_dir / "guest.sock"


class LocalServer:
    def __init__(self, path: Path, controller: Callable[[], Session | None], policy: str):
        self.path = path
        self.controller = controller
        self.policy = policy
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        old_mask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        finally:
            os.umask(old_mask)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                line = await within(reader.readline(), READ_TIMEOUT_S)
                request = _parse(line)
            except (TimeoutError, ValueError, asyncio.LimitOverrunError) as error:
                reply = {"rc": 64, "stdout": "", "stderr": f"drover-guest: bad local request: {error}\n"}
            else:
                reply = await self._forward(request)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _forward(self, request: dict[str, Any]) -> dict[str, Any]:
        session = self.controller()
        if session is None:
            return {"rc": EXIT_NOT_CONNECTED, "stdout": "",
                    "stderr": f"{request['program']}: not connected to the cluster: no hypervisor is connected to "
                              "this guest's drover-guest daemon\n"}
        try:
            return await session.request("cli", {**request, "policy": self.policy}, CLI_TIMEOUT_S)
        except RequestError as error:
            return {"rc": EXIT_NOT_CONNECTED, "stdout": "", "stderr": f"{request['program']}: {error}\n"}


def _parse(line: bytes) -> dict[str, Any]:
    if not line.endswith(b"\n"):
        raise ValueError("incomplete request")
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    program, argv, env = data.get("program"), data.get("argv"), data.get("env", {})
    if not isinstance(program, str) or not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError("program and argv are required")
    if not isinstance(env, dict):
        raise ValueError("env must be an object")
    return {"program": program, "argv": argv,
            "env": {k: v for k, v in env.items() if k in PASSED_ENV and isinstance(v, str)}}


def call(path: Path, program: str, argv: list[str], environ: dict[str, str]) -> dict[str, Any]:
    """The client side (a short-lived CLI process): send one command, get its result."""
    import socket
    request = {"program": program, "argv": argv, "env": {k: environ[k] for k in PASSED_ENV if k in environ}}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CLI_TIMEOUT_S + 10)
        try:
            sock.connect(str(path))
        except OSError as error:
            return {"rc": EXIT_NOT_CONNECTED, "stdout": "",
                    "stderr": f"{program}: cannot reach the drover-guest daemon at {path}: "
                              f"{error.strerror or error}\n"}
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = bytearray()
        while chunk := sock.recv(65536):
            data.extend(chunk)
    try:
        reply = json.loads(data)
        return {"rc": int(reply["rc"]), "stdout": str(reply.get("stdout", "")),
                "stderr": str(reply.get("stderr", ""))}
    except (ValueError, KeyError, TypeError):
        return {"rc": 1, "stdout": "", "stderr": f"{program}: the drover-guest daemon gave no answer\n"}
