"""The 3121 listener: TLS handshake with the pinned authkey certificate, hello, then a Session.

A peer must finish the TLS handshake and send its hello within
handshake_timeout; the server speaks first after the handshake (TLS 1.3 tells a
rejected client only when it reads). Every rejected peer gets one log line
saying why and costs nothing else: it learns nothing but the TLS alert.
Connections beyond max_connections are closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from guest.common import tlsauth
from guest.common.tlsauth import Identity
from guest.protocol.connection import Connection, Role
from guest.protocol.framing import DEFAULT_MAX_FRAME, FrameError
from guest.protocol.messages import Hello, Message, ProtocolError
from guest.server.session import Handler, Limits, Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    bind_address: str = ""  # empty: all addresses
    port: int = 3121
    handshake_timeout: float = 10.0
    max_connections: int = 64
    max_frame: int = DEFAULT_MAX_FRAME
    node_name: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    limits: Limits = field(default_factory=Limits)


class RejectedPeer(Exception):
    pass


class GuestServer:
    def __init__(self, settings: ServerSettings, identities: Sequence[Identity], handlers: dict[str, Handler],
                 software: str, on_session_end: Callable[[str], int] = lambda name: 0) -> None:
        """on_session_end(session name) cleans up what the session owned; returns how many things."""
        self.settings = settings
        self.on_session_end = on_session_end
        self.identities = list(identities)
        self.handlers = handlers
        self.software = software
        self._context = tlsauth.server_context(self.identities)
        self._server: asyncio.Server | None = None
        self._sessions: set[Session] = set()
        self._pending = 0
        self._numbers = itertools.count(1)
        self._connection_tasks: set[asyncio.Task] = set()

    @property
    def sessions(self) -> set[Session]:
        return self._sessions

    async def start(self) -> list[tuple[str, int]]:
        """Bind and listen; returns the bound addresses."""
        host = self.settings.bind_address or None
        self._server = await asyncio.start_server(self._accept, host, self.settings.port, reuse_address=True,
                                                  limit=self.settings.max_frame + 4)
        return [s.getsockname()[:2] for s in self._server.sockets]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.abort()
        for task in list(self._connection_tasks):
            task.cancel()
        for task in list(self._connection_tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connection_tasks.add(task)
        peer = writer.get_extra_info("peername")
        name = f"peer {peer[0]}:{peer[1]}" if peer else "peer"
        try:
            if len(self._sessions) + self._pending >= self.settings.max_connections:
                log.warning("%s: refused, already %d connections", name, self.settings.max_connections)
                return
            self._pending += 1
            try:
                connection, early = await asyncio.wait_for(self._authenticate(reader, writer, name),
                                                           self.settings.handshake_timeout)
            except TimeoutError:
                log.warning("%s: rejected: no TLS handshake and hello within %gs", name,
                            self.settings.handshake_timeout)
                return
            except RejectedPeer as error:
                log.warning("%s: rejected: %s", name, error)
                return
            finally:
                self._pending -= 1
            session = Session(f"{name} ({connection.peer.software if connection.peer else '?'})", connection,
                              reader, writer, self.handlers, self.settings.limits)
            self._sessions.add(session)
            log.info("%s: authenticated, protocol %s", session.name, connection.version)
            try:
                await session.run(early)
            finally:
                self._sessions.discard(session)
                cancelled = self.on_session_end(session.name)
                if cancelled:
                    log.info("%s: cancelled its %d recurring operations", session.name, cancelled)
        finally:
            writer.transport.abort()
            if task is not None:
                self._connection_tasks.discard(task)

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            name: str) -> tuple[Connection, list[Message]]:
        try:
            await writer.start_tls(self._context)
        except ssl.SSLError as error:
            raise RejectedPeer(f"TLS handshake failed ({error.reason or error}); wrong authkey or not drover") from None
        except (ConnectionError, OSError) as error:
            raise RejectedPeer(f"closed the connection during the TLS handshake ({type(error).__name__}); "
                               "it does not trust our certificate: its authkey differs") from None
        ssl_object = writer.get_extra_info("ssl_object")
        identity = tlsauth.pinned_peer(ssl_object, self.identities) if ssl_object else None
        if identity is None:
            raise RejectedPeer("certificate is not one of the authkey's") from None
        connection = Connection(Role.SERVER, self.software, self.settings.node_name, self.settings.max_frame)
        writer.write(connection.greeting())
        early: list[Message] = []  # what came in the same read as the hello
        try:
            await writer.drain()
            while not connection.ready:
                data = await reader.read(65536)
                if not data:
                    raise RejectedPeer("disconnected before its hello (its authkey may differ)") from None
                early = [m for m in connection.receive(data) if not isinstance(m, Hello)]
        except (FrameError, ProtocolError) as error:
            raise RejectedPeer(f"bad hello: {error}") from None
        except ssl.SSLError as error:
            raise RejectedPeer(f"TLS error: {error.reason or error}") from None
        except (ConnectionError, OSError) as error:
            raise RejectedPeer(f"connection lost before its hello ({error})") from None
        log.debug("%s: key %s", name, identity.fingerprint)
        return connection, early
