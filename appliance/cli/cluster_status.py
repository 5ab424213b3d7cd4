"""`drover cluster status`: corosync's view from this host: the cluster, quorum and votes, each host's state.

Rules: what corosync itself says (cmap's node list, votequorum's figures and node states), nothing cached;
a host without corosync.conf is a lone host (that is no error); a configured host whose corosync does not
answer is an error that says so. The corosync libraries are loaded only here (and by the daemon).
"""

from __future__ import annotations

from appliance.cluster.corosync_cmap import Cmap, cluster_name, links_up, local_nodeid, nodelist
from appliance.cluster.corosync_lib import CS_ERR_LIBRARY, CorosyncError, CorosyncLibraryMissing
from appliance.cluster.corosync_quorum import NodeState, QuorumInfo, Votequorum
from guest.common.cli import Context
from guest.common.errors import UserError

EXIT_NOT_RUNNING = 3


NO_LINK = ("no knet link up to it: it is down or unreachable, or its /etc/corosync/authkey differs from this "
           "host's (corosync then logs \"Digest does not match\": journalctl -u corosync)")


def render(name: str, local: int, hosts: list[tuple[str, int, str, NodeState, bool | None]],
           quorum: QuorumInfo) -> str:
    flags = [flag for flag, on in (("two_node", quorum.two_node), ("wait_for_all", quorum.wait_for_all)) if on]
    lines = [f"Cluster name: {name}",
             f"Quorum: partition {'with' if quorum.quorate else 'WITHOUT'} quorum (votes {quorum.total_votes}, "
             f"expected {quorum.expected_votes}, {quorum.quorum} needed)" + (f" [{' '.join(flags)}]" if flags else ""),
             "", "Hosts:"]
    for host, nodeid, address, state, link in hosts:
        shown = {NodeState.MEMBER: "member", NodeState.LEAVING: "leaving"}.get(state, "OFFLINE")
        if shown == "OFFLINE" and link is False:
            shown += f" ({NO_LINK})"
        lines.append(f"  * {host} (node id {nodeid}, {address}): {shown}" + (" (this host)" if nodeid == local else ""))
    return "\n".join(lines)


def run(context: Context) -> int:
    conf = context.paths.corosync_dir / "corosync.conf"
    if not conf.exists():
        print(f"not in a cluster ({conf} does not exist): drover runs this host alone; "
              "`drover cluster setup` makes a cluster")
        return 0
    try:
        with Cmap() as cmap, Cmap(stats=True) as stats, Votequorum() as votequorum:
            name, local, nodes = cluster_name(cmap), local_nodeid(cmap), nodelist(cmap)
            hosts = []
            for node in nodes:
                state = NodeState.DEAD
                if node.nodeid is not None:
                    try:
                        state = votequorum.info(node.nodeid).state
                    except CorosyncError:
                        state = NodeState.DEAD          # never seen in this membership
                address = node.addresses[0].address if node.addresses else "-"
                link = None if node.nodeid in (None, local) else links_up(stats, node.nodeid)
                hosts.append((node.name or f"node {node.nodeid}", node.nodeid or 0, address, state, link))
            quorum = votequorum.info()
    except CorosyncLibraryMissing as error:
        raise UserError(str(error)) from None
    except CorosyncError as error:
        if error.code == CS_ERR_LIBRARY:
            raise UserError(f"corosync is not running on this host ({conf} exists): start it with "
                            "`systemctl start corosync`", EXIT_NOT_RUNNING) from None
        raise UserError(f"corosync: {error}") from None
    print(render(name, local, hosts, quorum))
    return 0
