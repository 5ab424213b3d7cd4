"""From assignments to the transition: which actions are needed, which can run, and where everything ends up.

Rules: a primitive needs a stop where it runs but should not (moved, failed
with restart recovery, multiply active, orphan) and a start where it is
assigned but not running; mandatory orderings, mandatory colocations, group
and guest-connection dependencies make a start unrunnable when what it needs
cannot happen; stops need their node reachable (an unclean node is reachable
only by fencing, which needs stonith enabled, a device and quorum). The
result is the state crm_simulate would write after running every runnable
action successfully.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from appliance.scheduler import migration, probes, scores
from appliance.scheduler.relations import Order
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import WNode, WRsc


@dataclass(frozen=True)
class Action:
    task: str            # start stop promote demote migrate_to migrate_from reload-agent fence
    resource: str        # resource id ('' for fencing)
    node: str
    peer: str = ""       # migrate_to: the target; migrate_from: the source
    fence_type: str = ""  # fence: "reboot", or "off" for a guest whose VM will not start again (pcmk__fence_guest),
    #                       or "on": unfencing
    reason: str = ""      # fence: why ("peer is no longer part of the cluster", "required by RSC start", ...)
    container: str = ""   # fence of a guest node: the VM or container whose recovery fences it
    shutdown_lock: int = 0  # stop: the resource waits for this node, which shuts down (since then, epoch seconds)


@dataclass
class Outcome:
    actions: list[Action] = field(default_factory=list)
    placement: dict[str, list[tuple[str, str]]] = field(default_factory=dict)   # primitive id -> [(node, role)]
    nodes: dict[str, str] = field(default_factory=dict)
    fenced: set[str] = field(default_factory=set)


def _fenceable(working: Working, node: WNode) -> bool:
    """Pacemaker's pe_can_fence: with quorum (or no-quorum-policy=ignore), or a node still in the membership."""
    options = working.options
    return options.stonith_enabled and options.have_stonith_resource and (options.quorate or node.online)


def _may_start(working: Working, rsc: WRsc | None = None) -> bool:
    """Without quorum nothing starts, but under no-quorum-policy=ignore, and under freeze what is already
    active in the partition may start again (move, restart)."""
    options = working.options
    if options.quorate or (rsc is not None and rsc.requires == "nothing"):
        return True
    if options.no_quorum_policy == "demote" and rsc is not None:
        clone = rsc.clone_parent()
        return clone is not None and clone.promotable           # it may run, demoted
    return options.no_quorum_policy == "freeze" and rsc is not None and bool(rsc.running_on)


