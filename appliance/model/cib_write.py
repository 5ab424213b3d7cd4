"""Write the model as Pacemaker CIB XML that crm_verify accepts.

Rules: element and attribute names exactly as Pacemaker writes them; ids for
nvpair sets built the way pcs builds them (OWNER-meta_attributes-NAME);
roles written with the pacemaker-3.7 names; output is deterministic.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from appliance.model.alerts import SELECT_ELEMENTS, Alert, Recipient
from appliance.model.attributes import Attributes
from appliance.model.bundles import Bundle, in_resource_order
from appliance.model.cluster import Cib, Configuration
from appliance.model.constraints import (
    Colocation,
    Constraint,
    DateExpression,
    Expression,
    Location,
    OpExpression,
    ResourceSet,
    RscExpression,
    Rule,
    TicketConstraint,
)
from appliance.model.resources import Group, Op, Primitive, Resource, Template, TemplateUse
from appliance.model.rule_sets import CLUSTER, OP_DEFAULTS, RSC_DEFAULTS, RuleSet
from appliance.model.status import NodeState, Status, fail_attribute_names
from appliance.model.values import format_interval, format_score, sanitize_id

VALIDATE_WITH = "pacemaker-3.7"
FEATURE_SET = "3.16.1"


def _set(parent: ET.Element, tag: str, owner: str, attrs: Attributes, block_id: str | None = None) -> None:
    if not len(attrs):
        return
    block_id = block_id or f"{owner}-{tag}"
    block = ET.SubElement(parent, tag, id=block_id)
    for name, value in attrs:
        ET.SubElement(block, "nvpair", id=sanitize_id(f"{block_id}-{name}"), name=name, value=value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _put(element: ET.Element, name: str, value: str | int | bool | None) -> None:
    if value is None:
        return
    element.set(name, _bool(value) if isinstance(value, bool) else str(value))


def _put_all(element: ET.Element, values: tuple[tuple[str, str | int | bool | None], ...]) -> None:
    for name, value in values:
        _put(element, name, value)


def _score(score: int | None) -> str | None:
    return format_score(score) if score is not None else None


def _op(parent: ET.Element, op: Op) -> None:
    element = ET.SubElement(parent, "op", id=op.id, name=op.name, interval=format_interval(op.interval_ms))
    _put(element, "role", op.role)
    _put(element, "timeout", op.timeout)
    _put(element, "on-fail", op.on_fail)
    for name, value in op.options:
        element.set(name, value)
    _set(element, "instance_attributes", op.id, op.params)
    _set(element, "meta_attributes", op.id, op.meta)


def _primitive(parent: ET.Element, primitive: Primitive | Template, tag: str = "primitive") -> None:
    element = ET.SubElement(parent, tag, id=primitive.id)
    own: Primitive | Template | TemplateUse = primitive
    if isinstance(primitive, Primitive) and primitive.template is not None:
        own = primitive.template                 # the rest comes from the template, written once under its id
        element.set("template", own.template)
    else:
        element.set("class", primitive.agent.standard)
        _put(element, "provider", primitive.agent.provider)
        element.set("type", primitive.agent.type)
    _put(element, "description", primitive.description)
    _set(element, "instance_attributes", primitive.id, own.params)
    _set(element, "meta_attributes", primitive.id, own.meta)
    _set(element, "utilization", primitive.id, own.utilization)
    if own.ops:
        operations = ET.SubElement(element, "operations")
        for op in own.ops:
            _op(operations, op)


def write_resource(parent: ET.Element, resource: Resource) -> None:
    if isinstance(resource, Primitive):
        _primitive(parent, resource)
        return
    tag = "group" if isinstance(resource, Group) else "clone"
    element = ET.SubElement(parent, tag, id=resource.id)
    _put(element, "description", resource.description)
    _set(element, "meta_attributes", resource.id, resource.meta)
    for child in resource.children():
        write_resource(element, child)


def _sets(parent: ET.Element, sets: tuple[ResourceSet, ...]) -> None:
    for resource_set in sets:
        element = ET.SubElement(parent, "resource_set", id=resource_set.id)
        _put_all(element, (("sequential", resource_set.sequential), ("require-all", resource_set.require_all),
                           ("ordering", resource_set.ordering), ("action", resource_set.action),
                           ("role", resource_set.role), ("score", _score(resource_set.score)),
                           ("kind", resource_set.kind)))
        for rid in resource_set.resources:
            ET.SubElement(element, "resource_ref", id=rid)


def _rule(parent: ET.Element, rule: Rule) -> None:
    element = ET.SubElement(parent, "rule", id=rule.id)
    _put(element, "score", _score(rule.score))
    _put(element, "score-attribute", rule.score_attribute)
    if rule.boolean_op != "and" or len(rule.items) > 1:
        element.set("boolean-op", rule.boolean_op)
    _put(element, "role", rule.role)
    for item in rule.items:
        if isinstance(item, Rule):
            _rule(element, item)
        elif isinstance(item, Expression):
            expression = ET.SubElement(element, "expression", id=item.id, attribute=item.attribute,
                                       operation=item.operation)
            _put(expression, "value", item.value)
            _put(expression, "type", item.type)
            _put(expression, "value-source", item.value_source)
        elif isinstance(item, DateExpression):
            date = ET.SubElement(element, "date_expression", id=item.id, operation=item.operation)
            for name, value in item.options:
                date.set(name, value)
            if item.date_spec is not None:
                ET.SubElement(date, "date_spec", dict(item.date_spec.items))
            if item.duration is not None:
                ET.SubElement(date, "duration", dict(item.duration.items))
        elif isinstance(item, RscExpression):
            expression = ET.SubElement(element, "rsc_expression", id=item.id)
            _put_all(expression, (("class", item.standard), ("provider", item.provider), ("type", item.type)))
        elif isinstance(item, OpExpression):
            expression = ET.SubElement(element, "op_expression", id=item.id, name=item.name)
            _put(expression, "interval", format_interval(item.interval_ms) if item.interval_ms is not None else None)


def write_constraint(parent: ET.Element, constraint: Constraint) -> None:
    if isinstance(constraint, Location):
        element = ET.SubElement(parent, "rsc_location", id=constraint.id)
        _put_all(element, (("rsc", constraint.rsc), ("rsc-pattern", constraint.rsc_pattern),
                           ("node", constraint.node), ("score", _score(constraint.score)), ("role", constraint.role),
                           ("resource-discovery", constraint.resource_discovery)))
        _sets(element, constraint.sets)
        for rule in constraint.rules:
            _rule(element, rule)
    elif isinstance(constraint, Colocation):
        element = ET.SubElement(parent, "rsc_colocation", id=constraint.id, score=format_score(constraint.score))
        _put_all(element, (("rsc", constraint.rsc), ("with-rsc", constraint.with_rsc),
                           ("rsc-role", constraint.rsc_role), ("with-rsc-role", constraint.with_rsc_role),
                           ("node-attribute", constraint.node_attribute), ("influence", constraint.influence)))
        _sets(element, constraint.sets)
    elif isinstance(constraint, TicketConstraint):
        element = ET.SubElement(parent, "rsc_ticket", id=constraint.id, ticket=constraint.ticket)
        _put_all(element, (("rsc", constraint.rsc), ("rsc-role", constraint.rsc_role),
                           ("loss-policy", constraint.loss_policy)))
        _sets(element, constraint.sets)
    else:
        element = ET.SubElement(parent, "rsc_order", id=constraint.id)
        _put_all(element, (("first", constraint.first), ("then", constraint.then),
                           ("first-action", constraint.first_action), ("then-action", constraint.then_action),
                           ("kind", constraint.kind), ("score", _score(constraint.score)),
                           ("symmetrical", constraint.symmetrical), ("require-all", constraint.require_all)))
        _sets(element, constraint.sets)


def _configuration(parent: ET.Element, configuration: Configuration) -> None:
    element = ET.SubElement(parent, "configuration")
    crm_config = ET.SubElement(element, "crm_config")
    # Pacemaker ranks cib-bootstrap-options before every other set: a rule set meant to win over the plain
    # options needs them under another name
    over = any(s.owner == CLUSTER and not s.under_plain for s in configuration.rule_sets)
    _set(crm_config, "cluster_property_set", "", configuration.cluster_options,
         "cluster-options" if over else "cib-bootstrap-options")
    nodes = ET.SubElement(element, "nodes")
    for node in configuration.nodes:
        node_element = ET.SubElement(nodes, "node", id=node.id, uname=node.name)
        if node.type != "member":
            node_element.set("type", node.type)
        _put(node_element, "description", node.description)
        _set(node_element, "instance_attributes", f"nodes-{node.id}", node.attributes)
        _set(node_element, "utilization", f"nodes-{node.id}", node.utilization)
    resources = ET.SubElement(element, "resources")
    for template in configuration.templates:
        _primitive(resources, template, "template")
    # bundles at their place among the resources (their order matters)
    for resource in in_resource_order(configuration.resources, configuration.bundles):
        (write_bundle if isinstance(resource, Bundle) else write_resource)(resources, resource)
    constraints = ET.SubElement(element, "constraints")
    for constraint in configuration.constraints:
        write_constraint(constraints, constraint)
    if configuration.fencing_levels:
        topology = ET.SubElement(element, "fencing-topology")
        for item in configuration.fencing_levels:
            level_element = ET.SubElement(topology, "fencing-level", id=item.id)
            for name, value in (("target", item.target), ("target-pattern", item.target_pattern),
                                ("target-attribute", item.target_attribute), ("target-value", item.target_value)):
                _put(level_element, name, value)
            level_element.set("index", str(item.index))
            level_element.set("devices", ",".join(item.devices))
    if configuration.tags:
        tags = ET.SubElement(element, "tags")
        for tag in configuration.tags:
            tag_element = ET.SubElement(tags, "tag", id=tag.id)
            for ref in tag.refs:
                ET.SubElement(tag_element, "obj_ref", id=ref)
    if configuration.alerts:
        write_alerts(ET.SubElement(element, "alerts"), configuration.alerts)
    if configuration.acls:
        element.append(ET.fromstring(configuration.acls))
    owners = {s.owner for s in configuration.rule_sets}
    if len(configuration.rsc_defaults) or RSC_DEFAULTS in owners:
        _set(ET.SubElement(element, "rsc_defaults"), "meta_attributes", "", configuration.rsc_defaults, "rsc-options")
    if len(configuration.op_defaults) or OP_DEFAULTS in owners:
        _set(ET.SubElement(element, "op_defaults"), "meta_attributes", "", configuration.op_defaults, "op-options")
    _place_rule_sets(element, configuration.rule_sets)


def write_bundle(parent: ET.Element, bundle: Bundle) -> None:
    element = ET.SubElement(parent, "bundle", id=bundle.id)
    _put(element, "description", bundle.description)
    _set(element, "meta_attributes", bundle.id, bundle.meta)
    _set(element, "instance_attributes", bundle.id, bundle.params)
    ET.SubElement(element, bundle.runtime, dict(bundle.runtime_options.items))
    if bundle.network is not None:
        network = ET.SubElement(element, "network", dict(bundle.network.items))
        for port in bundle.port_mappings:
            ET.SubElement(network, "port-mapping", dict(port.items))
    if bundle.storage is not None:
        storage = ET.SubElement(element, "storage")
        for mapping in bundle.storage:
            ET.SubElement(storage, "storage-mapping", dict(mapping.items))
    if bundle.primitive is not None:
        _primitive(element, bundle.primitive)


def _owner_element(configuration: ET.Element, owner: str) -> ET.Element | None:
    sections = {CLUSTER: "crm_config", RSC_DEFAULTS: "rsc_defaults", OP_DEFAULTS: "op_defaults"}
    if owner in sections:
        return configuration.find(sections[owner])
    what, _, ident = owner.partition(":")
    if what == "node":
        return next((n for n in configuration.iter("node") if n.get("uname") == ident), None)
    tags = ("op",) if what == "op" else ("primitive", "group", "clone", "bundle")
    return next((e for e in configuration.iter() if e.tag in tags and e.get("id") == ident), None)


def _place_rule_sets(configuration: ET.Element, rule_sets: tuple[RuleSet, ...]) -> None:
    """Each attribute set with a rule inside its owner, with its score: before the owner's plain set of that kind
    when the plain one wins over it, else after it; the plain set gets a score between the two groups' (the
    highest of those it beats, else the lowest of the others' and 0), so Pacemaker ranks them all as read."""
    groups: dict[tuple[str, str], list[RuleSet]] = {}
    for rule_set in rule_sets:
        groups.setdefault((rule_set.owner, rule_set.kind), []).append(rule_set)
    for (owner_name, kind), sets in groups.items():
        owner = _owner_element(configuration, owner_name)
        if owner is None:
            continue
        under = [s.score for s in sets if s.under_plain]
        plain_score = max(under) if under else min([0, *(s.score for s in sets)])
        plain = next((child for child in owner if child.tag == kind and child.find("rule") is None), None)
        if plain is not None and plain_score:
            plain.set("score", format_score(plain_score))
        for rule_set in sets:
            block = ET.Element(kind, id=rule_set.id)
            if rule_set.score:
                block.set("score", format_score(rule_set.score))
            _rule(block, rule_set.rule)
            for name, value in rule_set.pairs:
                ET.SubElement(block, "nvpair", id=sanitize_id(f"{rule_set.id}-{name}"), name=name, value=value)
            children = list(owner)
            if plain is None:
                owner.append(block)
            elif rule_set.under_plain:
                owner.insert(children.index(plain), block)
            else:
                owner.insert(max(i for i, child in enumerate(children) if child.tag == kind) + 1, block)


