"""The transition graph: which action must finish before which, so the executor can run the rest in parallel.

Rules (Pacemaker's implied and configured orderings, restricted to actions in
this transition): on one resource demote < stop < start < promote; an order
constraint "first-action A then then-action B" puts A's actions before B's,
and when symmetrical also B's inverse actions before A's inverse actions;
actions on a guest or remote node come after its connection's start and
before its connection's stop; fencing comes before every start and promote,
unfencing a host ("on") before what starts there.
A migration is migrate_to < migrate_from < the source's stop, its start implied
by migrate_from: orderings on that start apply to the migration's actions.
Edges are (before, after) indexes into the action tuple; edges that would
close a cycle are dropped (the action list order breaks the tie) so the graph
is always executable. A group's members and a clone's instances go phase by
phase (all stops, then all starts; in a promotable clone all demotions first and
all promotions last), as Pacemaker's group and clone pseudo-actions order them.
Two resources that must never share a node (-INFINITY colocation) are ordered
as Pacemaker's anti_colocation_order does: one leaves before the other arrives.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from appliance.scheduler.relations import Order
from appliance.scheduler.transition import Action
from appliance.scheduler.working import WNode

_INVERSE = {"start": "stop", "stop": "start", "promote": "demote", "demote": "promote"}
_LIFECYCLE = ("demote", "stop", "start", "promote")
_MIGRATION = ("migrate_to", "migrate_from", "stop")       # the source's stop ends a migration


@dataclass(frozen=True)
class AntiColocation:
    """A -INFINITY colocation's sides: the primitives of each, the role each side must not share."""

    first: tuple[str, ...]
    first_role: str
    then: tuple[str, ...]
    then_role: str
    same_node: bool          # both sides are primitives: only actions on one node are ordered


def orderings(actions: Sequence[Action], orders: Iterable[Order], nodes: Iterable[WNode],
              collections: dict[str, list[tuple[str, bool]]] | None = None,
              anti_colocations: Iterable[AntiColocation] = ()) -> tuple[tuple[int, int], ...]:
    """`collections`: each primitive in a group or clone -> the groups and clones it is in, each with whether
    it is a promotable clone."""
    by_task: dict[tuple[str, str], list[int]] = defaultdict(list)      # (task, resource) -> indexes
    for index, action in enumerate(actions):
        by_task[(action.task, action.resource)].append(index)
    edges: list[tuple[int, int]] = []

    def first_of(task: str, rid: str) -> list[int]:
        """What 'after TASK of rid' waits for: a migration's implied start is its migrate_from."""
        found = by_task.get((task, rid), [])
        if task == "start" and not found:
            return by_task.get(("migrate_from", rid), [])
        return found

    def then_of(task: str, rid: str) -> list[int]:
        """What 'before TASK of rid' holds back: a migration starts with its migrate_to (Pacemaker's
        pcmk__order_migration_equivalents), or with its migrate_from when it continues a partial one."""
        found = list(by_task.get((task, rid), []))
        if task in ("start", "stop"):
            found += by_task.get(("migrate_to", rid), []) or \
                (by_task.get(("migrate_from", rid), []) if task == "start" and not found else [])
        return found

    def link(first_task: str, first_ids: Iterable[str], then_task: str, then_ids: Iterable[str],
             migrations: bool = False) -> None:
        if migrations:
            befores = [i for rid in first_ids for i in first_of(first_task, rid)]
            afters = [i for rid in then_ids for i in then_of(then_task, rid)]
        else:
            befores = [i for rid in first_ids for i in by_task.get((first_task, rid), ())]
            afters = [i for rid in then_ids for i in by_task.get((then_task, rid), ())]
        edges.extend((b, a) for b in befores for a in afters if b != a)

    resources = {action.resource for action in actions if action.resource}
    for rid in sorted(resources):
        for earlier, later in itertools.pairwise(_MIGRATION):
            link(earlier, [rid], later, [rid])
        for earlier, later in itertools.pairwise(_LIFECYCLE):
            link(earlier, [rid], later, [rid])
        link("demote", [rid], "start", [rid])
        link("stop", [rid], "promote", [rid])
        link("demote", [rid], "migrate_to", [rid])
    for order in orders:
        first_ids = [p.id for p in order.first.primitives()]
        then_ids = [p.id for p in order.then.primitives()]
        link(order.first_action, first_ids, order.then_action, then_ids, migrations=True)
        if order.symmetrical and order.first_action in _INVERSE and order.then_action in _INVERSE:
            link(_INVERSE[order.then_action], then_ids, _INVERSE[order.first_action], first_ids, migrations=True)
    for node in nodes:
        if node.kind == "cluster" or node.remote_rsc is None:
            continue
        connection = node.remote_rsc.id
        on_node = [i for i, a in enumerate(actions) if a.node == node.name and a.task != "fence"]
        for index in on_node:
            task = actions[index].task
            if task in ("start", "promote", "demote"):
                edges.extend((c, index) for c in first_of("start", connection))
            if task in ("stop", "demote"):
                edges.extend((index, c) for c in by_task.get(("stop", connection), ()))
    fences = [i for i, a in enumerate(actions) if a.task == "fence" and a.fence_type != "on"]
    for index, unfence in enumerate(actions):      # unfencing a host comes before what starts there
        if unfence.task == "fence" and unfence.fence_type == "on":
            edges.extend((index, i) for i, a in enumerate(actions)
                         if a.node == unfence.node and a.task in ("start", "migrate_from", "promote"))
    for node in nodes:
        if node.kind == "remote" and node.remote_rsc is not None:
            # its resources' stops are implied by its fencing, and its connection stops only after them
            stops = by_task.get(("stop", node.remote_rsc.id), ())
            edges.extend((f, s) for f in fences if actions[f].node == node.name for s in stops)
    for index, action in enumerate(actions):
        if action.task in ("start", "promote", "migrate_to", "migrate_from"):
            edges.extend((f, index) for f in fences)
    edges += _phases(actions, collections or {})
    for anti in anti_colocations:
        edges += _anti_colocation(actions, anti.first, anti.first_role, anti.then, anti.then_role, anti.same_node)
        edges += _anti_colocation(actions, anti.then, anti.then_role, anti.first, anti.first_role, anti.same_node)
    return _acyclic(edges)