class _Planner:
    def __init__(self, working: Working, orders: list[Order]):
        self.working = working
        self.orders = [o for o in orders if o.mandatory]
        self.start_orders: dict[str, list[Order]] = {}       # primitive id -> the orders whose 'then' starts it
        for order in self.orders:
            if order.then_action == "start":
                for member in order.then.primitives():
                    self.start_orders.setdefault(member.id, []).append(order)
        self.fenced = {n.name for n in working.nodes if n.unclean and n.kind != "guest" and _fenceable(working, n)}
        self.fenced |= self._unrecoverable_remotes()
        self.migrations = {rsc.id: move for rsc in working.all_primitives
                           if (move := migration.plan(rsc, self.fenced)) is not None}
        self.fenced |= {n.name for n in working.nodes if n.kind == "guest" and (n.unclean or n.requires_reset)}
        self.start_ok: dict[str, bool] = {}
        # whether any active resource can never stop (blocked or unmanaged): only then can it hold up others
        self._any_stuck = any(p.running_on and (p.blocked or not p.managed) for p in working.all_primitives)
        self.promote_ok: dict[str, bool] = {}
        self.forced: set[str] = set()          # restarts forced by a required start that cannot run
        self.recover = self._guest_recoveries()     # restarted in place: a reset guest's VM and connection
        self.recover |= self._moving_guests_restarts()

    def _unrecoverable_remotes(self) -> set[str]:
        """Remote nodes Pacemaker fences (remote_state_failed): the connection ran on a host being fenced and
        will run nowhere now, so what is active there can be neither stopped nor trusted."""
        found = set()
        for node in self.working.nodes:
            connection = node.remote_rsc
            if node.kind != "remote" or connection is None or not _fenceable(self.working, node):
                continue
            hosts = connection.running_on
            lost_host = any(h.kind == "cluster" and h.unclean and h.name in self.fenced for h in hosts)
            if lost_host and (connection.assigned is None or connection.next_role == "Stopped") and any(
                    node in p.running_on for p in self.working.all_primitives):
                found.add(node.name)
        return found

    def _guest_recoveries(self) -> set[str]:
        """Resetting a guest node means recovering its VM (Pacemaker marks the container failed), and a
        restarted VM needs its connection restarted."""
        recover = set()
        for node in self.working.nodes:
            if node.kind != "guest" or node.name not in self.fenced or node.remote_rsc is None:
                continue
            connection = node.remote_rsc
            container = self.working.container_of(connection)
            for rsc in (container, connection):
                if rsc is not None and rsc.running_on and rsc.assigned is not None and rsc.managed \
                        and not rsc.blocked and rsc.next_role != "Stopped":
                    recover.add(rsc.id)
        for rsc in self.working.all_primitives:      # started with parameters the configuration no longer has
            if rsc.assigned is not None and rsc.assigned.name in rsc.changed_on and rsc.managed and not rsc.blocked \
                    and rsc.next_role != "Stopped":
                recover.add(rsc.id)
        return recover

    def _moving_guests_restarts(self) -> set[str]:
        """What runs in a guest whose VM moves (not migrating) stops before the VM and starts again after it, in
        the guest on its new host: Pacemaker's "Restart ... due to required VM start"."""
        moving = {n.name for n in self.working.nodes if n.kind == "guest" and n.name not in self.fenced
                  and self._container_restarts(n)}
        return {rsc.id for rsc in self.working.all_primitives
                if rsc.assigned is not None and rsc.assigned.name in moving and rsc.assigned in rsc.running_on
                and rsc.managed and not rsc.blocked and rsc.next_role != "Stopped"}

    def _container_restarts(self, node: WNode) -> bool:
        """A guest whose VM moves to another node in this transition: what ran in it stops with it (its history
        is not rewritten, as when a guest is recovered)."""
        connection = node.remote_rsc
        container = self.working.container_of(connection)
        if container is None or not container.running_on or container.id in self.migrations:
            return False                       # a migrating VM keeps its guest running
        current = container.running_on[0]
        return container.assigned is not None and container.assigned is not current and \
            container.next_role != "Stopped"

    def reachable(self, node: WNode) -> bool:
        return node.name in self.fenced or (node.online and not node.unclean)

    def kept_nodes(self, rsc: WRsc) -> list[WNode]:
        """Where rsc stays active whatever happens (its stop there cannot run)."""
        if not rsc.managed or rsc.blocked or self._stop_blocked(rsc):
            return [n for n in rsc.running_on if n.name not in self.fenced]
        return [n for n in rsc.running_on if not self.reachable(n)]

    def _stop_blocked(self, rsc: WRsc, seen: frozenset[str] = frozenset()) -> bool:
        """A stop that must come after one that can never run (a blocked or unmanaged resource, or one itself
        held so) cannot run either: 'first' after 'then' in a mandatory symmetrical start order (a group member
        before a blocked one), 'then' after 'first' in a stop order."""
        if rsc.id in seen or not rsc.running_on or not self._any_stuck:
            return False
        for order in self.orders:
            if order.first_action == "start" and order.then_action == "start" and order.symmetrical and \
                    rsc in order.first.primitives():
                before = order.then.primitives()          # then stops before first
            elif order.first_action == "stop" and order.then_action == "stop" and rsc in order.then.primitives():
                before = order.first.primitives()
            else:
                continue
            for other in before:
                if other.running_on and any(n.name not in self.fenced for n in other.running_on) and (
                        not other.managed or other.blocked or self._stop_blocked(other, seen | {rsc.id})):
                    return True
        return False

    def needs_stop(self, rsc: WRsc, node: WNode) -> bool:
        if node.name in self.fenced or not rsc.managed or rsc.blocked:
            return False
        move = self.migrations.get(rsc.id)
        if move is not None and move.partial and node is move.target:
            return False                       # the interrupted migration continues there
        if rsc.orphan or rsc.assigned is None or rsc.next_role == "Stopped" or rsc.id in self.forced:
            return True
        if rsc.id in self.recover:
            return True
        if node is not rsc.assigned:
            return True
        if rsc.failed and rsc.stop_required:
            return True
        return len(rsc.running_on) > 1

    def needs_start(self, rsc: WRsc) -> bool:
        if rsc.assigned is None or rsc.next_role == "Stopped" or not rsc.managed or rsc.blocked:
            return False
        if rsc.id in self.forced or rsc.id in self.recover:
            return True
        if rsc.assigned.name in self.fenced:
            return True
        staying = rsc.assigned in rsc.running_on and not self.needs_stop(rsc, rsc.assigned)
        return not staying

    def start_blocked(self, rsc: WRsc) -> bool:
        """A start is required (recovery, move, restart) but will not happen."""
        if rsc.failed and rsc.stop_required and rsc.running_on and (not rsc.managed or rsc.blocked):
            return True
        return self.needs_start(rsc) and not self.start_ok.get(rsc.id, False)

    def every_start_blocked(self, rsc: WRsc) -> bool:
        """Pacemaker's pcmk__block_colocation_dependents: a start `rsc` needs (a recovery of a failed, blocked
        resource) that cannot run blocks what must be colocated with it, unless some instance can start."""
        members = rsc.top().primitives()
        return bool(members) and all(self.start_blocked(m) for m in members)

    def active_after(self, rsc: WRsc) -> bool:
        if rsc.variant != "primitive":
            members = rsc.primitives()
            if rsc.variant == "clone":
                return any(self.active_after(m) for m in members)
            return bool(members) and all(self.active_after(m) for m in members)
        if self.kept_nodes(rsc) and (rsc.assigned is None or not self.needs_start(rsc)):
            return True
        if rsc.assigned is None or rsc.next_role == "Stopped":
            return False
        if not self.needs_start(rsc):
            return rsc.assigned in rsc.running_on
        return self.start_ok.get(rsc.id, False)

    def first_ok(self, rsc: WRsc, action: str, minimum: int = 1) -> bool:
        if action in ("stop", "demote"):
            return True
        if action == "promote":
            return any(self.active_after(m) and m.next_role == "Promoted" and self.promote_ok.get(m.id, True)
                       for m in rsc.primitives())
        if rsc.variant == "clone" and minimum > 1:
            return sum(1 for instance in rsc.children if self.active_after(instance)) >= minimum
        return self.active_after(rsc)

    def order_first_ok(self, order) -> bool:
        if order.any_of:
            return any(self.first_ok(first, order.first_action) for first in order.any_of)
        return self.first_ok(order.first, order.first_action, order.first_min)

    def order_first_blocked(self, order) -> bool:
        if order.any_of:
            return all(self.first_blocked(first, order.first_action) for first in order.any_of)
        return self.first_blocked(order.first, order.first_action, order.first_min)

    def first_blocked(self, rsc: WRsc, action: str, minimum: int = 1) -> bool:
        if action != "start":
            return False
        if rsc.variant == "clone" and minimum > 1:
            return not self.first_ok(rsc, action, minimum)
        members = rsc.primitives()
        if rsc.variant == "clone":
            return bool(members) and all(self.start_blocked(m) for m in members if self.needs_start(m)) and \
                any(self.start_blocked(m) for m in members) and not any(self.active_after(m) for m in members)
        return any(self.start_blocked(m) for m in members)

    def evaluate(self) -> None:
        primitives = self.working.all_primitives
        probe_blocked = probes.blocked_starts(self.working)
        for rsc in primitives:
            self.start_ok[rsc.id] = self.needs_start(rsc) and _may_start(self.working, rsc) and \
                rsc.assigned is not None and rsc.assigned.available() and rsc.id not in probe_blocked
            self.promote_ok[rsc.id] = True
        changed = True
        while changed:
            changed = self._restarts_implied()
            for rsc in primitives:
                if self.start_ok.get(rsc.id) and not self._prerequisites_met(rsc):
                    self.start_ok[rsc.id] = False
                    changed = True
                if self._guest_going_away(rsc) or self._colocated_start_blocked(rsc):
                    self.forced.add(rsc.id)
                    self.start_ok[rsc.id] = False
                    changed = True
            for order in self.orders:
                # "first then then", mandatory: then may only be active where first will be (Pacemaker stops it)
                blocked = self.order_first_blocked(order)
                if order.then_action == "start" and (blocked or (order.symmetrical and not self.order_first_ok(
                        order))):
                    # a symmetrical order also stops a running 'then' whose 'first' will not be active
                    for member in order.then.primitives():
                        if member.running_on and member.managed and member.id not in self.forced:
                            self.forced.add(member.id)
                            self.start_ok[member.id] = False
                            changed = True
                if order.then_action == "promote" and not self.first_ok(order.first, order.first_action):
                    for member in order.then.primitives():
                        if self.promote_ok.get(member.id, True):
                            self.promote_ok[member.id] = False
                            changed = True

    def _colocated_start_blocked(self, rsc: WRsc) -> bool:
        """A resource staying where it runs whose mandatory primary cannot start anywhere stops (Pacemaker's
        pcmk__block_colocation_dependents makes its start unrunnable: "due to colocation with PRIMARY")."""
        if not rsc.running_on or rsc.id in self.forced or not rsc.managed or rsc.blocked or self.needs_start(rsc):
            return False
        return any(colocation.score >= 1_000_000 and colocation.dependent_role in ("Unknown", None)
                   and self.every_start_blocked(colocation.primary) for colocation in _blocking_colocations(rsc))

    def _guest_going_away(self, rsc: WRsc) -> bool:
        """A resource staying in a guest whose connection will not be up afterwards (its VM or container cannot
        start) stops there first: Pacemaker orders its start after the connection's and the container's with
        runnable_left, so that start is unrunnable ("due to unrunnable CONTAINER start")."""
        node = rsc.assigned
        if node is None or node.kind != "guest" or node.name in self.fenced or node not in rsc.running_on \
                or rsc.id in self.forced or not rsc.managed or rsc.blocked or node.remote_rsc is None:
            return False
        return not self.active_after(node.remote_rsc)

    def _restarts_implied(self) -> bool:
        """Mandatory orders restart a running 'then' (Pacemaker's implies_then / restart flags): when a
        non-clone 'first' starts (a group member after an earlier one), when a symmetrical order's 'first'
        stops (recovery or move: 'then' stops before it), and when 'first' is promoted before 'then' starts.
        Interleaved clones restart only the instances on the nodes concerned."""
        changed = False
        for order in self.orders:
            if order.then_action != "start" or order.any_of:      # one of several: no restart is implied
                continue
            causes = self._restart_causes(order)
            # a member waiting for a reload has its start already (Pacemaker turns the reload into a restart
            # when any start of 'first' is required, a clone's instances' too)
            reloading_members = any(member.reload_on for member in order.then.primitives())
            reload_causes = self._restart_causes(order, clone_starts=True) if reloading_members else set()
            if not causes and not reload_causes:
                continue
            then_clone = order.then if order.then.variant == "clone" else order.then.clone_parent()
            # a clone's start/stop are pseudo-actions: instances coming and going restart nothing
            pseudo_first = order.first.variant == "clone" and then_clone is None
            same_node_only = then_clone is not None and (then_clone.interleave or order.first.variant == "clone")
            for member in order.then.primitives():
                if member.id in self.recover or not member.running_on or not member.managed or member.blocked \
                        or self.needs_start(member) or member.assigned not in member.running_on:
                    continue
                reloading = member.assigned.name in member.reload_on
                member_causes = reload_causes if reloading else set() if pseudo_first else causes
                if not member_causes or (same_node_only and not reloading
                                         and member.assigned.name not in member_causes):
                    continue
                self.recover.add(member.id)
                self.start_ok[member.id] = _may_start(self.working, member) and member.assigned.available()
                changed = True
        return changed

    def _restart_causes(self, order: Order, clone_starts: bool = False) -> set[str]:
        """Nodes where 'first' does something that restarts 'then' (empty: nothing does); `clone_starts`: a
        clone's instances starting count too."""
        causes: set[str] = set()
        for first in order.first.primitives():
            if order.first_action == "start":
                if (clone_starts or order.first.variant != "clone") and self.needs_start(first) \
                        and self.start_ok.get(first.id):
                    causes.add(first.assigned.name)
                if order.symmetrical:
                    causes.update(node.name for node in first.running_on
                                  if node.name not in self.fenced and self.needs_stop(first, node))
            elif order.first_action == "promote":
                promoted = first.next_role == "Promoted" and first.role != "Promoted" and \
                    self.promote_ok.get(first.id, True) and first.assigned is not None and \
                    (self.start_ok.get(first.id) or not self.needs_start(first))
                if promoted:
                    causes.add(first.assigned.name)
        return causes

    @staticmethod
    def _interleaved(order) -> bool:
        """Between two clones, an interleaved 'then' orders each instance after the first's on its node."""
        return order.first.variant == "clone" and order.then.variant == "clone" and order.then.interleave \
            and not order.any_of and order.first_min <= 1

    def _first_active_on(self, first: WRsc, node: WNode) -> bool:
        return any(instance.primitives() and all(p.assigned is node or node in p.running_on for p in
                                                 instance.primitives()) and self.active_after(instance)
                   for instance in first.children)

    def _prerequisites_met(self, rsc: WRsc) -> bool:
        for order in self.start_orders.get(rsc.id, ()):
            if self._interleaved(order) and rsc.assigned is not None and order.first_action == "start":
                if not self._first_active_on(order.first, rsc.assigned):
                    return False
            elif not self.order_first_ok(order):
                return False
            elif self.order_first_blocked(order):
                return False        # Pacemaker: "due to unrunnable FIRST start (blocked)"
        for colocation in _blocking_colocations(rsc):
            if colocation.score >= 1_000_000 and colocation.dependent_role in ("Unknown", None) \
                    and (not self.active_after(colocation.primary) or self.every_start_blocked(colocation.primary)):
                return False
        for moving_from in rsc.running_on:
            # a start after a stop that cannot run (moving, or restarting in place) cannot run either
            if moving_from in self.kept_nodes(rsc) and rsc.clone_parent() is None and (
                    moving_from is not rsc.assigned or self.needs_stop(rsc, moving_from)):
                return False
        node = rsc.assigned
        if node is not None and node.kind != "cluster":
            connection = node.remote_rsc
            if connection is not None and not self.active_after(connection):
                return False
        return True


