"""Node states as Pacemaker 2.1.5 unpacks them: the nodes with their attributes, a host's membership from its
<node_state> (determine_online_status, with and without fencing), a remote or guest node's from its connection
and container, and what makes one of them fenced.

Rules: a host's standby, maintenance and shutdown come from its attributes before its membership is judged; a
remote or guest node's status attributes count only once its history is read (unpack_handle_remote_attrs); a
guest node is "fenced" by recovering its container, never made unclean (pe_fence_node).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from appliance.model import rule_sets
from appliance.model.cluster import Cib
from appliance.model.nodes import KIND_ATTRIBUTE
from appliance.model.values import is_true
from appliance.scheduler import utilization
from appliance.scheduler.build import Options
from appliance.scheduler.working import WNode, WRsc

if TYPE_CHECKING:
    from appliance.scheduler.unpack import Working


def nodes_of(cib: Cib, options: Options, now: datetime | None = None) -> list[WNode]:
    """Pacemaker only knows the attributes of a remote or guest node once it has a node_state in the status:
    before that #uname (and for guests everything but #kind) is missing, and standby/maintenance are not read."""
    configuration = cib.configuration
    nodes: list[WNode] = []
    for info in configuration.node_infos():
        configured = configuration.node(info.name)
        node = WNode(info.name, configured.id if configured else info.name, info.kind)
        state = cib.status.node_state(info.name)
        seen = state is not None
        node.remote_was_fenced = seen and info.kind == "remote" and (state.extra.get("node_fenced") or "0") != "0"
        kind_attr = KIND_ATTRIBUTE[info.kind]
        is_dc = "true" if info.kind == "cluster" and cib.dc_uuid is not None and cib.dc_uuid == node.id else "false"
        full = {"#uname": info.name, "#id": node.id, "#kind": kind_attr, "#is_dc": is_dc}
        if configured is not None:
            context = rule_sets.Context(now=now)
            owner = rule_sets.node_owner(info.name)
            full.update(rule_sets.conditional(configuration.rule_sets, configured.attributes, owner,
                                              "instance_attributes", context).items)
            capacity = rule_sets.conditional(configuration.rule_sets, configured.utilization, owner, "utilization",
                                             context)
            node.utilization = {name: utilization.value(text) for name, text in capacity}
        full.update(cib.status.transient(info.name).items)
        node.attrs = dict(full)
        if info.kind != "cluster":
            _remote_attributes_known(node, full, seen, configured.attributes.as_dict() if configured else None)
        if info.kind == "remote" and not seen:
            node.unseen = True
            node.unclean = options.stonith_enabled      # startup fencing: unclean until its status is seen
        elif not seen:
            node.unseen = True
        node.declared_standby = is_true(full.get("standby"))
        node.declared_maintenance = is_true(full.get("maintenance"))
        if info.kind == "cluster":
            # Pacemaker's pe__shutdown_requested: a host leaving cleanly runs nothing more
            node.shutdown = (node.attrs.get("shutdown") or "0") != "0"
            node.standby = is_true(node.attrs.get("standby"))
            node.maintenance = is_true(node.attrs.get("maintenance"))
            _cluster_node_state(node, cib, options)
        # (maintenance-mode leaves every resource unmanaged, build.py; the nodes themselves are not in maintenance)
        nodes.append(node)
    return nodes


def orphaned_remote_node(cib: Cib, name: str, kind: str) -> WNode:
    """The node of a remote or guest connection no longer configured (Pacemaker's create_fake_resource), shutting
    down: what runs there stops, then the connection."""
    node = WNode(name, name, kind)
    full = {"#uname": name, "#id": name, "#kind": KIND_ATTRIBUTE[kind], "#is_dc": "false",
            **cib.status.transient(name).as_dict()}
    _remote_attributes_known(node, full, cib.status.node_state(name) is not None, None)
    node.shutdown = True
    return node


def _remote_attributes_known(node: WNode, full: dict[str, str], seen: bool, configured: dict[str, str] | None
                             ) -> None:
    """A remote or guest node's attributes: a <node> entry gives its own at once (unpack_nodes); `full`, with the
    status ones, comes with the connection (remote_attributes)."""
    node.attrs = {"#kind": "remote"}
    if configured is not None:
        node.attrs = {"#uname": node.name, "#id": node.id, "#kind": "remote", "#is_dc": "false", **configured}
    node.pending_attrs = full if seen else None


def _cluster_node_state(node: WNode, cib: Cib, options: Options) -> None:
    """Pacemaker's determine_online_status (node attributes, shutdown and standby already read)."""
    state = cib.status.node_state(node.name)
    if state is None:
        node.unseen = True
        # Pacemaker's handle_startup_fencing: a host never seen is unclean (startup-fencing, the default)
        node.unclean = options.stonith_enabled and options.startup_fencing
        return
    in_cluster = state.in_ccm is not None and (is_true(state.in_ccm) or state.in_ccm.isdigit())
    peer = state.crmd == "online"
    expected_up = not node.shutdown and state.expected == "member"
    if not options.stonith_enabled:
        node.online = _online_without_fencing(node, state.join, in_cluster, peer, expected_up)
    else:
        node.online = _online_with_fencing(node, state, in_cluster, peer)
    if node.online and not options.have_quorum and options.no_quorum_policy == "suicide":
        node.must_be_fenced("cluster does not have quorum")