def _alert_parts(element: ET.Element, owner: Alert | Recipient) -> None:
    if owner.select is not None:
        select = ET.SubElement(element, "select")
        for kind in owner.select.kinds:
            part = ET.SubElement(select, SELECT_ELEMENTS[kind])
            if kind == "attribute":
                for name in owner.select.attributes:
                    ET.SubElement(part, "attribute", id=sanitize_id(f"{owner.id}-select-{name}"), name=name)
    _set(element, "meta_attributes", owner.id, owner.meta)
    _set(element, "instance_attributes", owner.id, owner.params)


def write_alerts(parent: ET.Element, alerts: tuple[Alert, ...]) -> None:
    for alert in alerts:
        element = ET.SubElement(parent, "alert", id=alert.id, path=alert.path)
        _put(element, "description", alert.description)
        _alert_parts(element, alert)
        for recipient in alert.recipients:
            child = ET.SubElement(element, "recipient", id=recipient.id, value=recipient.value)
            _put(child, "description", recipient.description)
            _alert_parts(child, recipient)


def _implied_states(status: Status, configuration: Configuration) -> tuple[NodeState, ...]:
    """Nodes with attributes or history but no membership record yet get an (offline) node_state to hold them."""
    named = {state.name for state in status.nodes}
    wanted = [name for name, _ in status.attributes] + [f.node for f in status.fail_counts]
    wanted += [h.node for h in status.history]
    implied: list[NodeState] = []
    for name in dict.fromkeys(wanted):
        if name in named:
            continue
        node = configuration.node(name)
        info = configuration.node_info(name)
        remote = info is not None and info.kind != "cluster"
        implied.append(NodeState(name, node.id if node is not None else name,
                                 extra=Attributes.of({"remote_node": "true"} if remote else {})))
    return (*status.nodes, *implied)


