"""The real world for the controller: SQLite state, this host's agents, libvirt, TLS links to guests.

Rules: wiring only. Resources on this host run through guest.agents'
executor in-process, except ocf:heartbeat:VirtualDomain (native, libvirt)
and ocf:pacemaker:remote (the guest/remote connection); scheduler inputs are
kept as pe-input-N.xml in the state directory, the oldest removed beyond the
configured number.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from appliance.alert_sender import AlertSender
from appliance.engine import alert_events, records
from appliance.engine.env import Listener
from appliance.fencing.agent import FenceAgents, FenceResult
from appliance.fencing.devices import FenceDevices
from appliance.fencing.fencer import DeviceRun, Fencer
from appliance.guestlink.connections import Connections
from appliance.hypervisor.libvirt_domain import AgentFailure, Hypervisors, VirtualDomain, domain_name
from appliance.hypervisor.libvirt_events import LifecycleWatch, start_event_loop
from appliance.model import fence_history
from appliance.model.cib_write import write_cib
from appliance.model.cluster import Cib
from appliance.model.status import Status
from appliance.store.cib_store import CibStore
from appliance.store.held_status import HeldStatus
from guest.agents.executor import Executor
from guest.agents.process import ProcessRunner
from guest.agents.results import AgentSpec, Operation, OpResult
from guest.agents.standards import AgentSettings
from guest.common import tooldir
from guest.common.selfexec import self_command

log = logging.getLogger(__name__)
OWNER = "controller"
VIRTUAL_DOMAIN = AgentSpec("ocf", "VirtualDomain", "heartbeat")
REMOTE = AgentSpec("ocf", "remote", "pacemaker")


class LocalExecutor(Executor):
    """This host's executor: process agents, plus the natively implemented VirtualDomain and connections, and
    the fence devices it runs."""

    def __init__(self, settings: AgentSettings, virtual_domain: VirtualDomain, connections: Connections):
        super().__init__(ProcessRunner(), settings)
        self.fence_devices = FenceDevices(FenceAgents(self.runner))
        self.virtual_domain = virtual_domain
        self.connections = connections
        self.lifecycle: LifecycleWatch | None = None

    async def _run(self, operation: Operation) -> OpResult:
        if operation.agent == VIRTUAL_DOMAIN:
            result = await self.virtual_domain.run(operation)
        elif operation.agent == REMOTE:
            result = await self.connections.run(operation)
        elif operation.agent.standard == "stonith":
            result = await self.fence_devices.run(operation)
        else:
            return await super()._run(operation)
        self._remember(operation.key, result)
        return result

    def domain_changed(self, name: str) -> None:
        """libvirt reported a lifecycle event for domain `name`: run its resource's monitor now."""
        for recurring in self.recurring():
            operation = recurring.operation
            if operation.agent != VIRTUAL_DOMAIN or operation.action != "monitor":
                continue
            try:
                if domain_name(Path(operation.params.get("config", ""))) != name:
                    continue
            except AgentFailure:
                continue
            asyncio.get_running_loop().create_task(self._check_now(recurring))

    async def _check_now(self, recurring) -> None:
        result = await self.execute(recurring.operation)
        if recurring in self.recurring() and not result.same_outcome(recurring.last):
            recurring.last = result
            recurring.listener(recurring.operation, result)

    def report(self, resource: str, result: OpResult) -> None:
        """A change seen outside the monitor's schedule (a link dropped): tell the monitor's listener now."""
        for recurring in self.recurring():
            operation = recurring.operation
            if operation.resource == resource and operation.action == "monitor" and \
                    not result.same_outcome(recurring.last):
                recurring.last = result
                recurring.listener(operation, result)

    # NodeExecutor
    async def start_recurring(self, operation: Operation, listener: Listener, owner: str = OWNER) -> OpResult:
        return await super().start_recurring(operation, owner, listener)

    async def cancel_recurring(self, resource: str, action: str, interval_ms: int) -> None:
        super().cancel(resource, action, interval_ms, OWNER)


