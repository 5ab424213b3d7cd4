"""Sending alerts: each configured alert agent run, per recipient, for each event it selects, as Pacemaker runs them.

Rules: `send` never waits: runs are queued (at most MAX_QUEUED; beyond that an alert is dropped with an error in
the log) and a few workers run them, so neither a slow agent nor a burst of events holds up the controller.
An agent gets the daemon's environment, the alert's (and recipient's) instance attributes, and every field as
CRM_alert_NAME and the legacy CRM_notify_NAME, with kind, version, recipient, node_sequence and the timestamps;
it is killed (its whole process group) at its timeout. `close` ends everything within its bound.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Mapping

from appliance.engine.alert_events import AlertEvent
from appliance.model.alerts import Alert, Delivery, deliveries
from guest.agents.process import ProcessRunner
from guest.common.aio import settle

log = logging.getLogger("drover.alerts")

MAX_QUEUED = 1000
WORKERS = 4
OUTPUT_LIMIT = 4096
_FRACTION = re.compile(r"%(\d*)N")


def _fraction(now: float) -> str:
    """The fraction of the second as nine digits (microsecond precision)."""
    return f"{round((now % 1) * 1_000_000) * 1000:09d}"[:9]


def timestamp(fmt: str, now: float) -> str:
    """strftime with Pacemaker's %N (fractions of a second; %3N milliseconds, %6N microseconds, %N nanoseconds)."""
    nanoseconds = _fraction(now)
    with_fraction = _FRACTION.sub(lambda m: nanoseconds[:min(int(m.group(1) or 9), 9)], fmt)
    return time.strftime(with_fraction, time.localtime(now))


class AlertSender:
    def __init__(self, version: str, runner: ProcessRunner | None = None, clock: Callable[[], float] = time.time,
                 environ: Mapping[str, str] | None = None, workers: int = WORKERS, max_queued: int = MAX_QUEUED):
        self.version = version
        self.runner = runner or ProcessRunner()
        self.clock = clock
        self.environ = dict(os.environ if environ is None else environ)
        self.deliveries: list[Delivery] = []
        self._alerts: tuple[Alert, ...] = ()
        self._queue: asyncio.Queue[tuple[Delivery, dict[str, str]]] = asyncio.Queue(max_queued)
        self._worker_count = workers
        self._workers: list[asyncio.Task] = []           # started with the first alert (inside the event loop)
        self._sequence = 0

    @property
    def active(self) -> bool:
        return bool(self.deliveries)

    def configure(self, alerts: tuple[Alert, ...]) -> bool:
        """The alerts configured now; True if there are any."""
        if alerts != self._alerts:
            self._alerts = alerts
            self.deliveries = deliveries(alerts)
        return self.active

    def send(self, events: list[AlertEvent]) -> None:
        if events and not self._workers:
            loop = asyncio.get_running_loop()
            self._workers = [loop.create_task(self._work(), name="alert sender") for _ in range(self._worker_count)]
        for event in events:
            now = self.clock()
            for delivery in self.deliveries:
                if not delivery.wants(event.kind, event.attribute):
                    continue
                self._sequence += 1
                try:
                    self._queue.put_nowait((delivery, self._environment(delivery, event, now)))
                except asyncio.QueueFull:
                    log.error("alert %s to %s dropped: %d alerts are waiting already", delivery.alert,
                              delivery.recipient, self._queue.qsize())

    def _environment(self, delivery: Delivery, event: AlertEvent, now: float) -> dict[str, str]:
        fields = dict(event.fields)
        fields.update(kind=event.kind, version=self.version, node_sequence=str(self._sequence),
                      timestamp=timestamp(delivery.timestamp_format, now), timestamp_epoch=str(int(now)),
                      timestamp_usec=_fraction(now)[:6])
        if delivery.recipient is not None:
            fields["recipient"] = delivery.recipient
        environment = {**self.environ, **dict(delivery.environment)}
        for name, value in fields.items():
            environment[f"CRM_alert_{name}"] = environment[f"CRM_notify_{name}"] = value
        return environment

    async def _work(self) -> None:
        while True:
            delivery, environment = await self._queue.get()
            try:
                code, _out, err = await self.runner.run_captured([delivery.path], environment,
                                                                 delivery.timeout_ms / 1000, OUTPUT_LIMIT)
                if code != 0:
                    log.warning("alert agent %s (%s) for %s %s: %s", delivery.alert, delivery.path,
                                environment.get("CRM_alert_kind"), "timed out and was killed" if code is None
                                else f"exited {code}", err.strip()[:200])
            finally:
                self._queue.task_done()

    async def drained(self) -> None:
        """Returns once every queued alert has run (tests)."""
        await self._queue.join()

    async def close(self, bound: float) -> None:
        """Within about `bound` seconds: the queue dropped, running agents killed, the workers ended."""
        await settle(self._workers, bound, "alert sender")
        self.runner.kill_all()
