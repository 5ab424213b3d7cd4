"""A guest link that stays connected: reconnects with back-off and keeps the connection alive.

GuestLink.run() connects, pings every keepalive seconds (a silent guest is
dropped after a missed ping), and on any loss reconnects after a back-off that
grows to max_backoff. request() waits up to connect_timeout for a connection
(Pacemaker's remote-connect-timeout) instead of failing at once. on_state is
told of every connect and disconnect so the controller can mark the node
online or offline and resynchronise with a `status` request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from appliance.guestlink.client import EventHandler, GuestClient, GuestLinkError
from guest.agents.results import Operation, OpResult
from guest.common.aio import settle, within
from guest.common.tlsauth import Identity

log = logging.getLogger(__name__)
STOP_BOUND_S = 2.0


@dataclass(frozen=True)
class LinkSettings:
    connect_timeout: float = 60.0
    keepalive: float = 10.0
    min_backoff: float = 0.2
    max_backoff: float = 5.0


class GuestLink:
    def __init__(self, host: str, port: int, identities: Sequence[Identity], software: str, node: str,
                 settings: LinkSettings = LinkSettings(), on_event: EventHandler | None = None,
                 on_state: Callable[[bool, str], None] | None = None) -> None:
        self.host, self.port = host, port
        self.identities = list(identities)
        self.software, self.node = software, node
        self.settings = settings
        self.on_event = on_event
        self.on_state = on_state
        self.client: GuestClient | None = None
        self.last_error = ""
        self._connected = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None and not self.client.closed

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"guest link {self.host}:{self.port}")

    async def stop(self) -> None:
        if self._task is not None:
            await settle([self._task], STOP_BOUND_S, f"guest link {self.host}:{self.port} stop")
        if self.client is not None:
            await self.client.close()

    async def run(self) -> None:
        backoff = self.settings.min_backoff
        while True:
            try:
                self.client = await GuestClient.connect(
                    self.host, self.port, self.identities, self.software, self.node,
                    timeout=min(self.settings.connect_timeout, 10.0), on_event=self.on_event)
            except GuestLinkError as error:
                if str(error) != self.last_error:
                    log.warning("%s", error)
                self.last_error = str(error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.max_backoff)
                continue
            backoff = self.settings.min_backoff
            self.last_error = ""
            log.info("guest %s:%d connected (%s)", self.host, self.port, self.client.connection.peer.software
                     if self.client.connection.peer else "?")
            self._connected.set()
            self._tell(True, "connected")
            reason = await self._keep_alive(self.client)
            self._connected.clear()
            await self.client.close()
            log.warning("guest %s:%d disconnected: %s", self.host, self.port, reason)
            self._tell(False, reason)

    def _tell(self, up: bool, reason: str) -> None:
        if self.on_state is not None:
            try:
                self.on_state(up, reason)
            except Exception:
                log.exception("guest link state handler failed")

    async def _keep_alive(self, client: GuestClient) -> str:
        closed = asyncio.create_task(client.wait_closed())
        try:
            while True:
                done, _ = await asyncio.wait({closed}, timeout=self.settings.keepalive)
                if done:
                    return client.close_reason or "connection closed"
                try:
                    await client.request("ping", timeout=self.settings.keepalive)
                except GuestLinkError as error:
                    return f"keepalive failed: {error}"
        finally:
            closed.cancel()

    async def wait_connected(self, timeout: float | None = None) -> GuestClient:
        timeout = self.settings.connect_timeout if timeout is None else timeout
        try:
            await within(self._connected.wait(), timeout)
        except TimeoutError:
            detail = f": {self.last_error}" if self.last_error else ""
            raise GuestLinkError(f"guest {self.host}:{self.port} not connected within {timeout:g}s{detail}") \
                from None
        assert self.client is not None
        return self.client

    async def request(self, op: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        client = await self.wait_connected()
        return await client.request(op, args, timeout)

    async def execute(self, operation: Operation) -> OpResult:
        client = await self.wait_connected()
        return await client.execute(operation)
