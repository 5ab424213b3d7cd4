"""Read Pacemaker CIB XML (a whole <cib> or a fragment) into the model.

Rules: accept exactly what Pacemaker writes for the features drover models,
including legacy spellings (<master>, Master/Slave roles, score on orders);
refuse everything else with an error naming the element and its line rather
than dropping it silently. The result is validated (cluster.validate).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from appliance.model import rule_sets as owners
from appliance.model.alerts import Alert
from appliance.model.attributes import Attributes
from appliance.model.bundles import Bundle
from appliance.model.cluster import Cib, Configuration, validate
from appliance.model.collector import collector_paused
from appliance.model.constraints import (
    Colocation,
    Constraint,
    DateExpression,
    Expression,
    Location,
    OpExpression,
    Order,
    ResourceSet,
    RscExpression,
    Rule,
    TicketConstraint,
)
from appliance.model.fencing import FencingLevel
from appliance.model.nodes import Node
from appliance.model.references import Tag, made_from
from appliance.model.resources import (
    AgentRef,
    Clone,
    Group,
    Op,
    Primitive,
    Resource,
    Template,
    TemplateUse,
    agent_problem,
)
from appliance.model.rule_sets import RuleSet
from appliance.model.sections_read import read_acls, read_alerts, read_bundle, read_fencing_levels
from appliance.model.status import Status
from appliance.model.status_read import read_status
from appliance.model.values import (
    INFINITY,
    ModelError,
    is_true,
    parse_action,
    parse_boolean,
    parse_interval_ms,
    parse_role,
    parse_score,
)
from appliance.model.xmltree import Document, parse

RESOURCE_TAGS = ("primitive", "group", "clone", "master")
ON_FAIL = ("ignore", "block", "stop", "restart", "standby", "fence", "restart-container", "demote")
CONSTRAINT_TAGS = ("rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket")
UNSUPPORTED: dict[str, str] = {}


@dataclass(frozen=True)
class Fragment:
    """What an import file brings: a whole CIB, or resources and constraints to add."""

    cib: Cib | None = None
    resources: tuple[Resource, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    has_status: bool = False
    templates: tuple[Template, ...] = ()


# What has no bearing on scheduling: `drover simulate` reads past it (an import still refuses what it would lose):
# a <node_state> without an id (Pacemaker's unpacking ignores one, with a warning), and a colocation's influence
# that is no boolean (Pacemaker uses the default, the resource's critical flag).
UNNAMED_NODE_STATE = "node_state without id"
INVALID_INFLUENCE = "invalid influence"
SIMULATED = (UNNAMED_NODE_STATE, INVALID_INFLUENCE)


class _Reader:
    def __init__(self, document: Document, source: str, skipped: tuple[str, ...] = (),
                 known_templates: tuple[Template, ...] = ()):
        self.document = document
        self.source = source
        self.skipped = skipped
        self.rule_sets: list[RuleSet] = []
        self._ids: dict[str | None, ET.Element] | None = None      # for id-ref, built when first needed
        # id -> the template and its element (None: one stored before, whose blocks are its attributes)
        self.templates: dict[str, tuple[Template, ET.Element | None]] = {t.id: (t, None) for t in known_templates}
        self.bundles: list[Bundle] = []

    def fail(self, element: ET.Element, message: str) -> ModelError:
        return ModelError(f"{self.source}: {self.document.where(element)}: {message}")

    def required(self, element: ET.Element, name: str) -> str:
        value = element.get(name)
        if value is None or value == "":
            raise self.fail(element, f"missing required attribute '{name}'")
        return value

    def check_attributes(self, element: ET.Element, allowed: tuple[str, ...]) -> None:
        for name in element.attrib:
            if name not in allowed:
                raise self.fail(element, f"unknown attribute '{name}'")

    def check_children(self, element: ET.Element, allowed: tuple[str, ...]) -> None:
        for child in element:
            if child.tag in self.skipped:
                continue
            if child.tag in UNSUPPORTED:
                raise self.fail(child, f"{UNSUPPORTED[child.tag]} are not supported by drover")
            if child.tag not in allowed:
                raise self.fail(child, f"unexpected element inside <{element.tag}>")

    def converted(self, element: ET.Element, convert, text: str, what: str):
        try:
            return convert(text, what)
        except ModelError as error:
            raise self.fail(element, error.message) from None

    # -- nvpair sets -------------------------------------------------------------------------------------------

    def nvset(self, element: ET.Element, tag: str, owner: str | None = None) -> Attributes:
        return self.nvsets(element.findall(tag), owner)

    def nvsets(self, blocks: list[ET.Element], owner: str | None = None) -> Attributes:
        """Pacemaker's order: the set with the highest score first, and of equal scores the last written; within
        a set the first pair of a name counts (Attributes.of keeps the first). A set with a <rule> (where `owner`
        allows one) goes to self.rule_sets instead, ranked against the plain ones."""
        scored = []
        ruled = []
        for position, block in enumerate(blocks):
            self.check_attributes(block, ("id", "id-ref", "score"))
            self.check_children(block, ("nvpair", "rule") if owner is not None else ("nvpair",))
            score = block.get("score")
            rank = self.converted(block, parse_score, score, "score") if score else 0
            if owner == owners.CLUSTER and block.get("id") == "cib-bootstrap-options":
                rank = INFINITY + 1                     # Pacemaker ranks it before every other set
            entry = (rank, position, block)
            (ruled if block.find("rule") is not None else scored).append(entry)
        pairs: list[tuple[str, str]] = []
        for _score, _position, block in sorted(scored, key=lambda item: (-item[0], -item[1])):
            pairs.extend(self.pairs(block))
        if ruled:
            assert owner is not None
            plain_score, plain_position = max(((s, p) for s, p, _ in scored), default=(0, -1))
            for score, position, block in ruled:
                rules = block.findall("rule")
                if len(rules) != 1:
                    raise self.fail(block, "an attribute set has at most one <rule>")
                self.rule_sets.append(RuleSet(owner, block.tag, self.required(block, "id"),
                                              self.rule(rules[0], top=False), Attributes.of(self.pairs(block)),
                                              min(score, INFINITY), (score, position) < (plain_score, plain_position)))
        return Attributes.of(pairs)

    def pairs(self, block: ET.Element) -> list[tuple[str, str]]:
        """A set's pairs; an nvpair with id-ref takes what it does not say itself from the nvpair it names."""
        block = self.referenced(block)
        found = []
        for pair in block.findall("nvpair"):
            self.check_attributes(pair, ("id", "name", "value", "id-ref"))
            target = self.referenced(pair)
            name = pair.get("name") or target.get("name")
            if not name:
                raise self.fail(pair, "missing required attribute 'name'")
            found.append((name, pair.get("value", target.get("value", ""))))
        return found

    def referenced(self, element: ET.Element) -> ET.Element:
        """The element an id-ref names (an element of the same kind), else the element itself."""
        ref = element.get("id-ref")
        if ref is None:
            return element
        if self._ids is None:
            self._ids = {e.get("id"): e for e in self.document.root.iter() if e.get("id") is not None}
        target = self._ids.get(ref)
        if target is None or target.tag != element.tag:
            raise self.fail(element, f"id-ref '{ref}' names no <{element.tag}>")
        return target

    # -- resources ---------------------------------------------------------------------------------------------

    def op(self, element: ET.Element) -> Op:
        self.check_children(element, ("instance_attributes", "meta_attributes"))
        name = self.required(element, "name")
        interval_ms = self.converted(element, parse_interval_ms, element.get("interval", "0"), "interval")
        timeout = element.get("timeout")
        if timeout is not None:
            self.converted(element, parse_interval_ms, timeout, "timeout")
        on_fail = element.get("on-fail")
        if on_fail is not None and on_fail not in ON_FAIL:
            raise self.fail(element, f"invalid on-fail '{on_fail}': expected one of {', '.join(ON_FAIL)}")
        role = element.get("role")
        known = ("id", "name", "interval", "role", "timeout", "on-fail")
        options = Attributes.of((k, v) for k, v in element.attrib.items() if k not in known)
        return Op(self.required(element, "id"), name, interval_ms,
                  self.converted(element, parse_role, role, "role") if role else None,
                  timeout, on_fail, options,
                  self.nvset(element, "instance_attributes", owners.op_owner(element.get("id", ""))),
                  self.nvset(element, "meta_attributes", owners.op_owner(element.get("id", ""))))

    def operations(self, element: ET.Element) -> tuple[Op, ...]:
        ops: list[Op] = []
        for operations in element.findall("operations"):
            self.check_children(operations, ("op",))
            ops.extend(self.op(op) for op in operations.findall("op"))
        return tuple(ops)

    def agent(self, element: ET.Element) -> AgentRef:
        standard = self.required(element, "class")
        problem = agent_problem(standard, element.get("provider"), self.required(element, "type"))
        if problem is not None:
            raise self.fail(element, problem)
        return AgentRef(standard, self.required(element, "type"), element.get("provider"))

    def template(self, element: ET.Element) -> Template:
        self.check_attributes(element, ("id", "class", "provider", "type", "description"))
        self.check_children(element, ("instance_attributes", "meta_attributes", "operations", "utilization"))
        return Template(self.required(element, "id"), self.agent(element), self.nvset(element, "instance_attributes"),
                        self.nvset(element, "meta_attributes"), self.operations(element),
                        self.nvset(element, "utilization"), element.get("description"))

    def primitive(self, element: ET.Element) -> Primitive:
        self.check_attributes(element, ("id", "class", "provider", "type", "description", "template"))
        self.check_children(element, ("instance_attributes", "meta_attributes", "operations", "utilization"))
        if element.get("template") is not None:
            return self.from_template(element)
        owner = owners.resource_owner(self.required(element, "id"))
        return Primitive(self.required(element, "id"), self.agent(element),
                         self.nvset(element, "instance_attributes", owner),
                         self.nvset(element, "meta_attributes", owner), self.operations(element),
                         self.nvset(element, "utilization", owner), element.get("description"))

    def from_template(self, element: ET.Element) -> Primitive:
        """A primitive made from a template: the template's sets come before its own, as Pacemaker 2.1.5
        expands them (so its own win unless a template's set has a higher score)."""
        name, rid = element.get("template", ""), self.required(element, "id")
        if any(element.get(attribute) is not None for attribute in ("class", "provider", "type")):
            raise self.fail(element, "a primitive made from a template takes its class, provider and type from it")
        if name == rid:
            raise self.fail(element, f"primitive '{rid}' cannot be made from itself")
        if name not in self.templates:
            raise self.fail(element, f"no template named '{name}'")
        template, template_element = self.templates[name]
        use = TemplateUse(name, self.nvset(element, "instance_attributes"), self.nvset(element, "meta_attributes"),
                          self.operations(element), self.nvset(element, "utilization"))
        made = made_from(template, use, rid, element.get("description"))
        if template_element is None:
            return made
        sets = {tag: self.nvsets(template_element.findall(tag) + element.findall(tag))
                for tag in ("instance_attributes", "meta_attributes", "utilization")}
        return replace(made, params=sets["instance_attributes"], meta=sets["meta_attributes"],
                       utilization=sets["utilization"])

    def group(self, element: ET.Element) -> Group:
        self.check_attributes(element, ("id", "description"))
        self.check_children(element, ("primitive", "meta_attributes", "instance_attributes"))
        members = tuple(self.primitive(child) for child in element.findall("primitive"))
        if not members:
            raise self.fail(element, "a group needs at least one primitive")
        return Group(self.required(element, "id"), members,
                     self.nvset(element, "meta_attributes", owners.resource_owner(self.required(element, "id"))),
                     element.get("description"))

    def clone(self, element: ET.Element) -> Clone:
        self.check_attributes(element, ("id", "description"))
        self.check_children(element, ("primitive", "group", "meta_attributes", "instance_attributes"))
        children = [child for child in element if child.tag in ("primitive", "group")]
        if len(children) != 1:
            raise self.fail(element, "a clone wraps exactly one primitive or group")
        child = children[0]
        inner = self.primitive(child) if child.tag == "primitive" else self.group(child)
        meta = self.nvset(element, "meta_attributes", owners.resource_owner(self.required(element, "id")))
        if element.tag == "master" and not is_true(meta.get("promotable")):
            meta = meta.set("promotable", "true")
        return Clone(self.required(element, "id"), inner, meta, element.get("description"))

    def bundle(self, element: ET.Element, position: int) -> Bundle:
        return read_bundle(self, element, position)

    def resource(self, element: ET.Element) -> Resource:
        if element.tag == "primitive":
            return self.primitive(element)
        if element.tag == "group":
            return self.group(element)
        return self.clone(element)

    def resources(self, element: ET.Element) -> tuple[Resource, ...]:
        """The resources; the templates among them (read first: a primitive may come before its template) are
        left in self.templates."""
        self.check_children(element, (*RESOURCE_TAGS, "template", "bundle"))
        for child in element.findall("template"):
            template = self.template(child)
            self.templates[template.id] = (template, child)
        found: list[Resource] = []
        for position, child in enumerate(c for c in element if c.tag != "template"):
            if child.tag == "bundle":
                self.bundles.append(self.bundle(child, position))
            else:
                found.append(self.resource(child))
        return tuple(found)

    def read_templates(self) -> tuple[Template, ...]:
        return tuple(template for template, element in self.templates.values() if element is not None)

    def tags(self, element: ET.Element | None) -> tuple[Tag, ...]:
        if element is None:
            return ()
        self.check_children(element, ("tag",))
        tags = []
        for tag in element.findall("tag"):
            self.check_attributes(tag, ("id",))
            self.check_children(tag, ("obj_ref",))
            refs = []
            for ref in tag.findall("obj_ref"):
                self.check_attributes(ref, ("id",))
                refs.append(self.required(ref, "id"))
            tags.append(Tag(self.required(tag, "id"), tuple(refs)))
        return tuple(tags)

    # -- constraints -------------------------------------------------------------------------------------------

    def expression(self, element: ET.Element) -> Expression:
        self.check_attributes(element, ("id", "attribute", "operation", "value", "type", "value-source"))
        operation = self.required(element, "operation")
        allowed = ("lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined")
        if operation not in allowed:
            raise self.fail(element, f"invalid operation '{operation}': expected one of {', '.join(allowed)}")
        if operation not in ("defined", "not_defined") and element.get("value") is None:
            raise self.fail(element, f"operation '{operation}' needs a value")
        return Expression(self.required(element, "id"), self.required(element, "attribute"), operation,
                          element.get("value"), element.get("type"), element.get("value-source"))

    def date_expression(self, element: ET.Element) -> DateExpression:
        self.check_children(element, ("date_spec", "duration"))
        spec, duration = element.find("date_spec"), element.find("duration")
        options = Attributes.of((k, v) for k, v in element.attrib.items() if k not in ("id", "operation"))
        return DateExpression(self.required(element, "id"), self.required(element, "operation"), options,
                              Attributes.of(spec.attrib) if spec is not None else None,
                              Attributes.of(duration.attrib) if duration is not None else None)

    def rule(self, element: ET.Element, top: bool) -> Rule:
        self.check_attributes(element, ("id", "score", "score-attribute", "boolean-op", "role"))
        self.check_children(element, ("expression", "date_expression", "rule", "rsc_expression", "op_expression"))
        items: list[Expression | DateExpression | RscExpression | OpExpression | Rule] = []
        for child in element:
            if child.tag == "expression":
                items.append(self.expression(child))
            elif child.tag == "date_expression":
                items.append(self.date_expression(child))
            elif child.tag == "rsc_expression":
                self.check_attributes(child, ("id", "class", "provider", "type"))
                items.append(RscExpression(self.required(child, "id"), child.get("class"), child.get("provider"),
                                           child.get("type")))
            elif child.tag == "op_expression":
                self.check_attributes(child, ("id", "name", "interval"))
                interval = child.get("interval")
                items.append(OpExpression(self.required(child, "id"), self.required(child, "name"),
                                          self.converted(child, parse_interval_ms, interval, "interval")
                                          if interval is not None else None))
            else:
                items.append(self.rule(child, top=False))
        if not items:
            raise self.fail(element, "a rule needs at least one expression")
        score = element.get("score")
        if top and score is None and element.get("score-attribute") is None:
            raise self.fail(element, "a location rule needs a score or score-attribute")
        boolean_op = element.get("boolean-op", "and")
        if boolean_op not in ("and", "or"):
            raise self.fail(element, f"invalid boolean-op '{boolean_op}': expected and or or")
        role = element.get("role")
        return Rule(self.required(element, "id"), tuple(items),
                    self.converted(element, parse_score, score, "score") if score is not None else None,
                    element.get("score-attribute"), boolean_op,
                    self.converted(element, parse_role, role, "role") if role else None)

    def influence(self, element: ET.Element) -> bool | None:
        text = element.get("influence")
        if text is not None and INVALID_INFLUENCE in self.skipped:
            try:
                return parse_boolean(text, "influence")
            except ModelError:
                return None
        return self.optional(element, "influence", parse_boolean)

    def optional(self, element: ET.Element, name: str, convert):
        value = element.get(name)
        return None if value is None else self.converted(element, convert, value, name)

    def resource_sets(self, element: ET.Element) -> tuple[ResourceSet, ...]:
        sets = []
        for block in element.findall("resource_set"):
            self.check_attributes(block, ("id", "sequential", "require-all", "ordering", "action", "role", "score",
                                          "kind"))
            self.check_children(block, ("resource_ref",))
            refs = tuple(self.required(ref, "id") for ref in block.findall("resource_ref"))
            if not refs:
                raise self.fail(block, "a resource set needs at least one resource_ref")
            sets.append(ResourceSet(self.required(block, "id"), refs, self.optional(block, "sequential", parse_boolean),
                                    self.optional(block, "require-all", parse_boolean), block.get("ordering"),
                                    self.optional(block, "action", parse_action),
                                    self.optional(block, "role", parse_role),
                                    self.optional(block, "score", parse_score),
                                    block.get("kind")))
        return tuple(sets)

    def location(self, element: ET.Element) -> Location:
        self.check_attributes(element, ("id", "rsc", "rsc-pattern", "node", "score", "role", "resource-discovery"))
        self.check_children(element, ("rule", "resource_set"))
        rules = tuple(self.rule(child, top=True) for child in element.findall("rule"))
        if element.get("node") is not None and rules:
            raise self.fail(element, "a location constraint has either node and score, or rules")
        return Location(self.required(element, "id"), element.get("rsc"), element.get("rsc-pattern"),
                        element.get("node"), self.optional(element, "score", parse_score),
                        self.optional(element, "role", parse_role), rules, self.resource_sets(element),
                        element.get("resource-discovery"))

    def colocation(self, element: ET.Element) -> Colocation:
        self.check_attributes(element, ("id", "rsc", "with-rsc", "score", "rsc-role", "with-rsc-role",
                                        "node-attribute", "influence"))
        self.check_children(element, ("resource_set",))
        return Colocation(self.required(element, "id"),
                          self.converted(element, parse_score, self.required(element, "score"), "score"),
                          element.get("rsc"), element.get("with-rsc"), self.optional(element, "rsc-role", parse_role),
                          self.optional(element, "with-rsc-role", parse_role), self.resource_sets(element),
                          element.get("node-attribute"), self.influence(element))

    def order(self, element: ET.Element) -> Order:
        self.check_attributes(element, ("id", "first", "then", "first-action", "then-action", "kind", "score",
                                        "symmetrical", "require-all"))
        self.check_children(element, ("resource_set",))
        kind = element.get("kind")
        if kind is not None and kind not in ("Mandatory", "Optional", "Serialize"):
            raise self.fail(element, f"invalid kind '{kind}': expected Mandatory, Optional or Serialize")
        return Order(self.required(element, "id"), element.get("first"), element.get("then"),
                     self.optional(element, "first-action", parse_action),
                     self.optional(element, "then-action", parse_action), kind,
                     self.optional(element, "score", parse_score), self.optional(element, "symmetrical", parse_boolean),
                     self.optional(element, "require-all", parse_boolean), self.resource_sets(element))

    def ticket(self, element: ET.Element) -> TicketConstraint:
        self.check_attributes(element, ("id", "ticket", "rsc", "rsc-role", "loss-policy"))
        self.check_children(element, ("resource_set",))       # loss-policy is checked by validate()
        return TicketConstraint(self.required(element, "id"), self.required(element, "ticket"), element.get("rsc"),
                                self.optional(element, "rsc-role", parse_role), element.get("loss-policy"),
                                self.resource_sets(element))

    def constraint(self, element: ET.Element) -> Constraint:
        if element.tag == "rsc_location":
            return self.location(element)
        if element.tag == "rsc_colocation":
            return self.colocation(element)
        if element.tag == "rsc_ticket":
            return self.ticket(element)
        return self.order(element)

    def constraints(self, element: ET.Element) -> tuple[Constraint, ...]:
        self.check_children(element, CONSTRAINT_TAGS)
        return tuple(self.constraint(child) for child in element if child.tag in CONSTRAINT_TAGS)

    # -- configuration -----------------------------------------------------------------------------------------

    def nodes(self, element: ET.Element) -> tuple[Node, ...]:
        self.check_children(element, ("node",))
        nodes = []
        for node in element.findall("node"):
            self.check_attributes(node, ("id", "uname", "type", "description", "score"))
            self.check_children(node, ("instance_attributes", "utilization"))
            node_type = node.get("type", "member")
            if node_type == "normal":
                node_type = "member"
            if node_type not in ("member", "remote", "ping"):
                raise self.fail(node, f"invalid node type '{node_type}'")
            nodes.append(Node(self.required(node, "uname"), self.required(node, "id"), node_type,
                              self.nvset(node, "instance_attributes", owners.node_owner(node.get("uname", ""))),
                              self.nvset(node, "utilization", owners.node_owner(node.get("uname", ""))),
                              node.get("description")))
        return tuple(nodes)

    def alerts(self, element: ET.Element | None) -> tuple[Alert, ...]:
        return read_alerts(self, element)

    def options(self, element: ET.Element | None, tag: str, owner: str) -> Attributes:
        if element is None:
            return Attributes()
        self.check_children(element, (tag,))
        return self.nvset(element, tag, owner)

    def configuration(self, element: ET.Element) -> Configuration:
        self.check_children(element, ("crm_config", "nodes", "resources", "constraints", "rsc_defaults",
                                      "op_defaults", "fencing-topology", "tags", "alerts", "acls"))
        nodes = element.find("nodes")
        resources = element.find("resources")
        constraints = element.find("constraints")
        return Configuration(
            self.nodes(nodes) if nodes is not None else (),
            self.resources(resources) if resources is not None else (),
            self.constraints(constraints) if constraints is not None else (),
            self.options(element.find("crm_config"), "cluster_property_set", owners.CLUSTER),
            self.options(element.find("rsc_defaults"), "meta_attributes", owners.RSC_DEFAULTS),
            self.options(element.find("op_defaults"), "meta_attributes", owners.OP_DEFAULTS),
            self.fencing_levels(element.find("fencing-topology")),
            self.read_templates(), self.tags(element.find("tags")), self.alerts(element.find("alerts")),
            tuple(self.rule_sets), tuple(self.bundles), self.acls(element.find("acls")))

    def acls(self, element: ET.Element | None) -> str | None:
        return read_acls(self, element)

    def fencing_levels(self, element: ET.Element | None) -> tuple[FencingLevel, ...]:
        return read_fencing_levels(self, element)

    def cib(self, element: ET.Element) -> Cib:
        self.check_children(element, ("configuration", "status"))
        configuration = element.find("configuration")
        if configuration is None:
            raise self.fail(element, "a CIB needs a <configuration> section")
        counters = {}
        for name in ("epoch", "admin_epoch", "num_updates"):
            value = element.get(name, "0")
            if not value.isdigit():
                raise self.fail(element, f"invalid {name} '{value}': expected a non-negative integer")
            counters[name] = int(value)
        known = ("epoch", "admin_epoch", "num_updates", "have-quorum", "dc-uuid")
        extra = Attributes.of((k, v) for k, v in element.attrib.items() if k not in known)
        status_element = element.find("status")
        status = read_status(status_element, self.fail, UNNAMED_NODE_STATE in self.skipped) \
            if status_element is not None else Status()
        return Cib(self.configuration(configuration), status, counters["epoch"], counters["admin_epoch"],
                   counters["num_updates"], is_true(element.get("have-quorum", "1")), element.get("dc-uuid"), extra)