def _phases(actions: Sequence[Action], collections: dict[str, list[tuple[str, bool]]]) -> list[tuple[int, int]]:
    """A group's members and a clone's instances change together, phase by phase, as Pacemaker's group and
    clone pseudo-actions order them: every stop before any start, and in a promotable clone every demotion
    before any stop and every start before any promotion (so two instances are never promoted at once)."""
    phases: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    promotable: set[str] = set()
    for index, action in enumerate(actions):
        if action.task not in _LIFECYCLE:
            continue
        for collection, is_promotable in collections.get(action.resource, ()):
            phases[collection][action.task].append(index)
            if is_promotable:
                promotable.add(collection)
    edges: list[tuple[int, int]] = []
    for collection, tasks in phases.items():
        order = _LIFECYCLE if collection in promotable else ("stop", "start")
        present = [tasks[task] for task in order if tasks.get(task)]
        for earlier, later in itertools.pairwise(present):
            edges.extend((b, a) for b in earlier for a in later)
    return edges


def _anti_colocation(actions: Sequence[Action], first: tuple[str, ...], first_role: str, then: tuple[str, ...],
                     then_role: str, same_node: bool) -> list[tuple[int, int]]:
    """Pacemaker's anti_colocation_order: what makes `first` lose its role (a stop, or a demotion of the
    Promoted role, or a promotion out of the Unpromoted one) comes before what makes `then` gain its (a start,
    a promotion, or a demotion into Unpromoted), on the same node when both are primitives."""
    lose = ("demote",) if first_role == "Promoted" else ("stop", "promote") if first_role == "Unpromoted" \
        else ("stop",)
    gain = ("promote",) if then_role == "Promoted" else ("start", "demote") if then_role == "Unpromoted" \
        else ("start",)
    first_ids, then_ids = set(first), set(then)
    befores = [i for i, a in enumerate(actions) if a.resource in first_ids and a.task in lose]
    afters = [i for i, a in enumerate(actions) if a.resource in then_ids and a.task in gain]
    return [(b, a) for b in befores for a in afters if not same_node or actions[b].node == actions[a].node]


def _acyclic(edges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Keep edges in a stable order, skipping any that would close a cycle."""
    successors: dict[int, set[int]] = defaultdict(set)
    kept: list[tuple[int, int]] = []

    def reaches(start: int, goal: int) -> bool:
        stack, seen = [start], {start}
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for nxt in successors[current]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    for before, after in sorted(set(edges)):
        if after in successors[before]:
            continue
        if reaches(after, before):
            continue
        successors[before].add(after)
        kept.append((before, after))
    return tuple(kept)


def predecessors(count: int, edges: Iterable[tuple[int, int]]) -> list[set[int]]:
    """For each action index, the indexes that must finish first."""
    needs: list[set[int]] = [set() for _ in range(count)]
    for before, after in edges:
        needs[after].add(before)
    return needs
