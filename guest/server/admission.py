"""Who may open a connection on 3121 before authenticating, and how much they may cost.

Rules: an unauthenticated peer must never cost the hypervisor its guest, so
room is never simply refused to a newcomer. Unauthenticated connections are
capped in total and per source address; at a cap the *oldest* unauthenticated
connection (of that source, or of all) is evicted: an idle or slow-loris peer
holds a slot for at most the time it takes newer peers to fill the cap, while
a real TLS handshake takes milliseconds and is never the oldest. A source that
failed many handshakes in a short window (key guessing, scanners) is slowed,
not refused (the hypervisor may share its address): its connections wait
penalty_delay_s before their handshake and it keeps fewer slots. Authenticated sessions have their own cap; the oldest
makes room for a new one (a hypervisor reconnecting after a network cut
replaces its dead session). Rejections are logged through a rate limit: the
first lines of each kind, then one summary per window.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AdmissionLimits:
    max_unauthenticated: int = 64
    per_source: int = 16
    max_sessions: int = 8
    failure_window_s: float = 60.0
    failures_before_penalty: int = 20     # failed handshakes of one source within the window
    penalty_delay_s: float = 1.0
    penalty_per_source: int = 4


@dataclass
class Pending:
    source: str
    began: float
    evict: Callable[[str], None]          # close it, with the reason to log


@dataclass
class Admission:
    limits: AdmissionLimits = field(default_factory=AdmissionLimits)
    clock: Callable[[], float] = time.monotonic
    pending: dict[object, Pending] = field(default_factory=dict)     # insertion order = oldest first
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, key: object, source: str, evict: Callable[[str], None]) -> float:
        """Track a new unauthenticated connection, evicting the oldest where a cap is reached; returns how
        long it must wait before its handshake (0 unless its source is penalised)."""
        penalised = self.penalised(source)
        cap = self.limits.penalty_per_source if penalised else self.limits.per_source
        same = [k for k, p in self.pending.items() if p.source == source]
        if len(same) >= cap:
            self._evict(same[0], f"evicted: {cap} unauthenticated connections from {source}")
        elif len(self.pending) >= self.limits.max_unauthenticated:
            oldest = next(iter(self.pending))
            self._evict(oldest, f"evicted: {self.limits.max_unauthenticated} unauthenticated connections")
        self.pending[key] = Pending(source, self.clock(), evict)
        return self.limits.penalty_delay_s if penalised else 0.0

    def _evict(self, key: object, reason: str) -> None:
        pending = self.pending.pop(key, None)
        if pending is not None:
            pending.evict(reason)

    def done(self, key: object) -> None:
        """Authenticated or gone: no longer counted."""
        self.pending.pop(key, None)

    def failed(self, source: str) -> None:
        window = self.failures.setdefault(source, deque())
        window.append(self.clock())
        self._prune(source)
        if len(self.failures) > 4 * self.limits.max_unauthenticated:     # bounded memory under a spread flood
            for stale in [s for s in self.failures if s != source][:len(self.failures) // 2]:
                del self.failures[stale]

    def penalised(self, source: str) -> bool:
        self._prune(source)
        return len(self.failures.get(source, ())) >= self.limits.failures_before_penalty

    def _prune(self, source: str) -> None:
        window = self.failures.get(source)
        if window is None:
            return
        horizon = self.clock() - self.limits.failure_window_s
        while window and window[0] < horizon:
            window.popleft()
        if not window:
            del self.failures[source]


class LimitedLog:
    """At most `burst` lines per kind per `window_s`; the rest are counted and summarised once per window."""

    def __init__(self, logger: logging.Logger, burst: int = 20, window_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}        # kind -> (window start, lines in it)

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = self.clock()
        start, count = self._windows.get(kind, (now, 0))
        if now - start >= self.window_s:
            if count > self.burst:
                self.logger.warning("... and %d more %s in the last %gs", count - self.burst, kind, now - start)
            start, count = now, 0
        count += 1
        self._windows[kind] = (start, count)
        if count <= self.burst:
            self.logger.warning(message, *args)