def _status(parent: ET.Element, status: Status, configuration: Configuration) -> None:
    element = ET.SubElement(parent, "status")
    for state in _implied_states(status, configuration):
        node = ET.SubElement(element, "node_state", id=state.id, uname=state.name)
        _put(node, "in_ccm", state.in_ccm)
        node.set("crmd", state.crmd)
        _put(node, "join", state.join)
        _put(node, "expected", state.expected)
        for name, value in state.extra:
            node.set(name, value)
        transient = status.transient(state.name)
        for fail in status.fail_counts:
            if fail.node == state.name:
                count_name, last_name = fail_attribute_names(fail)
                transient = transient.set(count_name, str(fail.count))
                if fail.last_failure is not None:
                    transient = transient.set(last_name, str(fail.last_failure))
        if len(transient):
            block = ET.SubElement(node, "transient_attributes", id=state.id)
            _set(block, "instance_attributes", "", transient, f"status-{state.id}")
        entries = [h for h in status.history if h.node == state.name]
        if entries:
            lrm_resources = ET.SubElement(ET.SubElement(node, "lrm", id=state.id), "lrm_resources")
            for entry in entries:
                resource = ET.SubElement(lrm_resources, "lrm_resource", id=entry.resource)
                resource.set("class", entry.agent.standard)
                _put(resource, "provider", entry.agent.provider)
                resource.set("type", entry.agent.type)
                _put(resource, "container", entry.container)
                _put(resource, "shutdown-lock", entry.shutdown_lock)
                for op in entry.ops:
                    op_element = ET.SubElement(resource, "lrm_rsc_op", id=op.id)
                    _put(op_element, "operation_key", op.operation_key)
                    op_element.set("operation", op.operation)
                    op_element.set("call-id", str(op.call_id))
                    op_element.set("rc-code", str(op.rc_code))
                    op_element.set("op-status", str(op.op_status))
                    op_element.set("interval", str(op.interval_ms))
                    _put(op_element, "last-rc-change", op.last_rc_change)
                    op_element.set("exit-reason", op.exit_reason)
                    for name, value in op.extra:
                        op_element.set(name, value)
    if status.tickets:
        tickets = ET.SubElement(element, "tickets")
        for ticket in status.tickets:
            ticket_element = ET.SubElement(tickets, "ticket_state", id=ticket.id, granted=_bool(ticket.granted))
            if ticket.standby:
                ticket_element.set("standby", "true")
            for name, value in ticket.extra:
                ticket_element.set(name, value)


def cib_element(cib: Cib) -> ET.Element:
    root = ET.Element("cib")
    root.set("validate-with", cib.extra.get("validate-with") or VALIDATE_WITH)
    root.set("crm_feature_set", cib.extra.get("crm_feature_set") or FEATURE_SET)
    root.set("epoch", str(cib.epoch))
    root.set("num_updates", str(cib.num_updates))
    root.set("admin_epoch", str(cib.admin_epoch))
    root.set("have-quorum", "1" if cib.have_quorum else "0")
    _put(root, "dc-uuid", cib.dc_uuid)
    for name, value in cib.extra:
        if name not in ("validate-with", "crm_feature_set"):
            root.set(name, value)
    _configuration(root, cib.configuration)
    _status(root, cib.status, cib.configuration)
    return root


def write_cib(cib: Cib) -> str:
    root = cib_element(cib)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def fragment_xml(write, item) -> str:
    """One resource or constraint as XML (for `resource show --output-as=xml`)."""
    holder = ET.Element("holder")
    write(holder, item)
    element = holder[0]
    ET.indent(element)
    return ET.tostring(element, encoding="unicode") + "\n"
