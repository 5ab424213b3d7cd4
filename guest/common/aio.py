"""asyncio helpers that never lose a cancellation: bounded waits and bounded shutdowns.

Rules: nothing here swallows `CancelledError` of the task that calls it.
`within` replaces `asyncio.wait_for`, which on Python 3.11 returns the inner
result and drops the caller's cancellation when both happen in the same loop
iteration (a recurring monitor that finished exactly as it was cancelled kept
looping for ever, and shutdown awaited it for ever). `settle` is how an owner
ends the tasks it started: cancel them, wait at most a stated bound, log (and
return) what did not end; the caller's own cancellation still propagates.
`in_thread` runs a blocking call in a daemon thread: unlike asyncio.to_thread
(whose pool is joined at exit), a call stuck in a library never keeps the
process from exiting after its bounded shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """Await with a time limit (TimeoutError past it); a cancellation of the caller is always delivered."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def settle(tasks: Iterable[asyncio.Future], bound: float, what: str) -> list[asyncio.Future]:
    """Cancel `tasks` and wait up to `bound` seconds for them to end; returns (and logs) the ones that did not.
    Their results and exceptions are collected here so none is reported as never retrieved."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=bound)
    abandoned = [task for task in pending if not task.done()]
    for task in pending:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("%s: %s ended with %r", what, _name(task), task.exception())
    if abandoned:
        log.error("%s: abandoned after %gs: %s", what, bound, ", ".join(_name(task) for task in abandoned))
    return abandoned


async def in_thread(function: Callable[..., T], *args: Any, name: str = "blocking call") -> T:
    """`function(*args)` in a new daemon thread; its result or exception comes back here."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if future.done():
            return             # the caller gave up (cancelled, timed out)
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def work() -> None:
        try:
            outcome = (True, function(*args))
        except BaseException as error:   # handed to the awaiting task, never lost in the thread
            outcome = (False, error)
        with contextlib.suppress(RuntimeError):    # a closed loop: the process is exiting, nobody waits for this
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future


def _name(task: asyncio.Future) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
