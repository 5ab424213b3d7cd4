"""Attribute sets with a <rule>: their pairs count only where and when the rule holds (Pacemaker's conditional
instance_attributes, meta_attributes, utilization and cluster_property_set).

Rules: pure. A RuleSet belongs to an owner (a resource, an operation, a node, rsc_defaults, op_defaults or the
cluster options) and is kept beside the owner's plain pairs, which stay what every reader of the owner sees;
`effective` gives the pairs that hold in a context, ordered as Pacemaker orders sets (the higher score first,
of equal scores the one written later), the owner's plain pairs counting as one set of score 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from appliance.model.attributes import Attributes
from appliance.model.constraints import Rule
from appliance.model.resources import AgentRef
from appliance.model.rule_eval import rule_holds

CLUSTER, RSC_DEFAULTS, OP_DEFAULTS = "cluster", "rsc_defaults", "op_defaults"


def resource_owner(rid: str) -> str:
    return f"resource:{rid}"


def op_owner(op_id: str) -> str:
    return f"op:{op_id}"


def node_owner(name: str) -> str:
    return f"node:{name}"


@dataclass(frozen=True)
class RuleSet:
    owner: str                  # resource:ID, op:ID, node:NAME, rsc_defaults, op_defaults, cluster
    kind: str                   # instance_attributes, meta_attributes, utilization, cluster_property_set
    id: str
    rule: Rule
    pairs: Attributes
    score: int = 0              # orders rule sets among themselves (the higher first)
    under_plain: bool = False   # the owner's plain pairs win over it (a lower score, or equal and written before)


@dataclass(frozen=True)
class Context:
    """What rules are evaluated against; None: not known there (such expressions do not hold)."""

    now: datetime | None = None
    node: dict[str, str] | None = None            # a node's attributes (#uname, #kind, ...)
    agent: AgentRef | None = None                 # rsc_expression
    op: tuple[str, int] | None = None             # op_expression: name, interval in ms


def sets_of(rule_sets: tuple[RuleSet, ...], owner: str, kind: str) -> list[RuleSet]:
    return [s for s in rule_sets if s.owner == owner and s.kind == kind]


def conditional(rule_sets: tuple[RuleSet, ...], plain: Attributes, owner: str, kind: str,
                context: Context) -> Attributes:
    """`plain` with those of `rule_sets` that belong to `owner` and `kind` and hold in `context`."""
    if not rule_sets:
        return plain
    return effective(plain, sets_of(rule_sets, owner, kind), context)


def effective(plain: Attributes, sets: list[RuleSet], context: Context) -> Attributes:
    if not sets:
        return plain
    holding = [(position, s) for position, s in enumerate(sets) if rule_holds(s.rule, context)]
    if not holding:
        return plain
    ranked = sorted(holding, key=lambda e: (e[1].under_plain, -e[1].score, -e[0]))
    over = [s.pairs for _, s in ranked if not s.under_plain]
    under = [s.pairs for _, s in ranked if s.under_plain]
    return Attributes.of(pair for attrs in (*over, plain, *under) for pair in attrs)