def _validated(configuration: Configuration, source: str) -> Configuration:
    try:
        return validate(configuration)
    except ModelError as error:
        raise ModelError(f"{source}: {error.message}") from None


def read_cib(data: bytes, source: str, skipped: tuple[str, ...] = ()) -> Cib:
    """A whole <cib> document; `skipped`: what an import would refuse but a simulation reads (SIMULATED)."""
    with collector_paused():
        document = parse(data, source)
        if document.root.tag != "cib":
            raise ModelError(f"{source}: expected a <cib> document, found <{document.root.tag}>")
        cib = _Reader(document, source, skipped).cib(document.root)
        _validated(cib.configuration, source)
        return cib


def read_fragment(data: bytes, source: str, known_templates: tuple[Template, ...] = ()) -> Fragment:
    """A whole <cib>, <configuration>, <resources>, <constraints>, or one resource or constraint; a primitive in a
    part may be made from a template of the part or from one of `known_templates` (those already stored)."""
    document = parse(data, source)
    root = document.root
    reader = _Reader(document, source, known_templates=known_templates)
    if root.tag == "cib":
        return Fragment(cib=read_cib(data, source), has_status=root.find("status") is not None)
    if root.tag == "configuration":
        return Fragment(cib=Cib(_validated(reader.configuration(root), source)))
    if root.tag == "resources":
        fragment = Fragment(resources=reader.resources(root), templates=reader.read_templates())
        if reader.bundles:
            raise ModelError(f"{source}: bundles come with a whole CIB or <configuration>, not a <resources> part")
        return fragment
    if root.tag == "bundle":
        raise ModelError(f"{source}: bundles come with a whole CIB or <configuration>, not as a part")
    if root.tag == "constraints":
        return Fragment(constraints=reader.constraints(root))
    if root.tag in RESOURCE_TAGS:
        return Fragment(resources=(reader.resource(root),))
    if root.tag == "template":
        return Fragment(templates=(reader.template(root),))
    if root.tag in CONSTRAINT_TAGS:
        return Fragment(constraints=(reader.constraint(root),))
    if root.tag in UNSUPPORTED:
        raise reader.fail(root, f"{UNSUPPORTED[root.tag]} are not supported by drover")
    raise reader.fail(root, "expected <cib>, <configuration>, <resources>, <constraints>, a resource, a template "
                            "or a constraint")
