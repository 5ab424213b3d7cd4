"""One authenticated peer on 3121: reads its frames, runs its requests, sends results and events.

Each request runs in its own task, so a ping is answered while a long start
runs. A partial frame must complete within frame_timeout from its first byte
(slow-loris), a silent peer is dropped after idle_timeout (the appliance pings).
Requests are taken while their answers fit half the send queue (by count and by
SEND_BUDGET bytes): beyond that the peer's frames wait unread, so TCP slows a
peer that pipelines thousands of requests instead of it being dropped, and
events always have the other half. A peer that does not read what is sent is
dropped once the queue is full or nothing could be written for idle_timeout.
When the peer goes, its recurring operations are cancelled; operations
in flight run to completion (their agents are bounded by their own timeouts)
and their results stay in the executor's history for the next connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from guest.common.aio import settle, within
from guest.protocol.connection import Connection
from guest.protocol.framing import FrameError
from guest.protocol.messages import Event, Message, ProtocolError, Request, Response

log = logging.getLogger(__name__)
WRITER_BOUND_S = 2.0
SEND_BUDGET = 4 * 1024 * 1024        # bytes of answers queued before the peer's next request waits unread

Handler = Callable[["Session", dict[str, Any]], Awaitable[dict[str, Any]]]


class RequestError(Exception):
    """A request that cannot be served; its message goes back to the peer as the error."""


@dataclass(frozen=True)
class Limits:
    frame_timeout: float = 10.0
    idle_timeout: float = 300.0
    send_queue: int = 1024


class Session:
    def __init__(self, name: str, connection: Connection, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, handlers: dict[str, Handler], limits: Limits) -> None:
        self.name = name
        self.connection = connection
        self.reader = reader
        self.writer = writer
        self.handlers = handlers
        self.limits = limits
        self._outgoing: asyncio.Queue[bytes | None] = asyncio.Queue(limits.send_queue)
        self._tasks: set[asyncio.Task] = set()
        self._waiting: dict[int, asyncio.Future[Response]] = {}
        self.closed = False
        self.opened = time.monotonic()
        self._writer_task: asyncio.Task | None = None
        self._queued_bytes = 0
        self._room = asyncio.Event()          # set when a request finishes or a frame leaves the queue

    async def request(self, op: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Ask the peer (the hypervisor) something; raises RequestError with its answer's error."""
        if self.closed:
            raise RequestError("the hypervisor is not connected")
        request_id, data = self.connection.request(op, args)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self.send(data)
        try:
            response = await within(future, timeout)
        except TimeoutError:
            raise RequestError(f"the hypervisor did not answer within {timeout:g}s") from None
        finally:
            self._waiting.pop(request_id, None)
        if not response.ok:
            raise RequestError(response.error or "refused")
        return response.result

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._outgoing.put_nowait(data)
        except asyncio.QueueFull:
            log.warning("%s: not reading its responses; closing the connection", self.name)
            self.abort()
            return
        self._queued_bytes += len(data)

    def send_event(self, name: str, data: dict[str, Any]) -> None:
        self.send(self.connection.event(name, data))

    def abort(self) -> None:
        self.closed = True
        self._room.set()
        self.writer.transport.abort()

    async def say_goodbye(self, bound: float) -> None:
        """A clean stop of the daemon: tell the peer (a "shutdown" event, so the hypervisor waits for the
        daemon to come back instead of resetting the guest), flush what is queued, then close."""
        if self.closed or self._writer_task is None:
            return
        self.send_event("shutdown", {"reason": "drover-guest is stopping"})
        with contextlib.suppress(asyncio.QueueFull):
            self._outgoing.put_nowait(None)               # the write loop ends once the queue is flushed
        await asyncio.wait([self._writer_task], timeout=bound)
        self.abort()

    async def run(self, early: list[Message]) -> None:
        """Serve until the peer goes; `early` are messages that arrived with its hello."""
        writer_task = self._writer_task = asyncio.create_task(self._write_loop())
        try:
            await self._dispatch(early)
            await self._read_loop()
        finally:
            self.closed = True
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(RequestError("the hypervisor disconnected"))
            await settle([writer_task], WRITER_BOUND_S, f"{self.name} writer")
            self.writer.transport.abort()

    async def _write_loop(self) -> None:
        while (data := await self._outgoing.get()) is not None:
            self._queued_bytes -= len(data)
            self._room.set()
            self.writer.write(data)
            try:
                await within(self.writer.drain(), self.limits.idle_timeout)
            except TimeoutError:
                log.warning("%s: not reading its responses for %gs; closing the connection", self.name,
                            self.limits.idle_timeout)
                self.abort()
                return

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        frame_deadline: float | None = None
        while True:
            if self.connection.partial_frame:
                frame_deadline = frame_deadline or loop.time() + self.limits.frame_timeout
                timeout = max(0.0, frame_deadline - loop.time())
            else:
                frame_deadline = None
                timeout = self.limits.idle_timeout
            try:
                data = await within(self.reader.read(65536), timeout)
            except TimeoutError:
                why = "frame not completed in time" if frame_deadline else "idle for too long"
                log.warning("%s: %s; closing the connection", self.name, why)
                return
            except (ConnectionError, OSError) as error:
                log.info("%s: connection lost: %s", self.name, error)
                return
            if not data:
                log.info("%s: disconnected", self.name)
                return
            try:
                messages = self.connection.receive(data)
            except (FrameError, ProtocolError) as error:
                log.warning("%s: protocol violation: %s; closing the connection", self.name, error)
                return
            if await self._dispatch(messages):
                frame_deadline = None            # we held its frames back: the clock of a partial one restarts
            if self.closed:
                return

    def _has_room(self) -> bool:
        """Whether one more request may start: the answers it could add still fit half the send queue."""
        return (len(self._tasks) + self._outgoing.qsize() < self.limits.send_queue // 2
                and self._queued_bytes < SEND_BUDGET)

    async def _dispatch(self, messages: list[Message]) -> bool:
        """Start the requests, each once there is room for its answer; returns whether any had to wait."""
        waited = False
        for message in messages:
            if isinstance(message, Request):
                while not self._has_room() and not self.closed:
                    waited = True
                    self._room.clear()
                    await self._room.wait()
                if self.closed:
                    return waited
                task = asyncio.create_task(self._serve(message))
                self._tasks.add(task)
                task.add_done_callback(self._request_done)
                await asyncio.sleep(0)           # an answer ready at once is queued (and counted) before the next
            elif isinstance(message, Response) and message.id in self._waiting:
                future = self._waiting.pop(message.id)
                if not future.done():
                    future.set_result(message)
            elif isinstance(message, Event | Response):
                log.debug("%s: ignoring %s", self.name, type(message).__name__)
        return waited

    def _request_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._room.set()

    async def _serve(self, request: Request) -> None:
        handler = self.handlers.get(request.op)
        try:
            if handler is None:
                raise RequestError(f"unknown request '{request.op}'")
            result = await handler(self, request.args)
            reply = self.connection.respond(request.id, result)
        except RequestError as error:
            reply = self.connection.fail(request.id, str(error))
        except FrameError as error:
            reply = self.connection.fail(request.id, f"response not sent: {error}")
        except Exception as error:
            log.exception("%s: request %s failed", self.name, request.op)
            reply = self.connection.fail(request.id, f"internal error: {type(error).__name__}")
        self.send(reply)
