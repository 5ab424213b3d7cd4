"""`drover stonith fence NODE [--off]` and `drover stonith history [show [NODE]] | cleanup [NODE]`, as pcs has them.

Rules: only a cluster host or a remote node can be fenced by a device; a guest node is "fenced" by restarting
its VM, and saying so beats a fence device that was never meant for it. In a cluster this host's daemon does
the fencing (it may run the device on another host, and records the outcome cluster-wide); a lone host fences
in this process with its own agents. Either way a success records the node as fenced, so its resources are
recovered. History lines are stonith_admin --history's, newest last, times in UTC.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from appliance.cli import state
from appliance.fencing import plan
from appliance.fencing.agent import FenceAgents
from appliance.fencing.devices import FenceDevices
from appliance.fencing.fencer import Fencer
from appliance.model.fence_history import FenceEvent, describe
from guest.agents.process import ProcessRunner
from guest.common.errors import UserError

CLIENT = "drover stonith fence"


def fence(args: dict, current: state.Settings) -> None:
    current.authorize()
    target = args["NODE"]
    action = "off" if args["--off"] else "reboot"
    with state.open_store(current) as store:
        cib = store.read()
    info = cib.configuration.node_info(target)
    if info is not None and info.kind == "guest":
        raise UserError(f"{target} is a guest node: drover fences it by restarting its VM "
                        f"(drover resource restart {info.resource})")
    if info is None and target != current.local_node:
        raise UserError(f"Node '{target}' does not seem to be in the cluster")
    if current.clustered:
        answer = _through_daemon(current, target, action, _wait_bound(cib.configuration))
        ok, reason, delegate = bool(answer["applied"]), str(answer.get("reason", "")), answer.get("delegate")
    else:
        event = asyncio.run(_fence_here(current, cib, target, action))
        ok, reason, delegate = event.state == "done", event.exit_reason, event.delegate
    if not ok:
        raise UserError(f"unable to fence '{target}': {reason}")
    print(f"Node: {target} fenced" + (f" (by {delegate})" if delegate and delegate != current.local_node else ""))


def _wait_bound(configuration) -> float:
    """How long the daemon may take: every device of every level once per host, plus their delays."""
    devices = plan.devices(configuration)
    per_run = plan.stonith_timeout_ms(configuration) / 1000
    longest = max([per_run, *(d.timeout_s("reboot", int(per_run * 1000)) for d in devices.values())])
    delays = max([0.0, *(d.delay_s(1.0) for d in devices.values())])
    hosts = max(1, len(configuration.node_infos()))
    return min(3600.0, 30 + delays + 2 * longest * max(1, len(devices)) * min(hosts, 3))


def _through_daemon(current: state.Settings, target: str, action: str, bound: float) -> dict:
    from appliance.cluster import admin_socket
    assert current.run_dir is not None
    try:
        return admin_socket.send_fence(current.run_dir, target, action, bound)
    except admin_socket.NoAnswer as error:
        raise UserError(f"the fencing of {target} has an unknown outcome: {error} (drover stonith history "
                        f"{target} shows it once it ends)") from None
    except OSError as error:
        raise UserError(f"drover is not running on this host ({error}): in a cluster fencing goes through it "
                        "(systemctl start drover)") from None


async def _fence_here(current: state.Settings, cib, target: str, action: str) -> FenceEvent:
    devices = FenceDevices(FenceAgents(ProcessRunner()))

    async def run_on(host, run):
        return await devices.fence(run)

    def record(edit) -> None:
        state.edit_status(current, edit)
    fencer = Fencer(current.local_node, run_on, record, time.time)
    return await fencer.fence(cib.configuration, cib.status, target, action, [current.local_node], CLIENT)


def history(args: dict, current: state.Settings) -> None:
    node = args["NODE"]
    if args["cleanup"]:
        current.authorize()

        def edit(status):
            kept = tuple(e for e in status.fencing if e.state == "pending" or (node is not None and e.target != node))
            return dataclasses.replace(status, fencing=kept)
        state.edit_status(current, edit)
        print(f"cleaning up fencing-history for node {node or '*'}")
        return
    with state.open_store(current) as store:
        events = [e for e in store.read().status.fencing if node is None or e.target == node]
    for event in events:
        print(describe(event))
    print(f"{len(events)} event{'' if len(events) == 1 else 's'} found")
