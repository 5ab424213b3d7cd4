"""Fencing history: what was fenced, by whom, how it ended, as Pacemaker's fencer keeps it (stonith_admin --history).

Rules: one event per fencing request, pending until it ends done or failed; `delegate` is the host that ran
the device that decided the outcome, `origin` the host that asked, `client` what asked (the controller, or
the CLI). Kept in the replicated status (every host knows the same history, and a restarted host still does),
never exported into CIB XML (Pacemaker keeps it outside the CIB too); the newest MAX_EVENTS are kept. Pure.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from appliance.model.values import INFINITY

MAX_EVENTS = 500
DEFAULT_MAX_ATTEMPTS = 10
CONTROLLER = "drover-controller"          # the client the controller's own fencing requests are recorded under
STATES = ("pending", "done", "failed")


@dataclass(frozen=True)
class FenceEvent:
    id: str
    target: str
    action: str                    # reboot, off, on
    state: str                     # pending, done, failed
    origin: str
    client: str
    requested: int                 # epoch seconds
    delegate: str = ""
    device: str = ""
    completed: int | None = None
    exit_reason: str = ""

    def finished(self, state: str, completed: int, delegate: str = "", device: str = "",
                 exit_reason: str = "") -> FenceEvent:
        return dataclasses.replace(self, state=state, completed=completed, delegate=delegate, device=device,
                                   exit_reason=exit_reason)


def recorded(history: tuple[FenceEvent, ...], event: FenceEvent) -> tuple[FenceEvent, ...]:
    """`history` with `event` added or replaced (same id), oldest dropped beyond MAX_EVENTS."""
    others = tuple(e for e in history if e.id != event.id)
    return (*others, event)[-MAX_EVENTS:]


def failures_in_a_row(history: tuple[FenceEvent, ...], target: str, client: str = CONTROLLER) -> int:
    """How many of `client`'s fencings of `target` failed since the last one that succeeded (by anyone)."""
    count = 0
    for event in reversed(history):
        if event.target != target or event.action == "on":
            continue
        if event.state == "done":
            break
        if event.state == "failed" and event.client == client:
            count += 1
    return count


def max_attempts(cluster_options: Mapping[str, str]) -> int:
    """stonith-max-attempts: the controller's failed fencings of one target, in a row, after which it gives up
    (10, as Pacemaker; a value below 1 or unreadable: 10)."""
    text = cluster_options.get("stonith-max-attempts", "").strip()
    try:
        value = int(text)
    except ValueError:
        value = INFINITY if text.upper().lstrip("+") == "INFINITY" else 0
    return value if value >= 1 else DEFAULT_MAX_ATTEMPTS


def utc_text(epoch: int) -> str:
    """A time as stonith_admin and crm_mon print fencing times."""
    return time.strftime("%Y-%m-%d %H:%M:%S +00:00", time.gmtime(epoch))


def describe(event: FenceEvent, when: Callable[[int], str] = utc_text) -> str:
    """One line as stonith_admin --history and crm_mon print it; `when(epoch)` formats a time."""
    outcome = {"done": "successful", "failed": "failed", "pending": "pending"}[event.state]
    text = f"{event.action} of {event.target} {outcome}: delegate={event.delegate or '(none)'}, " \
           f"client={event.client}, origin={event.origin}"
    if event.state == "pending":
        return text + f", requested='{when(event.requested)}'"
    text += f", {'completed' if event.state == 'done' else 'last-failed'}='{when(event.completed or 0)}'"
    if event.exit_reason:
        text += f" ({event.exit_reason})"
    return text
