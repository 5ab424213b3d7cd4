"""The whole configuration and CIB snapshot, lookups over it, and its validation.

Rules: Configuration is Pacemaker's <configuration> as data; Cib adds <status>
and the version counters. validate() reports every problem crm_verify would
treat as an error for the features drover models, as ModelError messages that
name the offending ids; a Configuration that passes is safe to store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from appliance.model.acls import acl_ids
from appliance.model.alerts import Alert
from appliance.model.attributes import Attributes
from appliance.model.bundles import Bundle
from appliance.model.bundles import check as check_bundle
from appliance.model.constraints import (
    LOSS_POLICIES,
    Colocation,
    Constraint,
    Location,
    Order,
    Rule,
    TicketConstraint,
    referenced_resources,
)
from appliance.model.fencing import FencingLevel, check_levels
from appliance.model.nodes import Node, NodeInfo
from appliance.model.references import Tag, members
from appliance.model.resources import Clone, Group, Primitive, Resource, Template, agent_problem, primitives, walk
from appliance.model.rule_sets import (
    CLUSTER,
    OP_DEFAULTS,
    RSC_DEFAULTS,
    RuleSet,
    node_owner,
    op_owner,
    resource_owner,
)
from appliance.model.status import Status
from appliance.model.values import ModelError, id_problem, shown


@dataclass(frozen=True)
class Configuration:
    nodes: tuple[Node, ...] = ()
    resources: tuple[Resource, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    cluster_options: Attributes = field(default_factory=Attributes)
    rsc_defaults: Attributes = field(default_factory=Attributes)
    op_defaults: Attributes = field(default_factory=Attributes)
    fencing_levels: tuple[FencingLevel, ...] = ()
    templates: tuple[Template, ...] = ()
    tags: tuple[Tag, ...] = ()
    alerts: tuple[Alert, ...] = ()
    rule_sets: tuple[RuleSet, ...] = ()       # attribute sets with a rule, beside their owners' plain pairs
    bundles: tuple[Bundle, ...] = ()          # kept apart from `resources`: scheduled, never run by drover
    acls: str | None = None                   # the <acls> element as written: kept and exported, not enforced

    def resource(self, rid: str) -> Resource | None:
        return next((r for r in walk(self.resources) if r.id == rid), None)

    @property
    def tickets(self) -> tuple[TicketConstraint, ...]:
        return tuple(c for c in self.constraints if isinstance(c, TicketConstraint))

    def template(self, tid: str) -> Template | None:
        return next((t for t in self.templates if t.id == tid), None)

    def tag(self, tid: str) -> Tag | None:
        return next((t for t in self.tags if t.id == tid), None)

    def named_sets(self) -> dict[str, tuple[str, ...]]:
        """Template and tag ids -> the resources they stand for in constraints (references.members)."""
        return members(self.templates, self.tags, self.resources)

    def constraint(self, cid: str) -> Constraint | None:
        return next((c for c in self.constraints if c.id == cid), None)

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def node_infos(self) -> tuple[NodeInfo, ...]:
        """Cluster nodes, then remote and guest nodes in resource order."""
        infos = [NodeInfo(n.name, "cluster") for n in self.nodes if n.type == "member"]
        for primitive in primitives(self.resources):
            if primitive.agent.is_remote_connection:
                infos.append(NodeInfo(primitive.id, "remote", primitive.id))
            elif primitive.guest_node:
                infos.append(NodeInfo(primitive.guest_node, "guest", primitive.id))
        for bundle in self.bundles:
            infos.extend(NodeInfo(r.guest_node, "guest", r.container) for r in bundle.replica_list() if r.guest_node)
        known = {info.name for info in infos}
        infos.extend(NodeInfo(n.name, "remote") for n in self.nodes if n.type == "remote" and n.name not in known)
        return tuple(infos)

    def node_info(self, name: str) -> NodeInfo | None:
        return next((info for info in self.node_infos() if info.name == name), None)


@dataclass(frozen=True)
class Cib:
    configuration: Configuration = field(default_factory=Configuration)
    status: Status = field(default_factory=Status)
    epoch: int = 0
    admin_epoch: int = 0
    num_updates: int = 0
    have_quorum: bool = True
    dc_uuid: str | None = None
    extra: Attributes = field(default_factory=Attributes)   # other <cib> attributes, e.g. validate-with

    def with_configuration(self, configuration: Configuration) -> Cib:
        return replace(self, configuration=configuration)


def _rule_ids(rule: Rule) -> list[str]:
    ids = [rule.id]
    for item in rule.items:
        ids.extend(_rule_ids(item) if isinstance(item, Rule) else [item.id])
    return ids


def all_ids(configuration: Configuration) -> list[tuple[str, str]]:
    """(id, what) for every XML id drover keeps, in document order."""
    found: list[tuple[str, str]] = []
    for template in configuration.templates:
        found.append((template.id, "template"))
        found.extend((op.id, f"operation of template {shown(template.id)}") for op in template.ops)
    for resource in walk(configuration.resources):
        found.append((resource.id, "resource"))
        if isinstance(resource, Primitive):
            own_ops = resource.template.ops if resource.template is not None else resource.ops
            found.extend((op.id, f"operation of {shown(resource.id)}") for op in own_ops)
    for bundle in configuration.bundles:
        found.append((bundle.id, "bundle"))
        found.extend((item.get("id") or "", f"mapping of bundle {shown(bundle.id)}")
                     for item in (*bundle.port_mappings, *(bundle.storage or ())))
        if bundle.primitive is not None:
            found.append((bundle.primitive.id, "resource"))
            found.extend((op.id, f"operation of {shown(bundle.primitive.id)}") for op in bundle.primitive.ops)
    found.extend((tag.id, "tag") for tag in configuration.tags)
    if configuration.acls:
        found.extend((ident, "ACL entry") for ident in acl_ids(configuration.acls))
    for rule_set in configuration.rule_sets:
        found.append((rule_set.id, f"{rule_set.kind} of {rule_set.owner}"))
        found.extend((rid, f"rule of {shown(rule_set.id)}") for rid in _rule_ids(rule_set.rule))
    for alert in configuration.alerts:
        found.append((alert.id, "alert"))
        found.extend((recipient.id, f"recipient of alert {shown(alert.id)}") for recipient in alert.recipients)
    found.extend((item.id, "fencing level") for item in configuration.fencing_levels)
    for constraint in configuration.constraints:
        found.append((constraint.id, "constraint"))
        found.extend((s.id, f"resource set of {shown(constraint.id)}") for s in constraint.sets)
        if isinstance(constraint, Location):
            for rule in constraint.rules:
                found.extend((rid, f"rule of {shown(constraint.id)}") for rid in _rule_ids(rule))
    return found


def _check_unique(configuration: Configuration) -> None:
    seen: dict[str, str] = {}
    for ident, what in all_ids(configuration):
        problem = id_problem(ident)
        if problem is not None:
            raise ModelError(f"invalid id {shown(ident)} of a {what}: {problem}")
        if ident in seen:
            raise ModelError(f"duplicate id {shown(ident)}: used by a {seen[ident]} and a {what}")
        seen[ident] = what
    names: set[str] = set()
    node_ids: set[str] = set()
    for node in configuration.nodes:
        if node.name in names:
            raise ModelError(f"duplicate node name '{node.name}'")
        if node.id in node_ids:
            raise ModelError(f"duplicate node id '{node.id}' (node '{node.name}')")
        names.add(node.name)
        node_ids.add(node.id)


def _check_structure(configuration: Configuration) -> None:
    for resource in walk(configuration.resources):
        if isinstance(resource, Group) and not resource.members:
            raise ModelError(f"group '{resource.id}' has no members")
        if isinstance(resource, Clone):
            for inner in walk((resource.child,)):
                if isinstance(inner, Primitive) and (inner.guest_node or inner.agent.is_remote_connection):
                    raise ModelError(f"'{inner.id}' hosts a guest or remote node and cannot be cloned")
        if isinstance(resource, Primitive) and resource.template is not None:
            template = configuration.template(resource.template.template)
            if template is None:
                raise ModelError(f"primitive '{resource.id}' is made from template "
                                 f"'{resource.template.template}', which does not exist")
            if template.agent != resource.agent:
                raise ModelError(f"primitive '{resource.id}' has another agent than its template '{template.id}'")
        if isinstance(resource, Primitive):
            agent = resource.agent
            problem = agent_problem(agent.standard, agent.provider, agent.type)
            if problem is not None:
                raise ModelError(f"primitive '{resource.id}': {problem}")


def _check_nodes(configuration: Configuration) -> None:
    resource_ids = {r.id for r in walk(configuration.resources)}
    cluster_names = {n.name for n in configuration.nodes if n.type == "member"}
    guests: dict[str, str] = {}
    for primitive in primitives(configuration.resources):
        name = primitive.guest_node
        if not name:
            continue
        if name in guests:
            raise ModelError(f"guest node '{name}' is hosted by both '{guests[name]}' and '{primitive.id}'")
        if name in resource_ids:
            raise ModelError(f"guest node name '{name}' of '{primitive.id}' is already a resource id")
        if name in cluster_names:
            raise ModelError(f"guest node name '{name}' of '{primitive.id}' is already a cluster node")
        guests[name] = primitive.id


def rule_set_owners(configuration: Configuration) -> set[str]:
    """What attribute sets with rules may belong to (model.rule_sets owner names) in this configuration."""
    owners = {CLUSTER, RSC_DEFAULTS, OP_DEFAULTS}
    for resource in walk(configuration.resources):
        owners.add(resource_owner(resource.id))
        if isinstance(resource, Primitive):
            owners.update(op_owner(op.id) for op in resource.ops)
    owners.update(node_owner(node.name) for node in configuration.nodes)
    return owners


def _check_rule_sets(configuration: Configuration) -> None:
    owners = rule_set_owners(configuration) if configuration.rule_sets else set()
    for rule_set in configuration.rule_sets:
        if rule_set.owner not in owners:
            raise ModelError(f"{rule_set.kind} '{rule_set.id}' belongs to {rule_set.owner}, which does not exist")


def _check_tags(configuration: Configuration) -> None:
    taggable = {r.id for r in walk(configuration.resources)} | {t.id for t in configuration.templates}
    for tag in configuration.tags:
        if not tag.refs:
            raise ModelError(f"tag '{tag.id}' tags nothing: it needs at least one resource")
        for ref in tag.refs:
            if ref not in taggable:
                raise ModelError(f"tag '{tag.id}' references '{ref}', which is not a resource or template")
        if len(set(tag.refs)) != len(tag.refs):
            raise ModelError(f"tag '{tag.id}' lists a resource twice")


def _check_references(configuration: Configuration) -> None:
    named = {t.id for t in configuration.templates} | {t.id for t in configuration.tags}
    resource_ids = {r.id for r in walk(configuration.resources)} | named | \
        {i for b in configuration.bundles for i in (b.id, *([b.primitive.id] if b.primitive else []))}
    for constraint in configuration.constraints:
        if isinstance(constraint, Location) and constraint.rsc_pattern is None and not (
                constraint.rsc or constraint.sets):
            raise ModelError(f"location constraint '{constraint.id}' names no resource")
        if isinstance(constraint, Location) and constraint.node is None and not constraint.rules:
            raise ModelError(f"location constraint '{constraint.id}' needs a node and score, or a rule")
        if isinstance(constraint, Location) and constraint.node is not None and constraint.score is None:
            raise ModelError(f"location constraint '{constraint.id}' has a node but no score")
        if isinstance(constraint, Colocation) and not constraint.sets and not (constraint.rsc and constraint.with_rsc):
            raise ModelError(f"colocation constraint '{constraint.id}' needs rsc and with-rsc, or resource sets")
        if isinstance(constraint, Order) and not constraint.sets and not (constraint.first and constraint.then):
            raise ModelError(f"order constraint '{constraint.id}' needs first and then, or resource sets")
        if isinstance(constraint, TicketConstraint):
            _check_ticket(constraint)
        if isinstance(constraint, Colocation) and constraint.rsc in named and constraint.with_rsc in named:
            raise ModelError(f"colocation constraint '{constraint.id}' colocates two templates or tags "
                             f"('{constraint.rsc}' with '{constraint.with_rsc}'): name a resource on one side")
        for rid in referenced_resources(constraint):
            if rid not in resource_ids:
                raise ModelError(f"constraint '{constraint.id}' references resource '{rid}', which does not exist")


def _check_ticket(constraint: TicketConstraint) -> None:
    if not constraint.sets and not constraint.rsc:
        raise ModelError(f"ticket constraint '{constraint.id}' needs rsc, or resource sets")
    if constraint.sets and constraint.rsc:
        raise ModelError(f"ticket constraint '{constraint.id}' names rsc and resource sets: use one of them")
    if constraint.loss_policy is not None and constraint.loss_policy not in LOSS_POLICIES:
        raise ModelError(f"ticket constraint '{constraint.id}': invalid loss-policy '{constraint.loss_policy}' "
                         f"(expected one of {', '.join(LOSS_POLICIES)})")


def validate(configuration: Configuration) -> Configuration:
    _check_unique(configuration)
    for bundle in configuration.bundles:
        check_bundle(bundle)
    _check_structure(configuration)
    _check_nodes(configuration)
    _check_tags(configuration)
    _check_rule_sets(configuration)
    _check_references(configuration)
    check_levels(configuration.fencing_levels)
    return configuration
