"""Node scores: location constraints (with rules), stickiness, failure bans, and the colocation arithmetic.

Rules: one function per Pacemaker step (pcmk__apply_locations, apply_stickiness,
migration-threshold bans, pcmk__apply_coloc_to_weights,
pcmk__add_colocated_node_scores); scores are added with Pacemaker's clamped
arithmetic (values.add_scores), and rounding of attenuated scores is
Pacemaker's.
"""

from __future__ import annotations

import re
from datetime import datetime

from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib
from appliance.model.constraints import Location
from appliance.model.rule_eval import rule_matches, rule_score
from appliance.model.values import INFINITY, add_scores, is_true, parse_score
from appliance.scheduler.unpack import Working, failcount
from appliance.scheduler.working import Colocation, WNode, WRsc

INFINITY_HACK = INFINITY * -100


def descendants(rsc: WRsc) -> list[WRsc]:
    result = [rsc]
    for child in rsc.children:
        result.extend(descendants(child))
    return result


def add_location(rsc: WRsc, node: str, score: int) -> None:
    """resource_location() for one node, applied to the resource and everything inside it."""
    for item in descendants(rsc):
        item.allowed[node] = add_scores(item.allowed.get(node, 0), score)


def apply_location_constraint(rsc: WRsc, node: str, score: int) -> None:
    """A location constraint: in a group only the first member gets the score, the others the node at 0
    (they follow the first member), as Pacemaker's group_rsc_location does."""
    rsc.allowed[node] = add_scores(rsc.allowed.get(node, 0), score)
    for index, child in enumerate(rsc.children):
        if rsc.variant == "group" and index > 0:
            for item in descendants(child):
                item.allowed.setdefault(node, 0)
        else:
            apply_location_constraint(child, node, score)


def initial_scores(working: Working) -> None:
    for top in working.resources:
        for item in descendants(top):
            item.allowed = {n.name: 0 for n in working.nodes} if working.options.symmetric else {}
    for top in working.resources:
        if top.is_remote_connection and top.meta.get("container") and not working.options.symmetric:
            top.allowed = {n.name: 0 for n in working.nodes if n.kind == "cluster"}   # follows its container
        for item in descendants(top):
            if item.variant == "primitive" and _avoids_remote(item, working):
                for node in working.nodes:
                    if node.kind != "cluster" and (node.name in item.allowed or working.options.symmetric):
                        item.allowed[node.name] = -INFINITY
            # Pacemaker: a bundle's guest nodes run its wrapped primitive and nothing else, whatever else says
            for node, child_clone in working.bundle_nodes.items():
                item.allowed[node] = -INFINITY if top.id != child_clone else 0
        if top.bundled_in is not None:
            own = {node for node, child_clone in working.bundle_nodes.items() if child_clone == top.id}
            for item in descendants(top):
                item.allowed = {name: score for name, score in item.allowed.items() if name in own}


def _avoids_remote(rsc: WRsc, working: Working) -> bool:
    bundled = rsc.parent is not None and rsc.top().bundle      # Pacemaker lets bundles run on remote nodes
    return rsc.is_remote_connection or (bool(rsc.guest_node) and not bundled) or (rsc.agent is not None and
                                                               rsc.agent.standard == "stonith")