def _blocking_colocations(rsc: WRsc) -> list:
    """The colocations whose primary, unable to start, blocks rsc's start: its own (a group's first member has
    its group's), and its group's for every other member (Pacemaker blocks the group's start, so all of them)."""
    found = scores.this_with_list(rsc)
    group = rsc.parent
    if group is not None and group.variant == "group" and group.children and group.children[0] is not rsc:
        found = found + list(group.this_with)
    return found


def plan(working: Working, orders: list[Order]) -> Outcome:
    planner = _Planner(working, orders)
    planner.evaluate()
    outcome = Outcome(fenced=set(planner.fenced))
    for node in sorted(planner.fenced):
        outcome.actions.append(_fence_action(working, node))
    for rsc in working.all_primitives:
        places: list[tuple[str, str]] = []
        move = planner.migrations.get(rsc.id)
        migrates = move is not None and (move.partial or (planner.needs_start(rsc) and planner.start_ok.get(rsc.id)))
        if migrates:
            if not move.partial:
                outcome.actions.append(Action("migrate_to", rsc.id, move.source.name, move.target.name))
            outcome.actions.append(Action("migrate_from", rsc.id, move.target.name, move.source.name))
        for node in rsc.dangling:
            if planner.reachable(node) and node.name not in planner.fenced and rsc.managed and not rsc.blocked:
                outcome.actions.append(Action("stop", rsc.id, node.name))
        for node in rsc.running_on:
            if node.name in planner.fenced and node.kind != "guest":
                continue
            if node in planner.kept_nodes(rsc):
                places.append((node.name, rsc.role))
                continue
            if planner.needs_stop(rsc, node):
                if rsc.role == "Promoted":         # Pacemaker demotes before it stops
                    outcome.actions.append(Action("demote", rsc.id, node.name))
                outcome.actions.append(Action("stop", rsc.id, node.name, shutdown_lock=rsc.lock_time
                                              if rsc.lock_node is node else 0))
                continue
            if node.name in planner.fenced:
                # a guest whose container is recovered keeps its history, unless the resource starts there again
                restarted_here = rsc.assigned is node and planner.needs_start(rsc) and planner.start_ok.get(rsc.id)
                if not restarted_here:
                    places.append((node.name, rsc.role))
                continue
            staying = _staying_role(rsc, planner)
            if rsc.managed and not rsc.blocked:
                if node.name in rsc.reload_on:           # its new parameters applied in place
                    outcome.actions.append(Action("reload-agent", rsc.id, node.name))
                if staying == "Promoted" and rsc.role != "Promoted":
                    outcome.actions.append(Action("promote", rsc.id, node.name))
                elif staying == "Unpromoted" and rsc.role == "Promoted":
                    outcome.actions.append(Action("demote", rsc.id, node.name))
            places.append((node.name, staying))
        if planner.needs_start(rsc) and planner.start_ok.get(rsc.id):
            if not migrates:                   # a migration's start is implied by its migrate_from
                outcome.actions.append(Action("start", rsc.id, rsc.assigned.name))
            role = "Started"
            if rsc.next_role in ("Promoted", "Unpromoted"):
                role = "Unpromoted"
                if rsc.next_role == "Promoted" and planner.promote_ok.get(rsc.id, True):
                    outcome.actions.append(Action("promote", rsc.id, rsc.assigned.name))
                    role = "Promoted"
            places.append((rsc.assigned.name, role))
        outcome.placement[rsc.id] = places
    starts = {(a.resource, a.task) for a in outcome.actions}
    outcome.actions = [dataclasses.replace(a, fence_type=_fence_type(working, a.node, starts)) if a.task == "fence"
                       else a for a in outcome.actions]
    return outcome


