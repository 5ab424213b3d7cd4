"""The controller's world on a host of a corosync cluster: the replicated state, this host's agents, and the
other hosts' (and their guests') through the exec group.

Rules: wiring only, over RealEnv. Reads are this host's copy (plus its edits on their way) with this
partition's quorum; status edits are replicated (appliance.store.replicated_status). Only the DC of a synced
membership is in charge. Operations on this host run here; on a guest whose connection this host holds, on
that connection; on another host, or a guest whose connection another host holds (its connection resource
runs there), through that host's daemon. A host whose daemon is not in the group cannot be reached: its
operations wait (it is restarting, or corosync will soon report it gone).
"""

from __future__ import annotations

import dataclasses

from appliance.cluster.host import ClusterHost
from appliance.engine import records
from appliance.env_real import RealEnv
from appliance.fencing.agent import FenceResult
from appliance.fencing.fencer import DeviceRun
from appliance.model.cluster import Cib
from appliance.model.status import Status

_RUNNING = ("start", "monitor", "promote", "demote", "migrate_from", "notify")


class ClusterEnv(RealEnv):
    def __init__(self, cluster: ClusterHost, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cluster = cluster
        self.status = cluster.status            # replicated edits instead of HeldStatus

    def _read(self) -> Cib:
        return dataclasses.replace(self.status.read(), have_quorum=self.cluster.view.quorate)

    def in_charge(self) -> bool:
        return self.cluster.view.is_dc

    def membership(self, status: Status) -> Status:
        view = self.cluster.view
        for nodeid, name in sorted(view.names.items()):
            if nodeid in view.corosync_members:
                status = records.cluster_node_up(status, name, str(nodeid))
            else:
                status = records.cluster_node_down(status, name, str(nodeid))
        return status

    async def durable(self) -> None:
        await self.status.durable()

    def fencing_hosts(self) -> list[str]:
        view = self.cluster.view
        return sorted(view.names.get(n, f"node{n}") for n in view.daemons)

    async def run_fence_on(self, host: str, run: DeviceRun) -> FenceResult:
        if host == self.local_node:
            return await self.local.fence_devices.fence(run)
        nodeid = self.cluster.view.nodeid(host)
        if nodeid is None or nodeid not in self.cluster.view.daemons:
            return FenceResult(run.action, False, f"{host}'s drover is not running")
        return await self.cluster.hub.fence(nodeid, run)

    def executor(self, node: str):
        if node == self.local_node:
            return self.local
        held = self.connections.executor(node)
        if held is not None:
            return held
        view = self.cluster.view
        nodeid = view.nodeid(node)
        if nodeid is None:                               # a guest or remote node: where its connection runs
            host = connection_host(self.status.read().status, node, set(view.names.values()))
            nodeid = view.nodeid(host) if host is not None and host != self.local_node else None
        if nodeid is None or nodeid not in view.daemons:
            return None
        return self.cluster.hub.executor(nodeid, node)


def connection_host(status: Status, node: str, hosts: set[str]) -> str | None:
    """The host whose record says the connection resource of `node` runs there."""
    for entry in status.history:
        if entry.resource != node or entry.node not in hosts:
            continue
        last = next((op for op in entry.ops if op.id == f"{node}_last_0"), None)
        if last is not None and last.operation in _RUNNING and last.rc_code == 0 and last.op_status in (0, -1):
            return entry.node
    return None
