"""Constraints: location (with rules), colocation, order, ticket (rsc_ticket), and resource sets.

Rules: scores are ints clamped to +-INFINITY (values.parse_score); a constraint
names resources either directly or through resource sets, never both; role and
action names are Pacemaker's current ones (Promoted/Unpromoted, start/promote).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.model.attributes import Attributes


@dataclass(frozen=True)
class Expression:
    """<expression attribute=... operation=... value=...>: a node-attribute test."""

    id: str
    attribute: str
    operation: str                 # lt gt lte gte eq ne defined not_defined
    value: str | None = None
    type: str | None = None        # string integer number version
    value_source: str | None = None


@dataclass(frozen=True)
class DateExpression:
    """<date_expression>: kept verbatim (in_range/gt/lt/date_spec); evaluated by the scheduler."""

    id: str
    operation: str
    options: Attributes = field(default_factory=Attributes)       # start, end
    date_spec: Attributes | None = None                           # <date_spec> attributes
    duration: Attributes | None = None                            # <duration> attributes


@dataclass(frozen=True)
class RscExpression:
    """<rsc_expression class= provider= type=> (rsc_defaults/op_defaults rules): which resources a set is for."""

    id: str
    standard: str | None = None
    provider: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class OpExpression:
    """<op_expression name= interval=> (op_defaults rules): which operations a set is for."""

    id: str
    name: str
    interval_ms: int | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    items: tuple[Expression | DateExpression | RscExpression | OpExpression | Rule, ...]
    score: int | None = None
    score_attribute: str | None = None
    boolean_op: str = "and"
    role: str | None = None


@dataclass(frozen=True)
class ResourceSet:
    id: str
    resources: tuple[str, ...]
    sequential: bool | None = None
    require_all: bool | None = None
    ordering: str | None = None
    action: str | None = None
    role: str | None = None
    score: int | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Location:
    id: str
    rsc: str | None = None
    rsc_pattern: str | None = None
    node: str | None = None
    score: int | None = None
    role: str | None = None
    rules: tuple[Rule, ...] = ()
    sets: tuple[ResourceSet, ...] = ()
    resource_discovery: str | None = None


@dataclass(frozen=True)
class Colocation:
    id: str
    score: int
    rsc: str | None = None
    with_rsc: str | None = None
    rsc_role: str | None = None
    with_rsc_role: str | None = None
    sets: tuple[ResourceSet, ...] = ()
    node_attribute: str | None = None
    influence: bool | None = None


@dataclass(frozen=True)
class Order:
    id: str
    first: str | None = None
    then: str | None = None
    first_action: str | None = None
    then_action: str | None = None
    kind: str | None = None          # Mandatory Optional Serialize
    score: int | None = None         # deprecated score form
    symmetrical: bool | None = None
    require_all: bool | None = None
    sets: tuple[ResourceSet, ...] = ()


@dataclass(frozen=True)
class TicketConstraint:
    """<rsc_ticket>: `rsc` (in `rsc_role`, or the resources of `sets`) may run only while `ticket` is granted;
    `loss_policy` says what happens when it is revoked (stop, demote, fence, freeze; default demote for the
    Promoted role, else stop)."""

    id: str
    ticket: str
    rsc: str | None = None
    rsc_role: str | None = None
    loss_policy: str | None = None
    sets: tuple[ResourceSet, ...] = ()


Constraint = Location | Colocation | Order | TicketConstraint
LOSS_POLICIES = ("stop", "demote", "fence", "freeze")


def referenced_resources(constraint: Constraint) -> tuple[str, ...]:
    direct: tuple[str | None, ...]
    if isinstance(constraint, Location):
        direct = (constraint.rsc,)
    elif isinstance(constraint, Colocation):
        direct = (constraint.rsc, constraint.with_rsc)
    elif isinstance(constraint, TicketConstraint):
        direct = (constraint.rsc,)
    else:
        direct = (constraint.first, constraint.then)
    from_sets = tuple(rid for resource_set in constraint.sets for rid in resource_set.resources)
    return tuple(rid for rid in direct if rid) + from_sets


def kind_name(constraint: Constraint) -> str:
    kinds = {Location: "location", Colocation: "colocation", Order: "order", TicketConstraint: "ticket"}
    return kinds[type(constraint)]
