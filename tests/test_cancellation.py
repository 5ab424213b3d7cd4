"""Cancellation is never lost and every shutdown is bounded.

The defect these pin down: on Python 3.11 `asyncio.wait_for` returns the inner
result and drops the caller's cancellation when the inner operation finishes
in the same loop iteration as the cancel; a recurring monitor cancelled at
that moment kept looping and `Executor.shutdown()` awaited it for ever. The
races are reproduced deterministically: the inner operation is completed in
the very step that cancels the outer task.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import re
import threading
import time

import pytest

from guest.agents.executor import Executor
from guest.agents.process import Completed
from guest.agents.results import AgentSpec, Operation
from guest.agents.standards import AgentSettings
from guest.common.aio import in_thread, settle, within
from tests.conftest import TOP

DUMMY = AgentSpec("ocf", "Dummy", "heartbeat")


def test_within_delivers_a_cancel_that_arrives_as_the_inner_operation_completes():
    async def scenario():
        inner = asyncio.get_running_loop().create_future()
        outer = asyncio.create_task(within(inner, 10))
        await asyncio.sleep(0)                 # outer now waits on inner
        inner.set_result("done")               # the inner operation completes ...
        outer.cancel()                         # ... in the same step as the cancel
        with pytest.raises(asyncio.CancelledError):
            await outer
        return outer.cancelled()

    assert asyncio.run(scenario())


def test_within_times_out_and_an_outer_cancel_during_the_timeout_wins():
    async def scenario():
        with pytest.raises(TimeoutError):
            await within(asyncio.sleep(10), 0.01)
        blocked = asyncio.create_task(within(asyncio.sleep(10), 0.05))
        await asyncio.sleep(0.05)              # the timeout fires about now; cancel anyway
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked

    asyncio.run(scenario())


class GatedRunner:
    """A ProcessRunner whose runs end when the test says, with the same bounded wait the real one uses."""

    def __init__(self) -> None:
        self.gates: list[asyncio.Future] = []
        self.started = asyncio.Event()

    async def run(self, argv, env, timeout, cwd="/"):
        gate = asyncio.get_running_loop().create_future()
        self.gates.append(gate)
        self.started.set()
        return await within(gate, timeout)

    def kill_all(self) -> None:
        pass


def test_a_recurring_monitor_cancelled_as_its_run_completes_ends_and_shutdown_returns(tmp_path):
    async def scenario():
        runner = GatedRunner()
        executor = Executor(runner, AgentSettings(systemd_running=False))
        monitor = Operation("r1", DUMMY, "monitor", interval_ms=10)
        first = asyncio.create_task(executor.start_recurring(monitor, "controller", lambda op, result: None))
        await runner.started.wait()
        runner.gates[0].set_result(Completed(0))
        await first
        while len(runner.gates) < 2:           # the second run is in flight
            await asyncio.sleep(0.001)
        task = executor.recurring()[0].task
        runner.gates[1].set_result(Completed(0))
        executor.cancel("r1", "monitor", 10, "controller")   # in the same step as the completion
        await asyncio.wait([task], timeout=2)
        assert task.done() and task.cancelled(), "the recurring monitor kept running after its cancellation"
        began = time.monotonic()
        await executor.shutdown(bound=2)
        return time.monotonic() - began

    assert asyncio.run(scenario()) < 1


def test_settle_returns_within_its_bound_and_names_what_it_abandoned(caplog):
    async def stubborn():
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue                       # the kind of bug settle must survive

    async def scenario():
        polite = asyncio.create_task(asyncio.sleep(10), name="polite")
        rude = asyncio.create_task(stubborn(), name="stubborn")
        await asyncio.sleep(0)
        began = time.monotonic()
        abandoned = await settle([polite, rude], 0.2, "test stop")
        took = time.monotonic() - began
        rude.cancel()
        rude.get_coro().close()
        return abandoned, took, polite.cancelled()

    with caplog.at_level(logging.ERROR):
        abandoned, took, polite_cancelled = asyncio.run(scenario())
    assert [task.get_name() for task in abandoned] == ["stubborn"]
    assert polite_cancelled
    assert 0.2 <= took < 1
    assert "test stop: abandoned after 0.2s: stubborn" in caplog.text


def test_settle_does_not_swallow_the_callers_own_cancellation():
    async def scenario():
        child = asyncio.create_task(asyncio.sleep(10))

        async def owner():
            await settle([child], 10, "owner")

        async def slow_child():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(5)         # takes its time to end

        child = asyncio.create_task(slow_child())
        await asyncio.sleep(0)
        task = asyncio.create_task(owner())
        await asyncio.sleep(0.01)
        task.cancel()                          # the owner itself is cancelled while settling
        await asyncio.wait([task], timeout=2)
        child.cancel()
        return task.cancelled()

    assert asyncio.run(scenario())


def test_in_thread_returns_results_and_exceptions_and_never_holds_the_process():
    def boom():
        raise ValueError("from the thread")

    async def scenario():
        assert await in_thread(lambda: 42) == 42
        with pytest.raises(ValueError, match="from the thread"):
            await in_thread(boom)
        release = threading.Event()
        with pytest.raises(TimeoutError):
            await within(in_thread(release.wait, 30), 0.05)
        return release

    release = asyncio.run(scenario())           # returns although a thread still blocks
    release.set()


def test_the_code_has_no_wait_for_and_never_swallows_cancellation():
    """The root cause, kept out for good: asyncio.wait_for (3.11 drops cancellations), suppress(CancelledError)
    (swallows the caller's own cancellation when it arrives during the await), and an except clause catching
    CancelledError (or BaseException, or everything) that does not re-raise."""
    offenders = []
    for path in sorted([*(TOP / "appliance").rglob("*.py"), *(TOP / "guest").rglob("*.py")]):
        if path.name == "aio.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            where = f"{path.relative_to(TOP)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                arguments = " ".join(ast.unparse(a) for a in node.args)
                if called.endswith("wait_for") or (called.endswith("suppress") and "CancelledError" in arguments):
                    offenders.append(f"{where}: {ast.unparse(node)}")
            elif isinstance(node, ast.ExceptHandler):
                caught = ast.unparse(node.type) if node.type is not None else "everything"
                if re.search(r"CancelledError|BaseException|everything", caught) and \
                        not any(isinstance(inner, ast.Raise) for inner in ast.walk(node)):
                    offenders.append(f"{where}: except {caught} without raise")
    assert offenders == []
