"""The 3121 listener: TLS handshake with the pinned authkey certificate, hello, then a Session.

A peer must finish the TLS handshake and send its hello within
handshake_timeout; the server speaks first after the handshake (TLS 1.3 tells a
rejected client only when it reads). A rejected peer learns nothing but the
TLS alert and costs one (rate-limited) log line, which tells a peer that closed
without sending a byte (a port check) from one that broke off the handshake
(possibly another authkey). How many unauthenticated
peers may wait, and who is evicted to make room, is admission.py's rule.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from guest.common import tlsauth
from guest.common.aio import settle, within
from guest.common.tlsauth import Identity
from guest.protocol.connection import Connection, Role
from guest.protocol.framing import DEFAULT_MAX_FRAME, FrameError
from guest.protocol.messages import Hello, Message, ProtocolError
from guest.server.admission import Admission, AdmissionLimits, LimitedLog
from guest.server.session import Handler, Limits, Session

log = logging.getLogger(__name__)
CLOSE_BOUND_S = 5.0
GOODBYE_BOUND_S = 1.0


@dataclass(frozen=True)
class ServerSettings:
    bind_address: str = ""  # empty: all addresses
    port: int = 3121
    handshake_timeout: float = 10.0
    max_frame: int = DEFAULT_MAX_FRAME
    node_name: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    limits: Limits = field(default_factory=Limits)
    admission: AdmissionLimits = field(default_factory=AdmissionLimits)


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
        _unlink_failed_handshakes()
        self._listener: socket.socket | None = None
        self._accept_task: asyncio.Task | None = None
        self._sessions: set[Session] = set()
        self._admission = Admission(settings.admission)
        self._rejections = LimitedLog(log)
        self._connection_tasks: set[asyncio.Task] = set()

    async def start(self) -> list[tuple[str, int]]:
        """Bind and listen; returns the bound addresses."""
        self._listener = _listen(self.settings.bind_address, self.settings.port)
        self._listener.setblocking(False)
        self._accept_task = asyncio.create_task(self._accept_loop(), name="3121 accept")
        return [self._listener.getsockname()[:2]]

    async def _accept_loop(self) -> None:
        # Accept raw sockets and put TLS on them before anything reads: a stream that had already buffered
        # the ClientHello (start_server + start_tls) would lose it and stall the handshake.
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(self._listener)
            except OSError as error:  # e.g. EMFILE: keep serving the connections we have
                log.warning("accept failed: %s", error)
                await asyncio.sleep(0.1)
                continue
            try:
                source, port = sock.getpeername()[:2]
            except OSError:
                sock.close()
                continue
            name = f"peer {source}:{port}"
            delay = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._accept(sock, name, delay))

            def evict(reason: str, task=task, name=name) -> None:
                self._rejections.warning("evicted peers", "%s: %s", name, reason)
                task.cancel()
            delay.set_result(self._admission.admit(task, source, evict))
            self._connection_tasks.add(task)
            task.add_done_callback(self._connection_tasks.discard)
            task.add_done_callback(self._admission.done)

    def controller(self) -> Session | None:
        """The hypervisor's session (the most recently authenticated one still open)."""
        live = [session for session in self._sessions if not session.closed]
        return max(live, key=lambda session: session.opened, default=None)

    async def close(self, bound: float = CLOSE_BOUND_S) -> None:
        """Stop listening and drop every peer; ends within `bound` seconds."""
        if self._accept_task is not None:
            self._accept_task.cancel()
        if self._listener is not None:
            self._listener.close()
        await asyncio.gather(*(session.say_goodbye(min(bound, GOODBYE_BOUND_S)) for session in list(self._sessions)))
        await settle([self._accept_task, *self._connection_tasks] if self._accept_task else self._connection_tasks,
                     bound, "3121 server close")

    async def _accept(self, sock: socket.socket, name: str, delay: asyncio.Future[float]) -> None:
        source = name.split(" ", 1)[1].rsplit(":", 1)[0]
        writer: asyncio.StreamWriter | None = None
        try:
            wait = await delay
            if wait:
                await asyncio.sleep(wait)               # a source that failed too many handshakes is slowed
            try:
                reader, writer = await self._tls(sock, name)
                connection, early = await within(self._hello(reader, writer, name),
                                                 self.settings.handshake_timeout)
            except TimeoutError as error:
                _drop_tracebacks(error)
                self._admission.failed(source)
                self._rejections.warning("rejected peers", "%s: rejected: no TLS handshake and hello within %gs",
                                         name, self.settings.handshake_timeout)
                return
            except RejectedPeer as error:
                _drop_tracebacks(error)
                self._admission.failed(source)
                self._rejections.warning("rejected peers", "%s: rejected: %s", name, error)
                return
            self._admission.done(asyncio.current_task())
            self._make_room_for_a_session()
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
            if writer is not None:
                writer.transport.abort()
            else:
                sock.close()

    def _make_room_for_a_session(self) -> None:
        live = sorted((s for s in self._sessions if not s.closed), key=lambda session: session.opened)
        while len(live) >= self.settings.admission.max_sessions:
            oldest = live.pop(0)
            log.warning("%s: closed to make room for a newer authenticated session (%d at most)", oldest.name,
                        self.settings.admission.max_sessions)
            oldest.abort()

    async def _tls(self, sock: socket.socket, name: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.settings.max_frame + 4)
        protocol = asyncio.StreamReaderProtocol(reader)
        timeout = self.settings.handshake_timeout

        async def handshake() -> tuple[asyncio.BaseTransport, asyncio.BaseProtocol]:
            await _first_bytes(sock)
            return await loop.connect_accepted_socket(lambda: protocol, sock, ssl=self._context,
                                                      ssl_handshake_timeout=timeout)
        try:
            transport, _ = await within(handshake(), timeout)
        except TimeoutError:
            raise
        except ssl.SSLError as error:
            raise RejectedPeer(f"TLS handshake failed ({error.reason or error}); wrong authkey or not drover") \
                from None
        except (ConnectionError, OSError) as error:
            raise RejectedPeer(f"closed the connection during the TLS handshake ({type(error).__name__}): "
                               "not a drover peer, or one whose authkey differs") from None
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _hello(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     name: str) -> tuple[Connection, list[Message]]:
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


