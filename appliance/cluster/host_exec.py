"""Operations for another host, over corosync: the DC asks, the host that owns the node runs them and answers.

Rules: one CPG group (`drover-exec`) for every host's daemon; each message names the node id it is `to` (None:
everyone). The DC's side is a `HostExecutor` per (host, node) — a NodeExecutor like a local one: `execute`
and `start_recurring` wait for the host's answer; later changes of a recurring monitor come back as `changed`
messages to whoever registered it. The host's side (`ExecServer`) runs them on its own executor or on the guest
connection it holds, never on anything it merely heard of. A request to a host that leaves the group before
answering ends as an error result naming that ("host node2 left"), so no caller waits for ever. Messages of
another protocol version, or unreadable ones, are dropped with one log line per sender.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from appliance.engine.env import Listener, NodeExecutor
from appliance.fencing.agent import FenceResult
from appliance.fencing.fencer import DeviceRun
from guest.agents.results import STANDARDS, ExecStatus, Operation, OpResult, failed
from guest.common.aio import settle
from guest.protocol.operations import InvalidOperation, operation_from_args, operation_to_args

log = logging.getLogger(__name__)
PROTOCOL = 2                    # 2: fence requests
GROUP = "drover-exec"
RecurringKey = tuple[int, str, str, str, int]     # host, node, resource, action, interval_ms
HOST_STANDARDS = (*STANDARDS, "stonith")          # a host also runs fence devices
Lost = Callable[[str, bool], dict]      # the result of a request whose answer cannot come (why, cancelled)


def _operation_lost(why: str, cancelled: bool) -> dict:
    return failed(ExecStatus.CANCELLED if cancelled else ExecStatus.ERROR, why).to_dict()


class Bus(Protocol):
    def send(self, payload: bytes) -> None: ...


class HostExecutor:
    """NodeExecutor for `node` (the host itself, or a guest whose connection it holds) on host `host`."""

    def __init__(self, hub: ExecHub, host: int, node: str):
        self.hub, self.host, self.node = hub, host, node

    async def execute(self, operation: Operation) -> OpResult:
        return OpResult.from_dict(await self.hub.request(self.host, {"kind": "exec", "target": self.node,
                                                                     "op": operation_to_args(operation)}))

    async def start_recurring(self, operation: Operation, listener: Listener) -> OpResult:
        key = (self.host, self.node, operation.resource, operation.action, operation.interval_ms)
        self.hub.listeners[key] = listener
        return OpResult.from_dict(await self.hub.request(self.host, {"kind": "recur", "target": self.node,
                                                                     "op": operation_to_args(operation)}))

    async def cancel_recurring(self, resource: str, action: str, interval_ms: int) -> None:
        self.hub.listeners.pop((self.host, self.node, resource, action, interval_ms), None)
        self.hub.send(self.host, {"kind": "cancel", "target": self.node, "resource": resource, "action": action,
                                  "interval_ms": interval_ms})


class ExecHub:
    """Both sides of the exec group on one host. `local_executor(node)`: where this host runs operations for
    `node` (None: not here); `on_forget(node)`: a node this host holds lost its connection (the DC forgets its
    monitors there)."""

    def __init__(self, bus: Bus, nodeid: int, local_executor: Callable[[str], NodeExecutor | None],
                 on_forget: Callable[[str], None] = lambda node: None, on_leave: Callable[[], None] = lambda: None):
        self.bus, self.nodeid = bus, nodeid
        self.local_executor, self.on_forget, self.on_leave = local_executor, on_forget, on_leave
        self.listeners: dict[RecurringKey, Listener] = {}
        self._pending: dict[int, tuple[int, asyncio.Future[dict], Lost]] = {}
        self.run_fence: Callable[[DeviceRun], Awaitable[FenceResult]] | None = None   # this host's agents
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self._members: frozenset[int] = frozenset()
        self._refused: set[int] = set()
        self.names: dict[int, str] = {}

    def executor(self, host: int, node: str) -> HostExecutor | None:
        return HostExecutor(self, host, node) if host in self._members else None

    # -- sending ------------------------------------------------------------------------------------------

    def send(self, to: int | None, message: dict[str, Any]) -> None:
        self.bus.send(json.dumps({"protocol": PROTOCOL, "to": to, **message}).encode())

    async def request(self, host: int, message: dict[str, Any], lost: Lost = _operation_lost) -> dict:
        """The answer of `host` (a result dict); `lost` makes one when it cannot come."""
        request_id = next(self._ids)
        future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (host, future, lost)
        try:
            self.send(host, {**message, "req": request_id})
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def fence(self, host: int, run: DeviceRun) -> FenceResult:
        """Have `host` run one fence agent action (for the fencer, wherever it runs)."""
        answer = await self.request(host, {"kind": "fence", "run": run.to_json()},
                                    lambda why, _cancelled: FenceResult(run.action, False, why).to_json())
        return FenceResult.from_json(answer)

    def forget(self, node: str) -> None:
        """Tell the DC, wherever it is, that `node`'s connection (held here) is gone."""
        self.send(None, {"kind": "forget", "node": node})

    def leave_all(self) -> None:
        """`drover cluster stop --all`: every daemon stops (each host drained first)."""
        self.send(None, {"kind": "leave"})

    # -- bus callbacks ------------------------------------------------------------------------------------

    def membership(self, members: tuple[int, ...]) -> None:
        self._members = frozenset(members)
        for host, future, lost in list(self._pending.values()):
            if host not in self._members and not future.done():
                name = self.names.get(host, f"node {host}")
                future.set_result(lost(f"host {name} left before answering", False))
        for key in [k for k in self.listeners if k[0] not in self._members]:
            self.listeners.pop(key, None)

    def delivered(self, sender: int, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError as error:
            log.warning("node %d: unreadable exec message (%s); ignored", sender, error)
            return
        if message.get("protocol") != PROTOCOL:
            if sender not in self._refused:
                log.error("node %d speaks exec protocol %s, this host %d: its requests are ignored",
                          sender, message.get("protocol"), PROTOCOL)
                self._refused.add(sender)
            return
        if message.get("to") not in (None, self.nodeid):
            return
        try:
            self._handle(sender, message)
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            log.warning("node %d: malformed %s message (%s); ignored", sender, message.get("kind"), error)
            request_id = message.get("req")
            if message.get("kind") in ("exec", "recur", "fence") and isinstance(request_id, int):
                # the asker waits for an answer: it gets one naming the problem (its own request, not ours)
                answer = FenceResult("?", False, f"refused: {error}").to_json() if message["kind"] == "fence" \
                    else failed(ExecStatus.ERROR, f"refused: {error}").to_dict()
                self.send(sender, {"kind": "result", "req": request_id, "result": answer})

    def _handle(self, sender: int, message: dict) -> None:
        kind = message.get("kind")
        if kind == "result":
            entry = self._pending.get(int(message["req"]))
            if entry is not None and entry[0] == sender and not entry[1].done():
                if not isinstance(message["result"], dict):
                    raise ValueError("result is not an object")
                entry[1].set_result(message["result"])
        elif kind == "changed":
            key = (sender, str(message["target"]), str(message["resource"]), str(message["action"]),
                   int(message["interval_ms"]))
            listener = self.listeners.get(key)
            if listener is not None:
                listener(operation_from_args(message["op"], HOST_STANDARDS), OpResult.from_dict(message["result"]))
        elif kind in ("exec", "recur"):
            operation = operation_from_args(message["op"], HOST_STANDARDS)
            self._spawn(self._serve(sender, int(message["req"]), kind, str(message["target"]), operation))
        elif kind == "fence":
            self._spawn(self._serve_fence(sender, int(message["req"]), DeviceRun.from_json(message["run"])))
        elif kind == "cancel":
            executor = self.local_executor(str(message["target"]))
            if executor is not None:
                self._spawn(executor.cancel_recurring(str(message["resource"]), str(message["action"]),
                                                      int(message["interval_ms"])))
        elif kind == "forget":
            self.on_forget(str(message["node"]))
        elif kind == "leave":
            log.info("%s asks every host to leave the cluster", self.names.get(sender, f"node {sender}"))
            self.on_leave()
        else:
            log.warning("node %d: unknown exec message kind %r; ignored", sender, kind)

    # -- the host's side ----------------------------------------------------------------------------------

    def _spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, asker: int, request_id: int, kind: str, target: str, operation: Operation) -> None:
        executor = self.local_executor(target)
        try:
            if executor is None:
                result = failed(ExecStatus.ERROR, f"{target} is not reachable from {self.names.get(self.nodeid, '?')}")
            elif kind == "exec":
                result = await executor.execute(operation)
            else:
                result = await executor.start_recurring(operation, self._relay(asker, target))
        except Exception as error:              # the asker must not wait for ever (CancelledError passes)
            log.exception("%s on %s failed to run", operation.key, target)
            result = failed(ExecStatus.ERROR, f"{operation.key} could not run on {target}: {error}")
        self.send(asker, {"kind": "result", "req": request_id, "result": result.to_dict()})

    async def _serve_fence(self, asker: int, request_id: int, run: DeviceRun) -> None:
        here = self.names.get(self.nodeid, "?")
        try:
            if self.run_fence is None:
                result = FenceResult(run.action, False, f"{here} cannot run fence agents")
            else:
                result = await self.run_fence(run)
        except Exception as error:              # the asker must not wait for ever (CancelledError passes)
            log.exception("%s %s could not run", run.device, run.action)
            result = FenceResult(run.action, False, f"{run.device} could not run on {here}: {error}")
        self.send(asker, {"kind": "result", "req": request_id, "result": result.to_json()})

    def _relay(self, asker: int, target: str) -> Listener:
        def changed(operation: Operation, result: OpResult) -> None:
            self.send(asker, {"kind": "changed", "target": target, "resource": operation.resource,
                              "action": operation.action, "interval_ms": operation.interval_ms,
                              "op": operation_to_args(operation), "result": result.to_dict()})
        return changed

    async def close(self, bound: float) -> None:
        for _host, future, lost in self._pending.values():
            if not future.done():
                future.set_result(lost("drover is stopping", True))
        await settle(set(self._tasks), bound, "exec requests")
