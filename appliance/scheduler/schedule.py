"""The scheduler's entry point: schedule(cib, now) -> Transition (actions and the placement they lead to).

Rules: pure (no I/O, no clock: `now` is an argument); each call builds its
own working state; the steps are Pacemaker's: constraints on templates and
tags made constraints on resources (model.references), unpack, node scores
(locations, stickiness, failure bans), relations, assignment in processing
order, promotion, then the transition and its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from appliance.model.cluster import Cib
from appliance.model.collector import collector_paused
from appliance.model.constraints import Location, Order
from appliance.model.references import expand_constraints
from appliance.model.values import INFINITY
from appliance.scheduler import assign, graph, monitors, probes, relations, scores, shutdown_locks, tickets, transition
from appliance.scheduler.transition import Action
from appliance.scheduler.unpack import Working, multiple_active, next_expiry, unpack
from appliance.scheduler.working import WRsc


@dataclass(frozen=True)
class Change:
    """One primitive (or clone instance) before and after the transition, for the human summary."""

    resource: str
    agent: str
    before: tuple[tuple[str, str], ...]
    after: tuple[tuple[str, str], ...]
    failed: bool = False
    migrates: bool = False


@dataclass(frozen=True)
class Transition:
    actions: tuple[Action, ...]
    resources: dict[str, list[tuple[str, str]]]      # resource id -> sorted [(node, role)]
    nodes: dict[str, str]                            # node name -> online/offline/standby/maintenance/unclean/...
    changes: tuple[Change, ...] = ()
    nodes_before: dict[str, str] | None = None
    orderings: tuple[tuple[int, int], ...] = ()     # (before, after) indexes into actions
    recheck_at: int | None = None                    # epoch seconds when a failure expires (cluster-recheck)
    probes: tuple[tuple[str, str], ...] = ()         # (primitive or instance id, node): start-up probes
    monitors: tuple[monitors.Monitor, ...] = ()      # recurring monitors it starts
    scores: tuple[str, ...] = ()                     # allocation score lines (schedule(show_scores=True))
    history_names: dict[tuple[str, str], str] | None = None   # (anonymous instance, node) -> its history's name
    resource_order: tuple[str, ...] = ()             # primitives and instances in the order Pacemaker lists them

    def as_json(self) -> dict:
        return {"resources": {rid: [list(entry) for entry in places] for rid, places in self.resources.items()},
                "nodes": dict(self.nodes),
                "actions": [{"task": a.task, "resource": a.resource, "node": a.node} for a in self.actions]}


def _next_roles(working: Working) -> None:
    options = working.options
    no_quorum_stop = not options.have_quorum and options.no_quorum_policy in ("stop", "demote")
    for primitive in working.all_primitives:
        clone = primitive.clone_parent()
        promotable = clone is not None and clone.promotable
        # no-quorum-policy=demote: promotable instances are demoted (they may run Unpromoted), the rest stop
        stop_for_quorum = no_quorum_stop and primitive.requires != "nothing" and not (
            promotable and options.no_quorum_policy == "demote")
        if primitive.target_role == "Stopped" or primitive.on_fail_stop or stop_for_quorum:
            primitive.next_role = "Stopped"
        if primitive.orphan:
            primitive.next_role = "Stopped"
            primitive.provisional = False
        if not options.have_quorum and options.no_quorum_policy == "freeze" and not primitive.running_on:
            primitive.next_role = "Stopped"


def _node_state(working: Working, outcome: transition.Outcome, resources: dict[str, list]) -> dict[str, str]:
    states = {}
    for node in working.nodes:
        if node.kind == "cluster":
            if node.name in outcome.fenced:
                state = "offline"
            elif node.unclean:
                state = "unclean"
            elif not node.online:
                state = "offline"
            else:
                state = _attr_state(node)
        else:
            connection = resources.get(node.name, [])
            if connection:
                state = _attr_state(node)
            elif node.unclean and node.kind == "remote" and (
                    node.name not in outcome.fenced or (node.remote_rsc is not None and node.remote_rsc.failed)):
                state = "unclean"            # (fenced, its connection's failure stays: unclean when read again)
            else:
                state = "offline"
        states[node.name] = state
    return states


def _attr_state(node) -> str:
    if node.pending:
        return "pending"
    if node.maintenance or node.declared_maintenance:
        return "maintenance"
    if node.standby or node.declared_standby:
        return "standby"
    return "online"


def _base(resource_id: str) -> str:
    head, sep, tail = resource_id.rpartition(":")
    return head if sep and tail.isdigit() else resource_id


def _current_role(primitive) -> str:
    """A started instance of a promotable clone is Unpromoted (Pacemaker's set_current_role_unpromoted)."""
    clone = primitive.clone_parent()
    if primitive.role == "Started" and clone is not None and clone.promotable:
        return "Unpromoted"
    return primitive.role


def execution_date(cib: Cib) -> datetime | None:
    """The CIB's execution-date (naive UTC): when a saved scheduler input was scheduled, replayed as then."""
    stamp = cib.extra.get("execution-date")
    if stamp is None or not stamp.isdigit():
        return None
    return datetime.fromtimestamp(int(stamp), UTC).replace(tzinfo=None)


def _with_templates_and_tags_expanded(cib: Cib) -> Cib:
    configuration = cib.configuration
    constraints = expand_constraints(configuration.constraints, configuration.named_sets())
    if constraints is configuration.constraints:
        return cib
    return cib.with_configuration(replace(configuration, constraints=constraints))


def _bundle_roles_on_their_clones(cib: Cib) -> Cib:
    """A bundle's promote and demote, and its locations for the Promoted role, are its wrapped primitive's
    clone's (Pacemaker orders and places those)."""
    children = {b.id: b.child_clone_id for b in cib.configuration.bundles if b.manages_child and b.promoted_max}
    if not children:
        return cib

    def mapped(rid: str | None, action: str | None) -> str | None:
        return children.get(rid or "", rid) if action in ("promote", "demote") else rid

    def rewritten(constraint):
        if isinstance(constraint, Order):
            return replace(constraint, first=mapped(constraint.first, constraint.first_action),
                           then=mapped(constraint.then, constraint.then_action))
        if isinstance(constraint, Location) and constraint.role == "Promoted" and constraint.rsc in children:
            return replace(constraint, rsc=children[constraint.rsc])   # where to promote: inside the bundle
        return constraint

    constraints = tuple(rewritten(c) for c in cib.configuration.constraints)
    return cib.with_configuration(replace(cib.configuration, constraints=constraints))


def _prepared(cib: Cib, now: datetime | None) -> tuple[Cib, datetime]:
    """The CIB as the scheduler reads it (templates and tags expanded, bundle roles on their clones) and the
    time it takes as now."""
    return _bundle_roles_on_their_clones(_with_templates_and_tags_expanded(cib)), \
        now or execution_date(cib) or datetime(2000, 1, 1)


def schedule(cib: Cib, now: datetime | None = None, show_scores: bool = False) -> Transition:
    with collector_paused():
        return _schedule(cib, now, show_scores)


def _schedule(cib: Cib, now: datetime | None, show_scores: bool) -> Transition:
    cib, now = _prepared(cib, now)
    working = unpack(cib, now)
    shutdown_locks.apply(working)
    working.score_lines = [] if show_scores else None
    tickets.apply(working, cib)
    scores.initial_scores(working)
    working.promoted_locations = scores.apply_locations(working, cib, now)
    scores.apply_node_health(working, working.options.cluster_options)
    tickets.require_promotion(working, cib)
    scores.apply_stickiness(working)
    scores.apply_failure_bans(working)
    orders = relations.build(working, cib)
    _next_roles(working)
    assign.assign_all(working, working.options.placement_strategy)
    device_changes = _device_changes(working)
    _restarts_for_unfencing(working, device_changes)
    outcome = transition.plan(working, orders)
    resources = _by_resource(working, outcome.placement)
    _revive_stale_history(working, outcome, resources)
    # what a guest left behind is only shown while the guest is up
    down = {n.name for n in working.nodes if n.kind == "guest" and not resources.get(n.name)}
    resources = {rid: sorted(p for p in places if p[0] not in down) for rid, places in resources.items()}
    migrating = {a.resource for a in outcome.actions if a.task == "migrate_from"}
    changes = tuple(Change(p.id, str(p.agent) if p.agent else "",
                           tuple((n.name, _current_role(p)) for n in p.running_on),
                           tuple(outcome.placement.get(p.id, [])), p.failed, p.id in migrating)
                    for p in working.all_primitives)
    before = _states_now(working)
    planned_probes = probes.plan(working, frozenset(a.resource for a in outcome.actions if a.task == "start"))
    actions = (*_unfencing(working, outcome.actions, planned_probes, device_changes), *outcome.actions)
    planned_monitors = monitors.plan(working, cib, actions, outcome.placement)
    actions, planned_monitors = _left_where_expected(working, actions, planned_monitors)
    edges = graph.orderings(actions, orders, working.nodes, {p.id: _collections(p) for p in working.all_primitives},
                            _anti_colocations(working))
    recheck = _earliest(next_expiry(working), shutdown_locks.expiry(working))
    return Transition(actions, resources, _node_state(working, outcome, resources), changes, before, edges,
                      recheck, planned_probes, planned_monitors, tuple(working.score_lines or ()),
                      {(p.id, node): name for p in working.all_primitives for node, name in p.history_names.items()},
                      tuple(p.id for p in working.all_primitives))


def _earliest(*times: int | None) -> int | None:
    return min((t for t in times if t is not None), default=None)


def _unfencing(working: Working, actions: list[Action], planned_probes: tuple[tuple[str, str], ...],
               device_changes: dict[str, str]) -> list[Action]:
    """Pacemaker's unfencing ("stonith on"): a host never unfenced (no #node-unfenced) is unfenced before a
    resource that requires unfencing (the default once a device provides it) starts or is probed there, and
    before a fence device does, when unfencing is in use (and fencing enabled); only a host that is up, clean
    and not leaving."""
    if not working.options.unfencing or not working.options.stonith_enabled:
        return []
    needing = {p.id for p in working.all_primitives if _needs_unfencing(p)}
    # (probes are planned first: the first that requires a host's unfencing names it, as in Pacemaker)
    wanted = [(node, f"required by {rid} monitor") for rid, node in planned_probes if rid in needing]
    wanted += [(a.node, f"required by {a.resource} start") for a in actions
               if a.task in ("start", "migrate_from") and a.resource in needing]
    # a fence device's changed definition first (Pacemaker sees it before probing): unfenced again, whether it
    # was or not
    reasons = dict(device_changes)
    for name, reason in wanted:
        if _unfenceable(working, name) and not working.node(name).unfenced():
            reasons.setdefault(name, reason)
    return [Action("fence", "", name, fence_type="on", reason=reason) for name, reason in reasons.items()]


def _left_where_expected(working: Working, actions: tuple[Action, ...], planned: tuple[monitors.Monitor, ...]
                         ) -> tuple[tuple[Action, ...], tuple[monitors.Monitor, ...]]:
    """multiple-active=stop_unexpected: a multiply active resource that stays on one of its nodes is stopped on
    the others only; its restart where it stays is Pacemaker's pseudo start (no agent runs; its monitors are
    issued again once the other copies are stopped; what depends on it restarts)."""
    kept = {(rsc.id, rsc.assigned.name) for rsc in working.all_primitives
            if len(rsc.running_on) > 1 and multiple_active(rsc) == "stop_unexpected" and rsc.assigned is not None
            and rsc.assigned in rsc.running_on and rsc.next_role != "Stopped"}
    if not kept:
        return actions, planned
    left = [index for index, a in enumerate(actions)
            if not (a.task in ("stop", "start") and (a.resource, a.node) in kept)]
    moved = {old: new for new, old in enumerate(left)}
    last_stop = {a.resource: moved[index] for index, a in enumerate(actions) if index in moved and a.task == "stop"}

    def after(monitor: monitors.Monitor) -> int | None:
        return None if monitor.after is None else moved.get(monitor.after, last_stop.get(monitor.resource))
    return tuple(actions[index] for index in left), tuple(replace(m, after=after(m)) for m in planned)


def _needs_unfencing(rsc: WRsc) -> bool:
    return rsc.requires == "unfencing" or (rsc.agent is not None and rsc.agent.standard == "stonith")


def _unfenceable(working: Working, name: str) -> bool:
    node = working.node(name)
    return node is not None and node.kind == "cluster" and node.online and not node.unclean and not node.shutdown


def _device_changes(working: Working) -> dict[str, str]:
    """Hosts where a fence device restarts for a changed definition, and why (Pacemaker's trigger_unfencing)."""
    if not working.options.unfencing or not working.options.stonith_enabled:
        return {}
    found: dict[str, str] = {}
    for rsc in working.all_primitives:
        for name, reason in rsc.unfence_reasons.items():
            if _unfenceable(working, name):
                found.setdefault(name, reason)
    return found


def _restarts_for_unfencing(working: Working, hosts: dict[str, str]) -> None:
    """A host unfenced again for a fence device's changed definition: what requires unfencing and stays there
    starts again after it (Pacemaker orders unfencing before such starts with implies-then: "Restart ... due to
    required stonith")."""
    for rsc in working.all_primitives:
        if hosts and _needs_unfencing(rsc) and rsc.assigned is not None and rsc.assigned.name in hosts \
                and rsc.assigned in rsc.running_on:
            rsc.changed_on.add(rsc.assigned.name)


def _anti_colocations(working: Working) -> list[graph.AntiColocation]:
    found = []
    for rsc in working.by_id.values():
        for colocation in rsc.this_with:
            if colocation.score > -INFINITY:
                continue
            dependent, primary = colocation.dependent, colocation.primary
            found.append(graph.AntiColocation(
                tuple(p.id for p in dependent.primitives()), colocation.dependent_role,
                tuple(p.id for p in primary.primitives()), colocation.primary_role,
                dependent.variant == "primitive" and primary.variant == "primitive"))
    return found


def _collections(primitive: WRsc) -> list[tuple[str, bool]]:
    """The groups and clones a primitive is in, each with whether it is a promotable clone."""
    found, parent = [], primitive.parent
    while parent is not None:
        in_bundle = parent.bundle or (parent.parent is not None and parent.parent.bundle)     # (a replica)
        if parent.variant in ("group", "clone") and not in_bundle:
            found.append((parent.id, parent.variant == "clone" and parent.promotable))
        parent = parent.parent
    return found


def _by_resource(working: Working, placement: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """SCHEMA.md's resources: each primitive's places under its id (an instance's under its primitive's)."""
    resources: dict[str, list[tuple[str, str]]] = {}
    for primitive in working.all_primitives:
        places = placement.get(primitive.id, [])
        if primitive.orphan and not places:
            continue
        clone = primitive.clone_parent()
        if clone is not None and clone.promotable:     # a started instance of a promotable clone is Unpromoted
            places = [(node, "Unpromoted" if role == "Started" else role) for node, role in places]
        listed = resources.setdefault(_base(primitive.id), [])
        if clone is not None and not clone.unique:
            # anonymous instances share one history entry per node: two on one node are recorded as one
            places = [place for place in places if place not in listed]
        listed.extend(places)
    return resources


def current_state(cib: Cib, now: datetime | None = None) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Where everything is now and each node's state, in a Transition's resources and nodes form (what
    crm_simulate's revised status shows of a CIB it executed a transition on)."""
    working = unpack(*_prepared(cib, now))
    placement = {p.id: [(n.name, _current_role(p)) for n in p.running_on] for p in working.all_primitives}
    resources = {rid: sorted(places) for rid, places in _by_resource(working, placement).items()}
    return resources, _states_now(working)


def _states_now(working: Working) -> dict[str, str]:
    return {n.name: ("unclean" if n.unclean else _attr_state(n) if n.online else "offline") for n in working.nodes}


def _revive_stale_history(working: Working, outcome: transition.Outcome, resources: dict[str, list]) -> None:
    """A remote or guest node that comes back still carries its old history; crm_mon shows what it says."""
    touched = {(_base(a.resource), a.node) for a in outcome.actions if a.resource}
    touched_instances = {(a.resource, a.node) for a in outcome.actions if a.resource}
    promotable = {_base(p.id) for p in working.all_primitives
                  if p.clone_parent() is not None and p.clone_parent().promotable}
    for node, raw_id, role in working.stale:
        rid = _base(raw_id)
        instance = working.by_id.get(raw_id)
        clone = instance.clone_parent() if instance is not None else None
        unique = clone is not None and clone.unique   # a unique instance is its own resource in the history
        if unique:
            if (raw_id, node) in touched_instances or \
                    any(place[0] == node for place in outcome.placement.get(raw_id, [])):
                continue
        elif (rid, node) in touched:
            continue
        if node in outcome.fenced or not resources.get(node):
            continue
        resources.setdefault(rid, [])     # an orphan known only from that history is listed while active
        if role == "Started" and rid in promotable:
            role = "Unpromoted"
        if unique or (node, role) not in resources[rid]:
            resources[rid].append((node, role))
