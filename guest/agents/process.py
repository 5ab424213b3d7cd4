"""Run one agent process: its own process group, a hard timeout, bounded output, nothing leaked.

The only place (with the appliance's own wiring) that starts processes. On
timeout the whole process group is killed with SIGKILL, as Pacemaker's executor
does. A normal exit does not kill the group: agents may start daemons that
outlive them, and those (well-behaved ones call setsid) are not ours to stop.
Output is read until the agent exits, not until EOF, because a daemon the agent
started may hold the pipe open for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guest.common.aio import within

log = logging.getLogger(__name__)

OUTPUT_LIMIT = 64 * 1024  # keep the last this-many bytes of output
DRAIN_AFTER_EXIT = 0.2  # seconds to collect output already written when the agent exits


@dataclass(frozen=True)
class Completed:
    exit_code: int | None  # None when killed by a signal or never started
    signal: int | None = None
    output: str = ""
    timed_out: bool = False
    spawn_error: str = ""  # set when the program could not be started at all
    duration_ms: int = 0


class ProcessRunner:
    """Starts agent processes and remembers their groups so shutdown can kill the ones still running."""

    def __init__(self) -> None:
        self._groups: set[int] = set()

    @property
    def running(self) -> int:
        return len(self._groups)

    async def run(self, argv: Sequence[str], env: Mapping[str, str], timeout: float, cwd: str = "/",
                  stdin: bytes | None = None) -> Completed:
        """`stdin`: what the program reads on its standard input (fence agents' key=value lines), else nothing."""
        began = time.monotonic()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, env=dict(env), cwd=cwd,
                stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as error:
            return Completed(None, spawn_error=f"cannot run {argv[0]}: {error.strerror or error}")
        self._groups.add(process.pid)
        if stdin is not None and process.stdin is not None:
            # small (a few hundred bytes): the pipe buffer takes it whole, so this never waits on the agent
            with contextlib.suppress(OSError):
                process.stdin.write(stdin)
            process.stdin.close()
        chunks = bytearray()
        reader = asyncio.ensure_future(self._collect(process.stdout, chunks))
        timed_out = False
        try:
            try:
                await within(process.wait(), timeout)
            except TimeoutError:
                timed_out = True
                self._kill_group(process.pid)
                await process.wait()
            with contextlib.suppress(TimeoutError):
                await within(asyncio.shield(reader), DRAIN_AFTER_EXIT)
        except asyncio.CancelledError:
            self._kill_group(process.pid)
            with contextlib.suppress(ProcessLookupError):
                await process.wait()
            raise
        finally:
            reader.cancel()
            self._groups.discard(process.pid)
            with contextlib.suppress(Exception):
                process._transport.close()  # type: ignore[attr-defined]  # release the pipe a daemon may hold
        code = process.returncode
        duration = int((time.monotonic() - began) * 1000)
        output = bytes(chunks[-OUTPUT_LIMIT:]).decode("utf-8", errors="replace")
        if code is not None and code < 0:
            return Completed(None, signal=-code, output=output, timed_out=timed_out, duration_ms=duration)
        return Completed(code, output=output, timed_out=timed_out, duration_ms=duration)

    async def run_captured(self, argv: Sequence[str], env: Mapping[str, str], timeout: float,
                           limit: int = OUTPUT_LIMIT) -> tuple[int | None, str, str]:
        """A short command whose stdout and stderr are kept apart (the appliance's proxied CLI commands):
        (exit code or None if killed, stdout, stderr), each stream cut to its first `limit` bytes."""
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, env=dict(env), cwd="/", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except OSError as error:
            return None, "", f"cannot run {argv[0]}: {error.strerror or error}\n"
        self._groups.add(process.pid)
        try:
            try:
                out, err = await within(process.communicate(), timeout)
            except TimeoutError:
                self._kill_group(process.pid)
                await process.wait()
                return None, "", f"{argv[0]}: killed after {timeout:g}s\n"
        except asyncio.CancelledError:
            self._kill_group(process.pid)
            raise
        finally:
            self._groups.discard(process.pid)
        decode = lambda data: data[:limit].decode("utf-8", errors="replace")   # noqa: E731
        return process.returncode, decode(out), decode(err)

    @staticmethod
    async def _collect(stream: asyncio.StreamReader | None, into: bytearray) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            into.extend(chunk)
            if len(into) > 2 * OUTPUT_LIMIT:
                del into[:-OUTPUT_LIMIT]

    @staticmethod
    def _kill_group(pgid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def kill_all(self) -> None:
        """Shutdown: kill every agent still running (they are in flight and will be re-probed)."""
        for pgid in list(self._groups):
            log.warning("killing agent process group %d at shutdown", pgid)
            self._kill_group(pgid)