def _not_ready(node: WNode) -> None:
    node.standby = node.pending = True


def _online_without_fencing(node: WNode, join: str | None, in_cluster: bool, peer: bool, expected_up: bool) -> bool:
    if not in_cluster:
        return False
    if peer:
        if join == "member":
            return True
        _not_ready(node)
    elif expected_up:
        node.must_be_fenced("peer is unexpectedly down")
    return False


def _online_with_fencing(node: WNode, state, in_cluster: bool, peer: bool) -> bool:
    terminate = node.attrs.get("terminate") or ""
    do_terminate = is_true(terminate) or (terminate[:1].isdigit() and terminate[0] != "0")
    expected = state.expected or "down"
    if node.shutdown:
        return peer                       # a dead peer cannot be shut down: only whether it still answers
    if state.in_ccm is None:
        node.must_be_fenced("peer has not been seen by the cluster")
    elif state.join == "banned":
        node.must_be_fenced("peer failed Pacemaker membership criteria")
    elif not do_terminate and expected == "down":
        if in_cluster or peer:
            _not_ready(node)
    elif do_terminate and state.join == "down" and not in_cluster and not peer:
        pass                              # it was just shot
    elif not in_cluster:
        node.must_be_fenced("peer is no longer part of the cluster")
    elif not peer:
        node.must_be_fenced("peer process is no longer available")
    elif do_terminate:
        node.must_be_fenced("termination was requested")
    elif state.join == "member":
        return in_cluster
    elif state.join in ("pending", "down"):
        _not_ready(node)
    else:
        node.must_be_fenced("peer was in an unknown state")
    return in_cluster


def remote_state(working: Working, node: WNode) -> None:
    """A remote or guest node's state from its connection's (and container's) as unpacked so far."""
    connection = node.remote_rsc
    if connection is not None:
        container = working.container_of(connection) if node.kind == "guest" else None
        connected = connection.role != "Stopped" and bool(connection.running_on)
        online = connected
        if container is not None and (container.failed or container.role == "Stopped"):
            online = False
            if container.failed:
                node.requires_reset = True
        host = connection.running_on[0] if container is not None and len(connection.running_on) == 1 else None
        if online and not connection.failed and host is not None and not host.online and host.unclean:
            online = False                    # Pacemaker: "Guest node UNCLEAN because host is unclean"
            node.requires_reset = True
        if connection.failed:
            online = False
            if node.kind == "guest":
                node.requires_reset = True
            elif working.options.stonith_enabled:
                if not node.remote_was_fenced:
                    node.must_be_fenced("remote connection is unrecoverable")  # before its resources move
                if connection.reconnect_interval_s:
                    connection.next_role = "Stopped"     # Pacemaker: stays down until the reconnect delay passes
        node.online = online
        node.remote_was_running = connected   # its history is current: the connection is (or was just) up
        if connected:
            # Pacemaker reads a remote node's attributes from its status only when it reads its history
            remote_attributes(node)


def remote_attributes(node: WNode) -> None:
    """Pacemaker's unpack_handle_remote_attrs: the status's attributes; an unmanaged connection puts its node in
    maintenance."""
    if node.pending_attrs is not None:
        node.attrs = node.pending_attrs
        node.standby = is_true(node.attrs.get("standby"))
        node.maintenance = node.maintenance or is_true(node.attrs.get("maintenance")) or \
            (node.remote_rsc is not None and not node.remote_rsc.managed)


def container_not_known_running(working: Working, node: WNode) -> bool:
    container = working.container_of(node.remote_rsc) if node.kind == "guest" and node.remote_rsc else None
    return container is not None and container.role == "Stopped"


def fence_guest(working: Working, node: WNode) -> None:
    """Pacemaker's pe_fence_node for a guest node: its container is recovered (marked failed), the node is not
    made unclean, so it can run resources again in this transition once that recovery succeeds."""
    container = working.container_of(node.remote_rsc) if node.remote_rsc is not None else None
    if container is not None and not container.failed and container.managed:
        node.requires_reset = True
        container.failed = container.stop_required = True


def active_on_offline_remote(node: WNode, rsc: WRsc) -> None:
    """A remote node whose connection is down, with something thought active there, is fenced (its history is
    read only when fencing is enabled); unless its connection can start again elsewhere, which revokes that
    fencing (Pacemaker's unseen remote node)."""
    connection = node.remote_rsc
    if connection is not None and not connection.failed:
        node.unseen = True
        node.must_be_fenced(f"{rsc.id} is active there (fencing will be revoked if remote connection can be "
                            "re-established elsewhere)")
    else:
        node.must_be_fenced(f"{rsc.id} is thought to be active there")
