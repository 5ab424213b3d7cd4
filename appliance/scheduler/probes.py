"""Start-up probes: which resources the transition first checks on which nodes (a monitor with interval 0), as
Pacemaker 2.1.5 schedules them (pcmk__schedule_probes, pcmk__probe_rsc_on_node, the clone and group variants).

Rules: nothing when enable-startup-probes is false; on every online, clean node whose resource discovery is
not disabled (a remote or guest node's resource-discovery-enabled attribute), each primitive whose state there
is not known from its history, unless it is an orphan, a filler of a container, a fencing device or remote
connection on a remote/guest node, a resource holding a guest node on a guest node, kept off by
resource-discovery=never, or outside its exclusive discovery; on a guest node only while its container runs
and stays. A unique clone probes every instance, an anonymous one a single instance per node (the one known
there, else the one placed there, else the first), a group each member. Pure: reads the unpacked, assigned
working set.
"""

from __future__ import annotations

from appliance.model.history import base_id
from appliance.model.values import is_true
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import WNode, WRsc


def plan(working: Working, starting: frozenset[str] = frozenset()) -> tuple[tuple[str, str], ...]:
    """(primitive or instance id, node) of each probe, nodes in order, resources in configuration order;
    `starting`: the primitives the transition starts. None on a pending node (actions there cannot run)."""
    return _planned(working, starting, pending=False)


def blocked_starts(working: Working) -> frozenset[str]:
    """The primitives that cannot start because a probe they need is on a pending node, where it cannot run
    (Pacemaker orders a start after the probes of a resource not active anywhere, runnable_left): the probed
    primitive itself, or every instance of the clone it belongs to."""
    blocked: set[str] = set()
    for rid, _node in _planned(working, frozenset(), pending=True):
        rsc = working.by_id.get(rid)
        if rsc is None or rsc.running_on:
            continue
        top = rsc.top()
        blocked.update(p.id for p in (top.primitives() if top.variant == "clone" else [rsc]))
    return frozenset(blocked)


def _planned(working: Working, starting: frozenset[str], pending: bool) -> tuple[tuple[str, str], ...]:
    if not is_true(working.options.cluster_options.get("enable-startup-probes") or "true"):
        return ()
    fillers = {filler.id for members in working.fillers.values() for filler in members}
    probes: list[tuple[str, str]] = []
    for node in working.nodes:
        if not node.online or node.unclean or node.pending != pending:
            continue
        # (a remote node's own attribute, read even before its connection comes up; ignored on cluster nodes)
        discovery = node.attrs.get("resource-discovery-enabled") or (node.pending_attrs or {}).get(
            "resource-discovery-enabled")
        if node.kind != "cluster" and not is_true(discovery or "true"):
            continue
        for top in working.resources:
            _probe(working, top, top, node, fillers, probes, starting)
    return tuple(probes)


def _holds_guest(rsc: WRsc) -> bool:
    return bool(rsc.guest_node) or any(_holds_guest(child) for child in rsc.children)


def _known_on(working: Working, rsc: WRsc, node: WNode) -> bool:
    """Whether the history says anything of it there (an anonymous instance: of any instance)."""
    if rsc.children:
        return any(_known_on(working, child, node) for child in rsc.children)
    clone = rsc.clone_parent()
    if clone is not None and not clone.unique and node.name in working.known_on.get(base_id(rsc.id), ()):
        return True
    return node.name in working.instance_known_on.get(rsc.id, ())


def _placed_on(rsc: WRsc, node: WNode) -> bool:
    if rsc.children:
        return bool(rsc.children) and _placed_on(rsc.children[0], node)
    return rsc.assigned is node


def _probe(working: Working, rsc: WRsc, top: WRsc, node: WNode, fillers: set[str],
           probes: list[tuple[str, str]], starting: frozenset[str]) -> None:
    # Pacemaker: a bundle's guest node discovers only its own replica's instance (discovery never for the rest,
    # exclusive for it), and that instance is probed nowhere else
    owner = working.bundle_nodes.get(node.name)
    if (owner is not None and top.id != owner) or (top.bundled_in is not None and owner != top.id):
        return
    if node.kind != "cluster":
        if rsc.agent is not None and rsc.agent.standard == "stonith":
            return                                    # remote nodes cannot run fencing agents
        if node.kind == "guest" and _holds_guest(rsc):
            return
        if rsc.is_remote_connection:
            return
    if rsc.variant == "clone":
        mode = working.discovery.get(rsc.id, {}).get(node.name)
        if rsc.id in working.exclusive_discover and mode is not None and mode != "exclusive":
            return
        if rsc.unique or rsc.bundle:          # (a bundle's containers and IPs are resources of their own)
            for child in rsc.children:
                _probe(working, child, top, node, fillers, probes, starting)
            return
        chosen = next((child for child in rsc.children if _known_on(working, child, node)), None) or \
            next((child for child in rsc.children if _placed_on(child, node)), None) or \
            (rsc.children[0] if rsc.children else None)
        if chosen is not None:
            _probe(working, chosen, top, node, fillers, probes, starting)
        return
    if rsc.children:
        for child in rsc.children:
            _probe(working, child, top, node, fillers, probes, starting)
        return
    if (rsc.id in fillers and not rsc.is_remote_connection) or rsc.orphan or _known_on(working, rsc, node):
        return
    if rsc.is_remote_connection and _container_stays_down(working, rsc, starting):
        return                     # Pacemaker orders a bundle connection's probe after its container's start
    mode = working.discovery.get(rsc.id, {}).get(node.name)
    exclusive = rsc.id in working.exclusive_discover or top.id in working.exclusive_discover
    if mode == "never" or (exclusive and (node.name not in rsc.allowed or mode != "exclusive")):
        return
    if node.kind == "guest" and node.remote_rsc is not None:
        container = node.remote_rsc
        if container.role == "Stopped" or _guest_will_stop(node, container):
            return
    probes.append((rsc.id, node.name))


def _container_stays_down(working: Working, connection: WRsc, starting: frozenset[str]) -> bool:
    """Pacemaker orders the probe after the container's start (pe_order_probe): an unrunnable start makes the
    probe unrunnable too, unless the container is active somewhere (stopping), when the order is ignored."""
    container = working.container_of(connection)
    return container is not None and container.top().bundle and container.id not in starting \
        and not container.running_on


def _guest_will_stop(node: WNode, container: WRsc) -> bool:
    """Pacemaker's guest_resource_will_stop: an approximation made before the stops are known."""
    moving = container.role != "Stopped" and container.assigned is not None and \
        container.assigned not in container.running_on
    # (placed nowhere: Pacemaker's assignment has made its next role Stopped)
    return node.requires_reset or node.unclean or container.failed or container.next_role == "Stopped" or moving \
        or container.assigned is None