class RealEnv:
    def __init__(self, store: CibStore, local_node: str, executor: LocalExecutor, connections: Connections,
                 inputs_dir: Path, inputs_kept: int, undefine_on_delete: bool = False, run_dir: Path | None = None):
        self.store = store
        self.status = HeldStatus(store, run_dir or inputs_dir.parent)
        self.local_node = local_node
        self.local = executor
        self.connections = connections
        self.inputs_dir = inputs_dir
        self.inputs_kept = inputs_kept
        self.undefine_on_delete = undefine_on_delete
        self.alerts: AlertSender | None = None       # set by the daemon: alerts sent for status changes
        self._alerts_seen: Status | None = None

    def now(self) -> float:
        return time.time()

    def read(self) -> Cib:
        cib = self._read()
        if self.alerts is not None:
            if not self.alerts.configure(cib.configuration.alerts):
                self._alerts_seen = None             # none configured: nothing to compare with when some are
            self._alert_on(cib.status, external=True)
        return cib

    def _read(self) -> Cib:
        return self.status.read()

    def edit_status(self, edit: Callable[[Status], Status]) -> None:
        if self.alerts is None or not self.alerts.active:
            self.status.edit(edit)
            return
        made: list[tuple[Status, Status]] = []

        def observed(status: Status) -> Status:
            updated = edit(status)
            made[:] = [(status, updated)]          # the last try is the one that counts
            return updated
        self.status.edit(observed)
        if made:
            before, after = made[0]
            self._alert_on(before, external=True)      # what others changed since this daemon last looked
            self._alert_on(after, external=False)

    def _alert_on(self, status: Status, external: bool) -> None:
        """Alerts for what changed since the status this daemon last saw. Changes made elsewhere (the CLI, other
        hosts) are alerted by the host in charge only: once per cluster."""
        seen, self._alerts_seen = self._alerts_seen, status
        if self.alerts is None or seen is None or seen is status or not self.alerts.active or \
                (external and not self.in_charge()):
            return
        self.alerts.send(alert_events.events(seen, status))

    def writable(self) -> bool:
        return self.status.flush()

    def in_charge(self) -> bool:
        return True

    def membership(self, status: Status) -> Status:
        return records.cluster_node_up(status, self.local_node, "1")

    async def durable(self) -> None:
        return None          # every edit is committed (or held, and then nothing new starts) when it returns

    def executor(self, node: str):
        if node == self.local_node:
            return self.local
        return self.connections.executor(node)

    def save_input(self, cib: Cib) -> None:
        try:
            self.inputs_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
            existing = sorted(self.inputs_dir.glob("pe-input-*.xml"), key=_input_number)
            number = _input_number(existing[-1]) + 1 if existing else 0
            target = self.inputs_dir / f"pe-input-{number}.xml"
            temporary = target.with_suffix(".tmp")
            temporary.write_text(write_cib(cib))
            os.replace(temporary, target)
            for old in existing[:max(len(existing) + 1 - self.inputs_kept, 0)]:
                old.unlink(missing_ok=True)
        except OSError as error:
            log.warning("cannot save the scheduler input in %s: %s", self.inputs_dir, error)

    def still_running(self, node: str, token: str) -> bool:
        """Agents of a killed daemon outlive it (own process groups); they carry OCF_RESKEY_CRM_meta_drover_op=token.
        On a guest the guest daemon serialises operations per resource, so a probe waits for them anyway."""
        if node != self.local_node or not token:
            return False
        needle = f"OCF_RESKEY_CRM_meta_drover_op={token}".encode()
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if needle in environ.read_bytes().split(b"\0"):
                    return True
            except OSError:
                continue
        return False

    async def fence(self, target: str, action: str, delay_s: float = 0.0) -> bool:
        cib = self.read()
        event = await self.fencer().fence(cib.configuration, cib.status, target, action, self.fencing_hosts(),
                                          fence_history.CONTROLLER, delay_s)
        return event.state == "done"

    def fencer(self) -> Fencer:
        return Fencer(self.local_node, self.run_fence_on, self.edit_status, self.now)

    def fencing_hosts(self) -> list[str]:
        """The hosts whose daemons can run a fence agent now."""
        return [self.local_node]

    async def run_fence_on(self, host: str, run: DeviceRun) -> FenceResult:
        if host != self.local_node:
            return FenceResult(run.action, False, f"{host} is not reachable from {self.local_node}")
        return await self.local.fence_devices.fence(run)

    async def resource_deleted(self, agent: str, params: dict[str, str]) -> None:
        if agent == str(VIRTUAL_DOMAIN) and self.undefine_on_delete:
            try:
                self.local.virtual_domain.undefine(params)
                log.info("undefined the domain of %s", params.get("config"))
            except AgentFailure as error:
                log.warning("could not undefine the domain of %s: %s", params.get("config"), error.reason)


def _input_number(path: Path) -> int:
    try:
        return int(path.stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def build_local(ocf_root: Path, libvirt_uri: str, connections: Connections, tools_dir: Path) -> LocalExecutor:
    """Call from the running event loop (lifecycle events are delivered to it). Agents run here find drover's
    crm_attribute & co in tools_dir."""
    tools = tooldir.install(tools_dir, self_command("appliance"))
    settings = AgentSettings(ocf_root=ocf_root, base_env=tooldir.agent_environment(os.environ, tools))
    start_event_loop()
    loop = asyncio.get_running_loop()
    hypervisors = Hypervisors()
    executor = LocalExecutor(settings, VirtualDomain(hypervisors, libvirt_uri), connections)
    executor.lifecycle = LifecycleWatch(loop, executor.domain_changed)
    hypervisors.on_open = executor.lifecycle.watch
    return executor
