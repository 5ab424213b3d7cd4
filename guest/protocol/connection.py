"""One 3121 connection as a state machine over bytes: hello exchange, then requests both ways.

    server                          client
      | -- hello (versions offered) --> |   the server speaks first
      | <-- hello (version chosen) ---- |
      | <== requests, responses, events ==> |

Both sides may send requests (the guest proxies its CLI to the appliance). A
response must answer an outstanding request of the receiver. Nothing before
the hello exchange is accepted. Violations raise ProtocolError or FrameError;
the caller closes that one connection.
"""

from __future__ import annotations

import enum
from typing import Any

from guest.protocol.framing import DEFAULT_MAX_FRAME, FrameDecoder, encode_frame
from guest.protocol.messages import (
    PROTOCOL_VERSIONS,
    Event,
    Hello,
    Message,
    ProtocolError,
    Request,
    Response,
    decode,
    encode,
)


class Role(enum.Enum):
    SERVER = "server"
    CLIENT = "client"


class Connection:
    def __init__(self, role: Role, software: str, node: str, max_frame: int = DEFAULT_MAX_FRAME,
                 versions: tuple[int, ...] = PROTOCOL_VERSIONS) -> None:
        self.role = role
        self.software = software
        self.node = node
        self.versions = versions
        self.max_frame = max_frame
        self.version: int | None = None
        self.peer: Hello | None = None
        self._decoder = FrameDecoder(max_frame)
        self._next_id = 1
        self._outstanding: set[int] = set()

    @property
    def ready(self) -> bool:
        return self.version is not None

    @property
    def partial_frame(self) -> bool:
        return self._decoder.partial

    def _frame(self, message: Message) -> bytes:
        return encode_frame(encode(message), self.max_frame)

    def greeting(self) -> bytes:
        """The server's first words."""
        assert self.role is Role.SERVER
        return self._frame(Hello(self.versions, self.software, self.node))

    def receive(self, data: bytes) -> list[Message]:
        messages = []
        for payload in self._decoder.feed(data):
            message = decode(payload)
            if not self.ready:
                self._accept_hello(message)
            elif isinstance(message, Hello):
                raise ProtocolError("second hello")
            elif isinstance(message, Response):
                if message.id not in self._outstanding:
                    raise ProtocolError(f"response to unknown request {message.id}")
                self._outstanding.discard(message.id)
            messages.append(message)
        return messages

    def _accept_hello(self, message: Message) -> None:
        if not isinstance(message, Hello):
            raise ProtocolError(f"expected hello, got {type(message).__name__.lower()}")
        common = set(message.versions) & set(self.versions)
        if self.role is Role.SERVER and (len(message.versions) != 1 or not common):
            raise ProtocolError(f"client chose protocol versions {list(message.versions)}, "
                                f"this server speaks {list(self.versions)}")
        if not common:
            raise ProtocolError(f"peer speaks protocol versions {list(message.versions)}, "
                                f"this side speaks {list(self.versions)}; upgrade the older side")
        self.version = max(common)
        self.peer = message

    def hello_reply(self) -> bytes:
        """The client's answer once the server's hello is accepted: the one version chosen."""
        assert self.role is Role.CLIENT and self.version is not None
        return self._frame(Hello((self.version,), self.software, self.node))

    def request(self, op: str, args: dict[str, Any]) -> tuple[int, bytes]:
        request_id = self._next_id
        self._next_id += 1
        data = self._frame(Request(request_id, op, args))
        self._outstanding.add(request_id)
        return request_id, data

    def respond(self, request_id: int, result: dict[str, Any]) -> bytes:
        return self._frame(Response(request_id, True, result))

    def fail(self, request_id: int, error: str) -> bytes:
        return self._frame(Response(request_id, False, error=error))

    def event(self, name: str, data: dict[str, Any]) -> bytes:
        return self._frame(Event(name, data))
