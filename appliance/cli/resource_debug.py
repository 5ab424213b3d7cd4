"""`drover resource debug-start|debug-stop|debug-monitor|debug-promote|debug-demote NAME [--full]` (pcs) and
crm_resource's --force-start/--force-stop/--force-check/--force-promote/--force-demote: run one action of a
resource's agent on this host, now, outside the cluster.

Rules: the agent gets what the controller would give it (the configured parameters, meta attributes and the
operation's timeout, from appliance.engine.resolve); nothing is recorded, so the cluster learns of it only
from its next monitor or probe, exactly as with crm_resource. A clone the cluster has active somewhere is
refused for start/promote/demote without --force (crm_resource's "not safe"); a group, a remote node's
connection and a fence device are refused with what to do instead. Output is crm_resource's (pcs prints
it too): "Operation force-start for NAME (ocf:heartbeat:Dummy) returned 0 (ok)" or "... could not be
executed (Timed Out: ...)", then the agent's output; the exit code is the agent's.
"""

from __future__ import annotations

import asyncio
import os
import sys

from appliance.cli import state
from appliance.engine.records import EXEC_STATUS_CODES
from appliance.engine.resolve import operation, resolve
from appliance.model.history import EXEC_STATUS_NAMES, RC_NAMES, active_on
from appliance.model.resources import Clone, Group, primitives
from guest.agents.executor import Executor
from guest.agents.process import ProcessRunner
from guest.agents.results import ExecStatus, Operation, OpResult
from guest.agents.standards import AgentSettings
from guest.common.errors import UserError

ACTIONS = {"start": "start", "stop": "stop", "monitor": "monitor", "check": "monitor", "promote": "promote",
           "demote": "demote"}
EXIT_UNSAFE = 4                 # crm_exit_t CRM_EX_UNSAFE ... as crm_resource exits when it refuses a clone
EXIT_UNIMPLEMENTED = 3


def run(current: state.Settings, libvirt_uri: str, name: str, verb: str, force: bool, full: bool) -> int:
    """`verb` is pcs's (start, stop, monitor, promote, demote) or crm_resource's check; returns the exit
    code. `libvirt_uri`: drover.conf's libvirt.uri, a VirtualDomain's default hypervisor."""
    action = ACTIONS[verb]
    current.authorize()             # it runs agents on the hypervisor: never for a guest's limited policy
    with state.open_store(current) as store:
        snapshot = store.read()
    configuration = snapshot.configuration
    resource = configuration.resource(name)
    if resource is None:
        raise UserError(f"resource '{name}' does not exist", 105)
    if isinstance(resource, Clone):
        running = [node for p in primitives((resource,)) for node, _ in active_on(snapshot.status, p.id)]
        if running and action in ("start", "promote", "demote") and not force:
            raise UserError(f"It is not safe to {action} {name} here: the cluster claims it is already active "
                            f"(on {', '.join(sorted(set(running)))}); set target-role=Stopped first or use --force",
                            EXIT_UNSAFE)
        resource = resource.child
    if isinstance(resource, Group):
        raise UserError(f"Sorry, {action} of a group is not supported: give one of its primitives "
                        f"({', '.join(m.id for m in resource.members)})", EXIT_UNIMPLEMENTED)
    if resource.agent.standard == "stonith":
        raise UserError(f"{name} is a fence device: `drover stonith fence NODE` fences through it", EXIT_UNIMPLEMENTED)
    runnable = resolve(configuration, snapshot.status, resource.id)
    if runnable is None:
        raise UserError(f"resource '{name}' does not exist", 105)
    if str(runnable.agent) == "ocf:pacemaker:remote":
        raise UserError(f"{name} is a remote node's connection: the daemon holds it", EXIT_UNIMPLEMENTED)
    op = operation(configuration, runnable, action)
    if full:
        print(f"Running {action} of {name} ({runnable.agent}) here, timeout {op.timeout_ms // 1000}s, with:")
        for key, value in sorted(op.params.items()):
            print(f"  {key}={value}")
    result = asyncio.run(_execute(current, libvirt_uri, op))
    _print(name, str(runnable.agent), "force-check" if action == "monitor" else f"force-{action}", result)
    return result.rc if result.exec_status == ExecStatus.DONE else 1


async def _execute(current: state.Settings, libvirt_uri: str, op: Operation) -> OpResult:
    if str(op.agent) == "ocf:heartbeat:VirtualDomain":
        from appliance.hypervisor.libvirt_domain import Hypervisors, VirtualDomain  # only this one needs libvirt
        return await VirtualDomain(Hypervisors(), libvirt_uri).run(op)
    settings = AgentSettings(ocf_root=current.ocf_root, base_env=dict(os.environ))
    return await Executor(ProcessRunner(), settings).execute(op)


def _print(name: str, agent: str, action: str, result: OpResult) -> None:
    """crm_resource's words: `action` is its option (force-start, force-check, ...)."""
    if result.exec_status == ExecStatus.DONE:
        print(f"Operation {action} for {name} ({agent}) returned {result.rc} ({RC_NAMES.get(result.rc, 'unknown')}"
              + (f": {result.exit_reason}" if result.exit_reason else "") + ")")
    else:
        status = EXEC_STATUS_NAMES.get(EXEC_STATUS_CODES.get(result.exec_status, -1), result.exec_status.value)
        print(f"Operation {action} for {name} ({agent}) could not be executed ({status}"
              + (f": {result.exit_reason}" if result.exit_reason else "") + ")", file=sys.stderr)
    output = result.output.strip()
    if output:                          # crm_resource passes the agent's stdout and stderr on
        print(output)
