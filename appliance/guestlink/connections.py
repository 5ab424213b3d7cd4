"""Guest and remote node connections as the controller runs them: ocf:pacemaker:remote start/monitor/stop.

Rules: start connects to `server` (default: the node name) on `port` (default
the configured 3121) over the authenticated TLS channel, retrying until the
start timeout (Pacemaker's remote-connect-timeout); monitor answers 0 while
the link answers a ping, 7 when it is gone; stop closes it. While connected,
the node's operations run through a RemoteExecutor over that link; when the
link drops, `on_lost(node)` is called at once (no waiting for the next monitor).
A guest daemon that announced a clean stop ("shutdown" event: a restart, a key
rotation, a package update) is waited for instead, up to the connection's
start timeout: reconnected, `on_reconnected(node)` lets the controller
re-register its monitors, and nothing is reset; not back in time, it is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from appliance.guestlink.cli_proxy import CliProxy
from appliance.guestlink.client import ConnectionLost, GuestClient, GuestLinkError, RemoteError
from guest.agents.results import ExecStatus, OcfRc, Operation, OpResult, failed
from guest.common.tlsauth import Identity
from guest.protocol.operations import operation_from_args

log = logging.getLogger(__name__)
RETRY_S = 0.5
PING_TIMEOUT_S = 10.0
HANDOVER_S = 2.0          # a clean stop's close reaches the watcher within moments
Listener = Callable[[Operation, OpResult], None]


class RemoteExecutor:
    """A NodeExecutor for a guest or remote node, over its connection."""

    def __init__(self, node: str, client: GuestClient, address: tuple[str, int] = ("", 0),
                 connect_timeout_s: float = 60.0):
        self.node = node
        self.client = client
        self.address = address
        self.connect_timeout_s = connect_timeout_s
        self.listeners: dict[str, Listener] = {}       # operation key -> listener
        self.guest_stopping = False                    # it said it stops cleanly: wait for it to come back

    async def execute(self, operation: Operation) -> OpResult:
        try:
            return await self.client.execute(operation)
        except RemoteError as error:                   # it answered, refusing: the link is fine
            return failed(ExecStatus.ERROR, f"{self.node} refused {operation.action}: {error}")
        except ConnectionLost as error:
            return failed(ExecStatus.ERROR, f"connection to {self.node} lost: {error}")
        except GuestLinkError as error:
            return failed(ExecStatus.ERROR, f"{self.node} did not answer {operation.action}: {error}")

    async def start_recurring(self, operation: Operation, listener: Listener) -> OpResult:
        self.listeners[operation.key] = listener
        return await self.execute(operation)

    async def cancel_recurring(self, resource: str, action: str, interval_ms: int) -> None:
        self.listeners.pop(f"{resource}_{action}_{interval_ms}", None)
        with contextlib.suppress(GuestLinkError):
            await self.client.request("cancel", {"resource": resource, "action": action, "interval_ms": interval_ms})

    def event(self, name: str, data: dict) -> None:
        if name == "shutdown":
            log.info("%s: drover-guest is stopping cleanly", self.node)
            self.guest_stopping = True
            return
        if name != "op_result":
            return
        try:
            operation = operation_from_args(data["operation"])
            result = OpResult.from_dict(data["result"])
        except (KeyError, TypeError, ValueError) as error:
            log.warning("%s: malformed op_result event: %s", self.node, error)
            return
        listener = self.listeners.get(operation.key)
        if listener is not None:
            listener(operation, result)


class Connections:
    def __init__(self, identities: Sequence[Identity], default_port: int, local_node: str, software: str,
                 on_lost: Callable[[str], None], root: Path = Path("/"),
                 on_reconnected: Callable[[str], None] = lambda node: None):
        self.on_reconnected = on_reconnected
        self._reconnecting: dict[str, asyncio.Task] = {}
        self.identities = list(identities)
        self.default_port = default_port
        self.local_node = local_node
        self.software = software
        self.on_lost = on_lost
        self.executors: dict[str, RemoteExecutor] = {}
        self._watchers: dict[str, asyncio.Task] = {}
        self._attempted: set[str] = set()     # nodes this process has connected to (or tried to)
        self.cli = CliProxy(root=root)

    def executor(self, node: str) -> RemoteExecutor | None:
        executor = self.executors.get(node)
        return executor if executor is not None and not executor.client.closed else None

    async def run(self, operation: Operation) -> OpResult:
        started = time.time()
        begun = time.monotonic()
        node = operation.resource
        if operation.action == "start":
            result = await self._start(node, operation)
        elif operation.action == "stop":
            await self._close(node)
            result = OpResult(ExecStatus.DONE, OcfRc.OK)
        elif operation.action in ("monitor", "status"):
            result = await self._monitor(node, operation)
        else:
            result = OpResult(ExecStatus.NOT_SUPPORTED, OcfRc.UNIMPLEMENTED,
                              exit_reason=f"remote connections have no action '{operation.action}'")
        return OpResult(result.exec_status, result.rc, result.output, result.exit_reason, started,
                        int((time.monotonic() - begun) * 1000))

    def _address(self, node: str, operation: Operation) -> tuple[str, int]:
        server = operation.params.get("server") or node
        try:
            port = int(operation.params.get("port") or self.default_port)
        except ValueError:
            port = self.default_port
        return server, port

    async def _start(self, node: str, operation: Operation) -> OpResult:
        if self.executor(node) is not None:
            return OpResult(ExecStatus.DONE, OcfRc.OK)
        self._attempted.add(node)
        server, port = self._address(node, operation)
        timeout_s = operation.timeout_ms / 1000
        connected = await self._connect(node, (server, port), timeout_s)
        if isinstance(connected, RemoteExecutor):
            return OpResult(ExecStatus.DONE, OcfRc.OK)
        return OpResult(ExecStatus.TIMEOUT, OcfRc.ERR_GENERIC,
                        exit_reason=f"could not connect to {node} at {server}:{port} within {timeout_s:g}s: "
                                    f"{connected}")

    async def _connect(self, node: str, address: tuple[str, int], timeout_s: float) -> RemoteExecutor | str:
        """Connect, retrying until `timeout_s`; the executor now serving `node`, or why it could not."""
        deadline = time.monotonic() + timeout_s
        last_error = "no attempt"
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            try:
                client = await GuestClient.connect(*address, self.identities, self.software, self.local_node,
                                                   timeout=max(min(remaining, 10.0), 0.1))
            except GuestLinkError as error:
                last_error = str(error)
                await asyncio.sleep(min(RETRY_S, max(deadline - time.monotonic(), 0)))
                continue
            executor = RemoteExecutor(node, client, address, timeout_s)
            client.on_event = executor.event
            client.on_request = lambda op, args, node=node: self.cli.serve(node, op, args)
            self.executors[node] = executor
            self._watchers[node] = asyncio.create_task(self._watch(node, executor), name=f"watch {node}")
            log.info("connected to %s at %s:%d", node, *address)
            return executor
        return last_error

    async def _watch(self, node: str, executor: RemoteExecutor) -> None:
        await executor.client.wait_closed()
        if self.executors.get(node) is not executor:
            return
        if executor.guest_stopping:
            log.info("%s: waiting up to %gs for drover-guest to come back", node, executor.connect_timeout_s)
            attempt = asyncio.create_task(self._connect(node, executor.address, executor.connect_timeout_s),
                                          name=f"reconnect {node}")
            self._reconnecting[node] = attempt
            try:
                reconnected = await attempt
            finally:
                self._reconnecting.pop(node, None)
            if isinstance(reconnected, RemoteExecutor):
                log.info("%s: drover-guest is back; its resources were left as they were", node)
                self.on_reconnected(node)
                return
            if self.executors.get(node) is not executor:
                return
            log.warning("%s: drover-guest did not come back within %gs: %s", node, executor.connect_timeout_s,
                        reconnected)
        else:
            log.warning("connection to %s lost: %s", node, executor.client.close_reason or "closed")
        self.on_lost(node)

    async def _monitor(self, node: str, operation: Operation) -> OpResult:
        attempt = self._reconnecting.get(node)
        previous, watcher = self.executors.get(node), self._watchers.get(node)
        if attempt is None and previous is not None and previous.guest_stopping:
            # the guest announced a clean stop and its watcher is about to wait for it to come back: a monitor
            # in between must wait for that too, not call the guest lost
            deadline = time.monotonic() + HANDOVER_S
            while attempt is None and watcher is not None and not watcher.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                attempt = self._reconnecting.get(node)
        if attempt is not None:                    # a clean restart of the guest daemon: its outcome decides
            await asyncio.wait([attempt], timeout=operation.timeout_ms / 1000)
        executor = self.executor(node)
        if executor is None and node not in self._attempted and not operation.is_probe:
            # recorded as connected by an earlier run of the daemon: reattach rather than declare it lost
            await self._start(node, operation)
            executor = self.executor(node)
        if executor is None:
            return OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING,
                            exit_reason="" if operation.is_probe else f"not connected to {node}")
        try:
            await executor.client.request("ping", timeout=min(operation.timeout_ms / 1000, PING_TIMEOUT_S))
        except GuestLinkError as error:
            await executor.client.close()
            return OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING, exit_reason=f"{node} does not answer: {error}")
        return OpResult(ExecStatus.DONE, OcfRc.OK)

    async def _close(self, node: str) -> None:
        attempt = self._reconnecting.pop(node, None)
        if attempt is not None:
            attempt.cancel()
        executor = self.executors.pop(node, None)
        watcher = self._watchers.pop(node, None)
        if watcher is not None:
            watcher.cancel()
        if executor is not None:
            await executor.client.close()

    async def close_all(self) -> None:
        for node in list(self.executors):
            await self._close(node)