def _fence_action(working: Working, name: str) -> Action:
    """With Pacemaker's reason (the first found; a host's unknown state: "node is unclean")."""
    node = working.node(name)
    if node is not None and node.kind == "guest":
        container = working.container_of(node.remote_rsc) if node.remote_rsc is not None else None
        return Action("fence", "", name, reason="guest is unclean", container=container.id if container else "")
    if node is not None and node.kind == "remote" and not node.fence_reason:
        return Action("fence", "", name, reason="resources are active but connection is unrecoverable")
    return Action("fence", "", name, reason=(node.fence_reason if node is not None else "") or "node is unclean")


def _fence_type(working: Working, node_name: str, starts: set[tuple[str, str]]) -> str:
    """A guest is "fenced" by recovering its VM: a reboot when the VM starts again in this transition, off
    when it does not (Pacemaker labels the pseudo-fencing so); a host is rebooted."""
    node = working.node(node_name)
    if node is None or node.kind != "guest" or node.remote_rsc is None:
        return "reboot"
    container = node.remote_rsc.meta.get("container", "")
    started = (container, "start") in starts or (container, "migrate_from") in starts
    return "reboot" if started else "off"


def _staying_role(rsc: WRsc, planner: _Planner) -> str:
    if not rsc.managed or rsc.blocked:
        return rsc.role
    clone = rsc.clone_parent()
    if clone is None or not clone.promotable:
        return "Started" if rsc.role in ("Started", "Unpromoted", "Promoted") else rsc.role
    if rsc.next_role == "Promoted" and planner.promote_ok.get(rsc.id, True):
        return "Promoted"
    return "Unpromoted"