async def _first_bytes(sock: socket.socket) -> None:
    """Wait until the peer has sent something, without consuming it (the TLS layer reads it). A peer that
    closes or resets the connection first never tried TLS: it is not a peer with another authkey."""
    loop = asyncio.get_running_loop()
    while True:
        readable: asyncio.Future[None] = loop.create_future()
        loop.add_reader(sock.fileno(), _resolve, readable)
        try:
            await readable
        finally:
            loop.remove_reader(sock.fileno())
        try:
            if sock.recv(1, socket.MSG_PEEK):
                return
        except BlockingIOError:
            continue
        except OSError as error:
            raise RejectedPeer(f"reset the connection before the TLS handshake ({error.strerror or error}), "
                               "without sending anything: not a drover peer (a port check?)") from None
        raise RejectedPeer("closed the connection before the TLS handshake, without sending anything: "
                           "not a drover peer (a port check?)")


def _unlink_failed_handshakes() -> None:
    """CPython's fix for gh-109534 (merged February 2024; the 3.11.7 this daemon is built with lacks it): asyncio's
    SSLProtocol._on_handshake_complete re-raises the handshake error in a frame that keeps it, so the error, its
    traceback and the SSLProtocol with its 256 KiB buffer form a cycle. When our side had stopped waiting (the
    peer was evicted or timed out) nothing else breaks it, and a flood of bad handshakes held tens of MB until the
    cyclic GC ran. Idempotent; harmless where CPython is fixed."""
    from asyncio import sslproto

    original = sslproto.SSLProtocol._on_handshake_complete
    if getattr(original, "unlinks_failed_handshakes", False):
        return

    def on_handshake_complete(self: sslproto.SSLProtocol, handshake_exc: BaseException | None) -> None:
        try:
            original(self, handshake_exc)
        finally:
            if handshake_exc is not None:
                _drop_tracebacks(handshake_exc)

    on_handshake_complete.unlinks_failed_handshakes = True  # type: ignore[attr-defined]
    sslproto.SSLProtocol._on_handshake_complete = on_handshake_complete  # type: ignore[method-assign]


def _drop_tracebacks(error: BaseException) -> None:
    """Unlink a rejected peer's exceptions (and those they were raised from) from their frames. A handshake error
    that reaches us is also held by asyncio's waiter future, which its own traceback's frames hold: a cycle that,
    with the connection's SSLProtocol and its 256 KiB buffer, lives until the cyclic GC runs, which a flood of
    bad handshakes (few objects, many bytes) hardly triggers: 150 of them held 40 MB."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        pending += [current.__context__, current.__cause__]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _listen(address: str, port: int) -> socket.socket:
    """A listening socket: one address, or every address (IPv6 dual-stack where the host has it)."""
    if not address:
        if socket.has_dualstack_ipv6():
            return socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=128)
        return socket.create_server(("0.0.0.0", port), backlog=128)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.create_server((address, port), family=family, backlog=128)
