"""Domain lifecycle events from libvirt, so a VM that stops or crashes is noticed at once, not at the next monitor.

Rules: libvirt's default event loop runs in one daemon thread (registered
before any connection is opened, as libvirt requires); each watched URI gets
one lifecycle callback; callbacks only hand the domain name to the asyncio
loop (call_soon_threadsafe), never touch controller state from the thread.
Events are a shortcut: the recurring monitor stays the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import libvirt

log = logging.getLogger(__name__)
_loop_lock = threading.Lock()
_loop_started = False


def start_event_loop() -> None:
    """Once per process: libvirt's default event implementation, run by a daemon thread."""
    global _loop_started
    with _loop_lock:
        if _loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except libvirt.libvirtError as error:      # pragma: no cover - libvirt internal trouble
                    log.warning("libvirt event loop: %s", error)
        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _loop_started = True


class LifecycleWatch:
    """Calls `changed(domain_name)` in the asyncio loop whenever a watched hypervisor reports a lifecycle event."""

    def __init__(self, loop: asyncio.AbstractEventLoop, changed: Callable[[str], None]):
        self.loop = loop
        self.changed = changed
        self._watched: dict[str, tuple[libvirt.virConnect, int]] = {}

    def watch(self, uri: str, connection: libvirt.virConnect) -> None:
        current = self._watched.get(uri)
        if current is not None and current[0] is connection:
            return
        try:
            callback_id = connection.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                            self._event, None)
        except libvirt.libvirtError as error:
            log.warning("no lifecycle events from %s (monitors still run): %s", uri, error.get_error_message())
            return
        self._watched[uri] = (connection, callback_id)

    def _event(self, connection, domain, event: int, detail: int, opaque) -> None:
        name = domain.name()
        # libvirt's thread may deliver an event after the daemon's loop has closed (shutdown, before close()):
        # it is of no use then, and raising here would only print a traceback from libvirt's dispatcher
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.changed, name)

    def close(self) -> None:
        for connection, callback_id in self._watched.values():
            with contextlib.suppress(libvirt.libvirtError):
                connection.domainEventDeregisterAny(callback_id)
        self._watched.clear()
