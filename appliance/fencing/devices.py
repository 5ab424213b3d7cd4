"""This host's fence devices: the stonith-class resources it runs, as Pacemaker's executor and fencer run them.

Rules (Pacemaker 2.1.5): `start` checks the agent and the device's parameters against its metadata, runs the
agent's monitor (a device that cannot reach its BMC does not start) and registers the device here; `stop`
unregisters it and always succeeds (nothing is powered off); a probe answers from the registration alone
(running here or not, no agent run); a recurring monitor runs the agent's `monitor` (or `pcmk_monitor_action`)
on a registered device; `fence` runs the fencer's actions. Registrations live in the daemon's memory, like the
fencer's: a restarted daemon probes "not running" and the scheduler starts its devices again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from appliance.fencing.agent import FenceAgentError, FenceAgentMissing, FenceAgents, FenceResult, check_params
from appliance.fencing.fencer import DeviceRun
from appliance.fencing.targets import TargetsError, targets
from guest.agents.results import ExecStatus, OcfRc, Operation, OpResult, failed

log = logging.getLogger(__name__)


class FenceDevices:
    def __init__(self, agents: FenceAgents):
        self.agents = agents
        self.registered: dict[str, tuple[str, Mapping[str, str]]] = {}     # resource -> (agent, params)

    async def run(self, operation: Operation) -> OpResult:
        started = time.time()
        if operation.action == "start":
            result = await self._start(operation)
        elif operation.action == "stop":
            self.registered.pop(operation.resource, None)
            result = OpResult(ExecStatus.DONE, OcfRc.OK)
        elif operation.action in ("monitor", "status"):
            result = await self._monitor(operation)
        else:
            result = failed(ExecStatus.NOT_SUPPORTED, f"fence devices have no {operation.action} action",
                            OcfRc.UNIMPLEMENTED)
        log.log(logging.INFO if operation.interval_ms == 0 else logging.DEBUG, "%s (%s): %s rc=%d%s",
                operation.key, operation.agent, result.exec_status.value, result.rc,
                f" ({result.exit_reason})" if result.exit_reason else "")
        return OpResult(result.exec_status, result.rc, result.output, result.exit_reason, started,
                        result.duration_ms)

    async def fence(self, run: DeviceRun) -> FenceResult:
        """One fencer action on this host's agents (reboot, off, on, list, status): registered here or not, as
        any host may run a device for the fencer."""
        try:
            return await self.agents.run(run.agent, run.params, run.action, run.timeout_s, run.plug)
        except FenceAgentError as error:
            return FenceResult(run.action, False, str(error))

    async def _start(self, operation: Operation) -> OpResult:
        agent, params = operation.agent.type, dict(operation.params)
        try:
            metadata = await self.agents.metadata(agent)
            check_params(metadata, params)
            targets(params)
        except FenceAgentMissing as error:
            return failed(ExecStatus.NOT_INSTALLED, str(error), OcfRc.ERR_INSTALLED)
        except (FenceAgentError, TargetsError) as error:
            return failed(ExecStatus.ERROR, str(error), OcfRc.ERR_CONFIGURED)
        checked = await self._agent_monitor(agent, params, operation.timeout_ms / 1000)
        if checked.rc == OcfRc.OK:
            self.registered[operation.resource] = (agent, params)
        return checked

    async def _monitor(self, operation: Operation) -> OpResult:
        if operation.resource not in self.registered:
            return OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING)
        if operation.interval_ms == 0:
            return OpResult(ExecStatus.DONE, OcfRc.OK)
        agent, params = self.registered[operation.resource]
        return await self._agent_monitor(agent, params, operation.timeout_ms / 1000)

    async def _agent_monitor(self, agent: str, params: Mapping[str, str], timeout_s: float) -> OpResult:
        action = params.get("pcmk_monitor_action", "monitor")
        try:
            outcome = await self.agents.run(agent, params, action, timeout_s)
        except FenceAgentError as error:
            return failed(ExecStatus.ERROR, str(error), OcfRc.ERR_CONFIGURED)
        if outcome.ok:
            return OpResult(ExecStatus.DONE, OcfRc.OK, duration_ms=outcome.duration_ms)
        status = ExecStatus.TIMEOUT if outcome.reason.startswith("timed out") else ExecStatus.ERROR
        return OpResult(status, OcfRc.ERR_GENERIC, exit_reason=f"{agent} {action}: {outcome.reason}",
                        duration_ms=outcome.duration_ms)
