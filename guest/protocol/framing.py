"""Length-prefixed frames: a 4-byte big-endian length, then that many bytes of payload.

A hard size cap applies before anything is buffered: a peer announcing a frame
larger than the cap, or an empty frame, is a protocol error that closes the
connection. The decoder keeps at most one partial frame.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct("!I")
DEFAULT_MAX_FRAME = 1024 * 1024


class FrameError(Exception):
    """The byte stream is not valid framing; the connection must be closed."""


def encode_frame(payload: bytes, limit: int = DEFAULT_MAX_FRAME) -> bytes:
    if not payload:
        raise FrameError("empty frame")
    if len(payload) > limit:
        raise FrameError(f"frame of {len(payload)} bytes exceeds the {limit}-byte limit")
    return HEADER.pack(len(payload)) + payload


class FrameDecoder:
    def __init__(self, limit: int = DEFAULT_MAX_FRAME) -> None:
        self.limit = limit
        self._buffer = bytearray()

    @property
    def partial(self) -> bool:
        """True while part of a frame has arrived but not all of it."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer.extend(data)
        frames = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length == 0:
                raise FrameError("empty frame")
            if length > self.limit:
                raise FrameError(f"peer announced a {length}-byte frame, over the {self.limit}-byte limit")
            if len(self._buffer) < HEADER.size + length:
                break
            frames.append(bytes(self._buffer[HEADER.size:HEADER.size + length]))
            del self._buffer[:HEADER.size + length]
        return frames