def apply_locations(working: Working, cib: Cib, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Apply location constraints; returns role=Promoted preferences per clone id (node, score)."""
    promoted: dict[str, list[tuple[str, int]]] = {}
    exclusive: dict[str, set[str]] = {}          # resource-discovery=exclusive: resource id -> its nodes
    for constraint in cib.configuration.constraints:
        if not isinstance(constraint, Location):
            continue
        targets = [constraint.rsc] if constraint.rsc else [r for s in constraint.sets for r in s.resources]
        if constraint.rsc_pattern:
            targets = _pattern_targets(working, constraint.rsc_pattern)
        for rid in targets:
            rsc = working.by_id.get(rid or "")
            if rsc is None:
                continue
            located = _location_scores(constraint, working, now, rsc)
            if constraint.resource_discovery == "exclusive":
                exclusive.setdefault(rsc.id, set()).update(node for node, _score, _role in located)
                working.exclusive_discover.add(rsc.id)
            if constraint.resource_discovery in ("never", "exclusive"):
                for item in descendants(rsc):
                    modes = working.discovery.setdefault(item.id, {})
                    modes.update({node: constraint.resource_discovery for node, _score, _role in located})
            for node, score, rule_role in located:
                role = rule_role or constraint.role
                if rule_role in ("Unpromoted", "Slave"):
                    role = None          # Pacemaker: a rule for the Unpromoted role applies to every role
                if role == "Promoted":
                    promoted.setdefault(rsc.id, []).append((node, score))
                    continue
                if role == "Unpromoted" and score >= 0:
                    continue
                apply_location_constraint(rsc, node, score)
    for rid, nodes in exclusive.items():
        _exclusive_discovery(working, working.by_id[rid], nodes)
    return promoted


def _pattern_targets(working: Working, pattern: str) -> list[str]:
    """rsc-pattern: the top-level resources whose id the (POSIX extended, unanchored) regular expression matches;
    a leading ! selects those it does not match."""
    negate = pattern.startswith("!")
    try:
        expression = re.compile(pattern[1:] if negate else pattern)
    except re.error:
        return []
    return [rsc.id for rsc in working.resources if bool(expression.search(rsc.id)) != negate]


def apply_node_health(working: Working, options: Attributes) -> None:
    """Pacemaker's node-health-strategy: the sum of a node's #health* attributes (red, yellow, green or scores,
    valued by the strategy; progressive adds node-health-base) is a location score of every resource there,
    a negative one sparing resources with allow-unhealthy-nodes=true."""
    strategy = (options.get("node-health-strategy") or "none").lower()
    if strategy not in ("migrate-on-red", "only-green", "progressive", "custom"):
        return
    colors = {"migrate-on-red": ("-INFINITY", "0", "0"), "only-green": ("-INFINITY", "-INFINITY", "0")}.get(
        strategy, (options.get("node-health-red") or "-INFINITY", options.get("node-health-yellow") or "0",
                   options.get("node-health-green") or "0"))
    values = dict(zip(("red", "yellow", "green"), (_health_score(c) for c in colors), strict=True))
    base = _health_score(options.get("node-health-base") or "0") if strategy == "progressive" else 0
    for node in working.nodes:
        health = base
        for name, value in node.attrs.items():
            if name.startswith("#health"):
                health = add_scores(values[value.lower()] if value.lower() in values else _health_score(value),
                                    health)
        if health == 0:
            continue
        for top in working.resources:
            if health < 0 and is_true(top.meta.get("allow-unhealthy-nodes")):
                continue
            apply_location_constraint(top, node.name, health)


def _health_score(text: str) -> int:
    try:
        return parse_score(text)
    except Exception:
        return 0


def _exclusive_discovery(working: Working, rsc: WRsc, nodes: set[str]) -> None:
    """Pacemaker's apply_exclusive_discovery: a resource discovered only on the nodes of its
    resource-discovery=exclusive locations can run nowhere else."""
    for item in descendants(rsc):
        for node in working.nodes:
            if node.name not in nodes and (node.name in item.allowed or working.options.symmetric):
                item.allowed[node.name] = -INFINITY


def _location_scores(constraint: Location, working: Working, now: datetime,
                     rsc: WRsc | None = None) -> list[tuple[str, int, str | None]]:
    """(node, score, the rule's role) for each node the constraint scores; `rsc`: the resource it is applied
    to, whose parameters and meta attributes value-source=param|meta expressions compare with."""
    if constraint.node is not None:
        if working.node(constraint.node) is None:
            return []
        return [(constraint.node, constraint.score or 0, None)]
    scores = []
    for rule in constraint.rules:
        for node in working.nodes:
            if rule_matches(rule, node.attrs, now, _params_on(rsc, node, now), rsc.meta if rsc else None):
                scores.append((node.name, rule_score(rule, node.attrs), rule.role))
            elif rule.score is not None and not working.options.symmetric:
                continue
    return scores


def _params_on(rsc: WRsc | None, node: WNode, now: datetime) -> dict[str, str] | None:
    """A resource's parameters as they are on `node` (its instance attribute sets with rules evaluated there)."""
    return rsc.params_on(node.attrs, now) if rsc is not None else None


def apply_stickiness(working: Working) -> None:
    for top in working.resources:
        for rsc in descendants(top):
            if rsc.variant != "primitive" or not rsc.managed or rsc.stickiness < 1 or len(rsc.running_on) != 1:
                continue
            node = rsc.running_on[0]
            if not working.options.symmetric and node.name not in rsc.allowed:
                continue
            rsc.allowed[node.name] = add_scores(rsc.allowed.get(node.name, 0), rsc.stickiness)


def apply_failure_bans(working: Working) -> None:
    for rsc, node in working.bans:
        add_location(_ban_target(rsc), node, -INFINITY)
    for primitive in working.all_primitives:
        if primitive.migration_threshold <= 0 or primitive.orphan or primitive.failure_ignored:
            continue
        for node in working.nodes:
            count = failcount(working, primitive, node.name)
            if count > 0 and primitive.migration_threshold - count <= 0:
                add_location(_ban_target(primitive), node.name, -INFINITY)


def _ban_target(rsc: WRsc) -> WRsc:
    clone = rsc.clone_parent()
    return clone if clone is not None and not clone.unique else rsc


# -- colocation arithmetic -------------------------------------------------------------------------------------------

def node_available(node: WNode | None) -> bool:
    return node is not None and node.available()


def any_available(working: Working, scores: dict[str, int]) -> bool:
    return any(weight >= 0 and node_available(working.node(name)) for name, weight in scores.items())


def _attr(working: Working, node: str, attribute: str) -> str | None:
    found = working.node(node)
    return found.attrs.get(attribute) if found is not None else None


def apply_coloc_to_weights(working: Working, dependent: WRsc, primary_nodes: list[WNode] | None,
                           colocation: Colocation) -> None:
    """pcmk__apply_coloc_to_weights; primary_nodes None means the primary is not assigned anywhere."""
    attribute = colocation.node_attribute
    values = {n.attrs.get(attribute) for n in primary_nodes} if primary_nodes else set()
    if not primary_nodes and colocation.score < 0:
        return
    work = dict(dependent.allowed)
    for name, weight in work.items():
        if not primary_nodes:
            work[name] = add_scores(-colocation.score, weight)
        elif _attr(working, name, attribute) in values:
            if colocation.score < INFINITY:
                work[name] = add_scores(colocation.score, weight)
        elif colocation.score >= INFINITY:
            work[name] = -INFINITY
    if colocation.score <= -INFINITY or colocation.score >= INFINITY or any_available(working, work):
        dependent.allowed = work


def _best_score_by_value(working: Working, rsc: WRsc, attribute: str) -> dict[str | None, int]:
    """For each value of the node attribute, rsc's best score on an available node that has it."""
    best: dict[str | None, int] = {}
    for name, weight in rsc.allowed.items():
        node = working.node(name)
        if node is not None and node.available():
            value = node.attrs.get(attribute)
            if weight > best.get(value, -INFINITY):
                best[value] = weight
    return best


def _add_matching(working: Working, nodes: dict[str, int], rsc: WRsc, attribute: str, factor: float,
                  only_positive: bool) -> None:
    best = _best_score_by_value(working, rsc, attribute)
    for name in list(nodes):
        weight = nodes[name]
        score = best.get(_attr(working, name, attribute), -INFINITY)
        if factor < 0 and score < 0:
            continue
        if weight == INFINITY_HACK:
            continue
        weight_f = factor * score
        added = int(weight_f - 0.5) if weight_f < 0 else int(weight_f + 0.5)
        if added == 0 and score != 0:
            added = 1 if factor > 0 else (-1 if factor < 0 else 0)
        new = add_scores(added, weight)
        if only_positive and new < 0 and weight > 0:
            nodes[name] = INFINITY_HACK
            continue
        if only_positive and new < 0 and weight == 0:
            continue
        nodes[name] = new


_VARIANT_RANK = {"primitive": 0, "group": 1, "clone": 2}


def _coloc_key(rsc: WRsc) -> tuple:
    return (-rsc.priority, -_VARIANT_RANK[rsc.variant], 0 if rsc.promotable else 1, rsc.id)


def this_with_list(rsc: WRsc) -> list[Colocation]:
    """Colocations in which rsc is the dependent (a group's apply to its first member), by primary priority."""
    found = list(rsc.this_with)
    parent = rsc.parent
    if parent is not None and parent.variant == "group" and parent.children and parent.children[0] is rsc:
        found.extend(parent.this_with)
        parent = parent.parent
    elif parent is not None and parent.variant == "group":
        parent = None
    if parent is not None and parent.variant == "clone":
        # append_parent_colocation: an instance gets the clone's colocations when not every node gets one,
        # otherwise only the negative and the mandatory ones
        found.extend(c for c in parent.this_with if parent.all_coloc or c.score < 0 or c.score >= INFINITY)
    return sorted(found, key=lambda c: _coloc_key(c.primary))


def with_this_list(rsc: WRsc) -> list[Colocation]:
    """Colocations in which rsc is the primary (a group's are handed to its last member, as Pacemaker 2.1 does)."""
    found = list(rsc.with_this)
    parent = rsc.parent
    if parent is not None and parent.variant == "group" and parent.children and parent.children[-1] is rsc:
        found.extend(parent.with_this)
        parent = parent.parent
    elif parent is not None and parent.variant == "group":
        parent = None
    if parent is not None and parent.variant == "clone":
        found.extend(c for c in parent.with_this if (parent.all_coloc or c.score < 0)
                     and (c.influence or not rsc.running_on))
    return sorted(found, key=lambda c: _coloc_key(c.dependent))


def is_active(rsc: WRsc) -> bool:
    return any(p.running_on for p in rsc.primitives())


def has_influence(colocation: Colocation) -> bool:
    return colocation.influence or not is_active(colocation.primary)


def add_colocated_node_scores(working: Working, rsc: WRsc, nodes: dict[str, int] | None, attribute: str,
                              factor: float, this_with_mode: bool, nonnegative: bool, active: bool
                              ) -> dict[str, int] | None:
    """pcmk__add_colocated_node_scores: fold rsc's (attenuated) preferences, and its colocated resources', in."""
    if rsc.variant == "group" and rsc.children:
        rsc = rsc.children[0]
    if rsc.merging:
        return nodes
    rsc.merging = True
    try:
        if nodes is None:
            work = dict(rsc.allowed)
        else:
            work = dict(nodes)
            _add_matching(working, work, rsc, attribute, factor, nonnegative)
        if any_available(working, work):
            colocations = this_with_list(rsc) if this_with_mode else with_this_list(rsc)
            for colocation in colocations:
                other_factor = factor * colocation.score / INFINITY
                if this_with_mode:
                    other = colocation.primary
                elif not has_influence(colocation):
                    continue
                else:
                    other = colocation.dependent
                merged = add_colocated_node_scores(working, other, work, colocation.node_attribute, other_factor,
                                                   this_with_mode, nonnegative, True)
                if merged is not None:
                    work = merged
        elif active:
            return nodes
        if nonnegative:
            work = {name: (1 if weight == INFINITY_HACK else weight) for name, weight in work.items()}
        return work
    finally:
        rsc.merging = False
