"""One authenticated connection to a drover-guest daemon, with request timeouts and events.

connect() does the TCP connect, the TLS 1.3 handshake with the pinned authkey
certificate, waits for the server's hello (where a guest that rejected our key
shows it: TLS 1.3 reports that only on read), answers it, then reads frames in
a background task: responses complete their requests, events go to on_event.
Errors say what is wrong in the user's terms (unreachable, wrong authkey, not a
drover guest, timed out).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from guest.agents.results import Operation, OpResult
from guest.common import tlsauth
from guest.common.aio import settle, within
from guest.common.tlsauth import Identity
from guest.protocol.connection import Connection, Role
from guest.protocol.framing import DEFAULT_MAX_FRAME, FrameError
from guest.protocol.messages import Event, ProtocolError, Request, Response
from guest.protocol.operations import operation_to_args

log = logging.getLogger(__name__)

EventHandler = Callable[[str, dict[str, Any]], None]
OPERATION_MARGIN = 5.0  # seconds allowed beyond an operation's own timeout for transport
CLOSE_BOUND_S = 2.0


RequestHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class GuestLinkError(Exception):
    """The guest cannot be reached or used; the message says why."""


class ConnectionLost(GuestLinkError):
    pass


class RemoteError(GuestLinkError):
    """The guest answered a request with an error."""


class GuestClient:
    def __init__(self, address: str, connection: Connection, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, on_event: EventHandler | None) -> None:
        self.address = address
        self.connection = connection
        self.reader = reader
        self.writer = writer
        self.on_event = on_event
        self.on_request: RequestHandler | None = None      # requests from the guest (its CLI proxy)
        self._serving: set[asyncio.Task] = set()
        self._waiting: dict[int, asyncio.Future[Response]] = {}
        self._closed = asyncio.Event()
        self.close_reason = ""
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"guestlink {address}")

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @classmethod
    async def connect(cls, host: str, port: int, identities: Sequence[Identity], software: str, node: str,
                      timeout: float = 10.0, on_event: EventHandler | None = None,
                      max_frame: int = DEFAULT_MAX_FRAME) -> GuestClient:
        address = f"{host}:{port}"
        context = tlsauth.client_context(identities)
        try:
            reader, writer = await within(
                asyncio.open_connection(host, port, ssl=context, server_hostname=host,
                                        ssl_handshake_timeout=timeout, limit=max_frame + 4), timeout)
        except TimeoutError:
            raise GuestLinkError(f"guest {address}: no answer within {timeout:g}s") from None
        except ssl.SSLCertVerificationError:
            raise GuestLinkError(f"guest {address}: presented a certificate not made from our authkey; "
                                 "the authkey differs or it is not a drover guest") from None
        except ssl.SSLError as error:
            raise GuestLinkError(f"guest {address}: TLS failed ({error.reason or error}); "
                                 "is it a drover guest?") from None
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise GuestLinkError(f"guest {address}: cannot connect: {reason}") from None
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None or tlsauth.pinned_peer(ssl_object, identities) is None:
            writer.transport.abort()
            raise GuestLinkError(f"guest {address}: certificate is not one of the authkey's")
        connection = Connection(Role.CLIENT, software, node, max_frame)
        try:
            early = await within(cls._await_hello(reader, connection), timeout)
        except TimeoutError:
            writer.transport.abort()
            raise GuestLinkError(f"guest {address}: no hello within {timeout:g}s") from None
        except ssl.SSLError as error:
            writer.transport.abort()
            reason = error.reason or str(error)
            raise GuestLinkError(f"guest {address}: rejected our authkey ({reason}); "
                                 "copy the same /etc/pacemaker/authkey to the guest") from None
        except (FrameError, ProtocolError) as error:
            writer.transport.abort()
            raise GuestLinkError(f"guest {address}: protocol error: {error}") from None
        except (ConnectionError, OSError, EOFError):
            writer.transport.abort()
            raise GuestLinkError(f"guest {address}: closed the connection during the hello; "
                                 "it may have rejected our authkey") from None
        writer.write(connection.hello_reply())
        client = cls(address, connection, reader, writer, on_event)
        for message in early:
            client._handle(message)
        return client

    @staticmethod
    async def _await_hello(reader: asyncio.StreamReader, connection: Connection) -> list:
        while not connection.ready:
            data = await reader.read(65536)
            if not data:
                raise EOFError
            received = connection.receive(data)
        return received[1:]

    async def _read_loop(self) -> None:
        try:
            while data := await self.reader.read(65536):
                for message in self.connection.receive(data):
                    self._handle(message)
            self.close_reason = "guest closed the connection"
        except (FrameError, ProtocolError) as error:
            self.close_reason = f"protocol error: {error}"
            log.warning("guest %s: %s", self.address, self.close_reason)
        except (ConnectionError, OSError, ssl.SSLError) as error:
            self.close_reason = f"connection lost: {error}"
        finally:
            self._shut(self.close_reason or "closed")

    def _handle(self, message: object) -> None:
        if isinstance(message, Response):
            future = self._waiting.pop(message.id, None)
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, Event):
            if self.on_event is not None:
                try:
                    self.on_event(message.name, message.data)
                except Exception:
                    log.exception("guest %s: event handler failed", self.address)
        elif isinstance(message, Request):
            if self.on_request is None:
                self.writer.write(self.connection.fail(message.id, f"request '{message.op}' not served here"))
            else:
                task = asyncio.create_task(self._answer(message))
                self._serving.add(task)
                task.add_done_callback(self._serving.discard)

    async def _answer(self, request: Request) -> None:
        try:
            result = await self.on_request(request.op, request.args)
            reply = self.connection.respond(request.id, result)
        except RemoteError as error:
            reply = self.connection.fail(request.id, str(error))
        except Exception as error:
            log.exception("guest %s: request %s failed", self.address, request.op)
            reply = self.connection.fail(request.id, f"internal error: {type(error).__name__}")
        if not self.closed:
            self.writer.write(reply)

    def _shut(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self.writer.transport.abort()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionLost(f"guest {self.address}: {reason}"))
        self._waiting.clear()

    async def request(self, op: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        if self.closed:
            raise ConnectionLost(f"guest {self.address}: {self.close_reason or 'not connected'}")
        request_id, data = self.connection.request(op, args or {})
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self.writer.write(data)
        try:
            response = await within(future, timeout)
        except TimeoutError:
            self._waiting.pop(request_id, None)
            raise GuestLinkError(f"guest {self.address}: no answer to {op} within {timeout:g}s") from None
        if not response.ok:
            raise RemoteError(f"guest {self.address}: {op}: {response.error}")
        return response.result

    async def execute(self, operation: Operation) -> OpResult:
        """Run an operation (interval > 0: register it; its first result is returned)."""
        reply = await self.request("exec", operation_to_args(operation),
                                   timeout=operation.timeout_ms / 1000 + OPERATION_MARGIN)
        return OpResult.from_dict(reply["result"])

    async def close(self) -> None:
        self._shut("closed by us")
        await settle([self._reader_task], CLOSE_BOUND_S, f"guest {self.address} close")

    async def wait_closed(self) -> None:
        await self._closed.wait()
