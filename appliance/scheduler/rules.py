"""Evaluate location rules against a node's attributes, as Pacemaker's rule engine does.

Rules: expressions compare as Pacemaker does (type from the expression, else
integer when both sides parse as integers... Pacemaker 2.1 defaults to string
unless a type is given, with number comparison for lt/gt on numeric values);
a missing attribute fails every comparison except not_defined and ne;
date expressions are evaluated against `now`.
"""

from __future__ import annotations

from datetime import datetime

from appliance.model.constraints import DateExpression, Expression, Rule
from appliance.model.values import INFINITY, parse_score


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))


def _compare(kind: str, left: str, right: str) -> int | None:
    if kind in ("integer", "number"):
        a, b = _number(left), _number(right)
        if a is None or b is None:
            return None
        if kind == "integer":
            a, b = int(a), int(b)
        return (a > b) - (a < b)
    if kind == "version":
        a_v, b_v = _version(left), _version(right)
        return (a_v > b_v) - (a_v < b_v)
    return (left.lower() > right.lower()) - (left.lower() < right.lower())


def expression_matches(expression: Expression, attrs: dict[str, str]) -> bool:
    value = attrs.get(expression.attribute)
    operation = expression.operation
    if operation == "defined":
        return value is not None
    if operation == "not_defined":
        return value is None
    if value is None:
        return operation == "ne"
    expected = expression.value or ""
    kind = expression.type
    if kind is None:
        numeric = _number(value) is not None and _number(expected) is not None
        kind = "number" if numeric and operation in ("lt", "gt", "lte", "gte") else "string"
    if operation == "eq" and kind == "string":
        return value.lower() == expected.lower()
    if operation == "ne" and kind == "string":
        return value.lower() != expected.lower()
    result = _compare(kind, value, expected)
    if result is None:
        return operation == "ne"
    return {"eq": result == 0, "ne": result != 0, "lt": result < 0, "gt": result > 0, "lte": result <= 0,
            "gte": result >= 0}.get(operation, False)


def _date_matches(expression: DateExpression, now: datetime) -> bool:
    def parse(text: str | None) -> datetime | None:
        if not text:
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None

    start, end = parse(expression.options.get("start")), parse(expression.options.get("end"))
    if expression.operation == "gt":
        return start is not None and now > start
    if expression.operation == "lt":
        return end is not None and now < end
    if expression.operation == "in_range":
        return (start is None or now >= start) and (end is None or now <= end)
    return False


def rule_matches(rule: Rule, attrs: dict[str, str], now: datetime) -> bool:
    results = []
    for item in rule.items:
        if isinstance(item, Rule):
            results.append(rule_matches(item, attrs, now))
        elif isinstance(item, Expression):
            results.append(expression_matches(item, attrs))
        else:
            results.append(_date_matches(item, now))
    return any(results) if rule.boolean_op == "or" else all(results)


def rule_score(rule: Rule, attrs: dict[str, str]) -> int:
    if rule.score is not None:
        return rule.score
    value = attrs.get(rule.score_attribute or "")
    if value is None:
        return 0
    try:
        return parse_score(value)
    except Exception:
        return 0


__all__ = ["INFINITY", "rule_matches", "rule_score"]
