"""The executor: one operation at a time per resource, recurring monitors run here and report changes.

Operations on one resource queue in arrival order; different resources run in
parallel. A recurring operation runs at once, answers its requester with that
first result, then repeats every interval and tells its listener only when the
outcome (exec status, rc) changes, as Pacemaker's executor does. A stop first
cancels the resource's recurring operations. Recurring operations belong to an
owner (a connection): one owner's registration or cancellation never touches
another's, and they end with their owner. The last results of the most recent
LAST_RESULTS_KEPT operation keys are kept so a reconnecting controller can
learn what happened; nothing else grows with the number of resources seen.
shutdown() ends within its bound (SHUTDOWN_BOUND_S): what is still running
then is logged and its agents are killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from guest.agents.process import ProcessRunner
from guest.agents.results import Operation, OpResult
from guest.agents.standards import AgentSettings, interpret, invocation, resolve
from guest.common.aio import settle

log = logging.getLogger(__name__)

Listener = Callable[[Operation, OpResult], None]
RecurringKey = tuple[str, str, str, int]  # owner, resource, action, interval_ms
SHUTDOWN_BOUND_S = 5.0
LAST_RESULTS_KEPT = 2048


@dataclass
class Recurring:
    operation: Operation
    owner: str
    listener: Listener
    task: asyncio.Task | None = None
    last: OpResult | None = None


class Executor:
    def __init__(self, runner: ProcessRunner, settings: AgentSettings,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.runner = runner
        self.settings = settings
        self.wall_clock = wall_clock
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}     # resource -> (lock, operations using it)
        self._recurring: dict[RecurringKey, Recurring] = {}
        self.last_results: dict[str, OpResult] = {}

    async def execute(self, operation: Operation) -> OpResult:
        """Run one operation once (interval is passed to the agent but not repeated here)."""
        if operation.action == "stop":
            self.cancel_resource(operation.resource)
        resource = operation.resource
        lock, users = self._locks.get(resource) or (asyncio.Lock(), 0)
        self._locks[resource] = (lock, users + 1)
        try:
            async with lock:
                return await self._run(resolve(operation, self.settings))
        finally:
            lock, users = self._locks[resource]
            if users == 1:
                del self._locks[resource]                     # idle: forget it (bounded by what runs)
            else:
                self._locks[resource] = (lock, users - 1)

    def _remember(self, key: str, result: OpResult) -> None:
        self.last_results.pop(key, None)                      # re-inserted: the newest last
        self.last_results[key] = result
        while len(self.last_results) > LAST_RESULTS_KEPT:
            del self.last_results[next(iter(self.last_results))]

    async def _run(self, operation: Operation) -> OpResult:
        started = self.wall_clock()
        command = invocation(operation, self.settings)
        if isinstance(command, OpResult):
            result = dataclasses.replace(command, started=started)
        else:
            completed = await self.runner.run(command.argv, command.env, operation.timeout_ms / 1000)
            result = interpret(operation, completed, started)
        self._remember(operation.key, result)
        log.log(logging.INFO if operation.interval_ms == 0 else logging.DEBUG,
                "%s (%s): %s rc=%d%s", operation.key, operation.agent, result.exec_status.value, result.rc,
                f" ({result.exit_reason})" if result.exit_reason else "")
        return result

    async def start_recurring(self, operation: Operation, owner: str, listener: Listener) -> OpResult:
        """Register a recurring operation (replacing one with the same key); returns its first result."""
        key = (owner, operation.resource, operation.action, operation.interval_ms)
        self._cancel_key(key)
        recurring = Recurring(operation, owner, listener)
        first: asyncio.Future[OpResult] = asyncio.get_running_loop().create_future()
        recurring.task = asyncio.create_task(self._repeat(recurring, first), name=f"recurring {operation.key}")
        self._recurring[key] = recurring
        return await asyncio.shield(first)

    async def _repeat(self, recurring: Recurring, first: asyncio.Future[OpResult]) -> None:
        try:
            while True:
                result = await self.execute(recurring.operation)
                if not first.done():
                    first.set_result(result)
                elif not result.same_outcome(recurring.last):
                    recurring.listener(recurring.operation, result)
                recurring.last = result
                await asyncio.sleep(recurring.operation.interval_ms / 1000)
        except asyncio.CancelledError:
            if not first.done():
                first.cancel()
            raise
        except Exception as error:  # a bug must not kill the daemon silently
            log.exception("recurring %s stopped: %s", recurring.operation.key, error)
            if not first.done():
                first.set_exception(error)

    def cancel(self, resource: str, action: str, interval_ms: int, owner: str) -> bool:
        """Cancel `owner`'s recurring operation (another owner's of the same key is left alone)."""
        return self._cancel_key((owner, resource, action, interval_ms))

    def _cancel_key(self, key: RecurringKey) -> bool:
        recurring = self._recurring.pop(key, None)
        if recurring is None:
            return False
        if recurring.task is not None:
            recurring.task.cancel()
        log.debug("cancelled %s of %s", recurring.operation.key, recurring.owner)
        return True

    def cancel_resource(self, resource: str) -> int:
        """A stop ends the resource's recurring operations, whoever registered them."""
        return sum(self._cancel_key(key) for key in [k for k in self._recurring if k[1] == resource])

    def cancel_owner(self, owner: str) -> int:
        return sum(self._cancel_key(key) for key in [k for k in self._recurring if k[0] == owner])

    def recurring(self) -> list[Recurring]:
        return list(self._recurring.values())

    async def shutdown(self, bound: float = SHUTDOWN_BOUND_S) -> None:
        """Cancel every recurring operation and wait at most `bound` seconds; kill the agents still running."""
        tasks = [r.task for r in self._recurring.values() if r.task is not None]
        for key in list(self._recurring):
            self._cancel_key(key)
        try:
            await settle(tasks, bound, "executor shutdown")
        finally:
            self.runner.kill_all()
