"""Evaluate rules as Pacemaker's rule engine does: location rules against a node's attributes, and the rules of
conditional attribute sets (rule_sets) against a Context (node, time, resource agent, operation).

Rules: expressions compare as Pacemaker does (type from the expression, else
integer when both sides parse as integers... Pacemaker 2.1 defaults to string
unless a type is given, with number comparison for lt/gt on numeric values);
a missing attribute fails every comparison except not_defined and ne;
date expressions are evaluated against `now`.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from appliance.model.constraints import DateExpression, Expression, OpExpression, RscExpression, Rule
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
        if a is None or b is None:       # as Pacemaker: what does not parse as a number compares as a string
            return _compare("string", left, right)
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


_ORDINAL = re.compile(r"(\d{4})-(\d{3})(?:[T ](.*))?")
_SPACED_OFFSET = re.compile(r" ([+-]\d{2}:?\d{2})$")         # "2019-09-23 18:00:00 -05:00"
_WEEK = re.compile(r"(\d{4})-?W(\d{2})-?(\d)(?:[T ](.*))?")


def parse_iso8601(text: str) -> datetime | None:
    """An ISO 8601 date and time as Pacemaker reads them: calendar (2005-01-31), ordinal (2005-031) or week
    (2005-W05-1) dates, with an optional time (T or space, then HH:MM:SS, Z or an offset); naive UTC."""
    text = text.strip()
    for form, make in ((_ORDINAL, lambda m: datetime(int(m[1]), 1, 1) + timedelta(days=int(m[2]) - 1)),
                       (_WEEK, lambda m: datetime.fromisocalendar(int(m[1]), int(m[2]), int(m[3])))):
        match = form.fullmatch(text)
        if match:
            try:
                day = make(match)
            except ValueError:
                return None
            clock = match.groups()[-1]
            text = day.strftime("%Y-%m-%d") + (f"T{clock}" if clock else "")
            break
    text = _SPACED_OFFSET.sub(r"\1", text.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _date_matches(expression: DateExpression, now: datetime) -> bool:
    def parse(text: str | None) -> datetime | None:
        return parse_iso8601(text) if text else None

    start, end = parse(expression.options.get("start")), parse(expression.options.get("end"))
    if expression.operation == "gt":
        return start is not None and now > start
    if expression.operation == "lt":
        return end is not None and now < end
    if expression.operation == "in_range":
        return (start is None or now >= start) and (end is None or now <= end)
    return False


_SPEC_FIELDS = {"years": lambda d: d.year, "months": lambda d: d.month, "monthdays": lambda d: d.day,
                "hours": lambda d: d.hour, "minutes": lambda d: d.minute, "seconds": lambda d: d.second,
                "weekdays": lambda d: d.isoweekday(), "yeardays": lambda d: d.timetuple().tm_yday,
                "weeks": lambda d: d.isocalendar()[1], "weekyears": lambda d: d.isocalendar()[0]}


def _in_range(text: str, value: int) -> bool:
    low, sep, high = text.partition("-")
    try:
        if not sep:
            return value == int(low)
        return (not low or value >= int(low)) and (not high or value <= int(high))
    except ValueError:
        return False


def _date_spec_matches(spec, now: datetime) -> bool:
    return all(_in_range(text, _SPEC_FIELDS[name](now)) for name, text in spec if name in _SPEC_FIELDS)


def _date_holds(expression: DateExpression, now: datetime) -> bool:
    if expression.operation == "date_spec":
        return expression.date_spec is not None and _date_spec_matches(expression.date_spec, now)
    return _date_matches(expression, now)


def _sourced(expression: Expression, params: dict[str, str] | None, meta: dict[str, str] | None) -> Expression:
    """value-source=param|meta: the value is the named parameter or meta attribute of the constrained resource
    (unset: the comparison has nothing to compare with)."""
    if expression.value_source in ("param", "meta"):
        source = params if expression.value_source == "param" else meta
        value = (source or {}).get(expression.value or "")
        return dataclasses.replace(expression, value=value, value_source=None)
    return expression


def rule_matches(rule: Rule, attrs: dict[str, str], now: datetime, params: dict[str, str] | None = None,
                 meta: dict[str, str] | None = None) -> bool:
    results = []
    for item in rule.items:
        if isinstance(item, Rule):
            results.append(rule_matches(item, attrs, now, params, meta))
        elif isinstance(item, Expression):
            sourced = _sourced(item, params, meta)
            if sourced.value is None and sourced.operation not in ("defined", "not_defined"):
                results.append(False)
            else:
                results.append(expression_matches(sourced, attrs))
        elif isinstance(item, DateExpression):
            results.append(_date_holds(item, now))
        else:
            results.append(False)          # resource and operation expressions are for defaults only
    return any(results) if rule.boolean_op == "or" else all(results)


def _rsc_matches(expression: RscExpression, agent) -> bool:
    if agent is None:
        return False
    return all(wanted is None or wanted == have for wanted, have in (
        (expression.standard, agent.standard), (expression.provider, agent.provider), (expression.type, agent.type)))


def _op_matches(expression: OpExpression, op: tuple[str, int] | None) -> bool:
    return op is not None and op[0] == expression.name and (expression.interval_ms is None
                                                           or expression.interval_ms == op[1])


def rule_holds(rule: Rule, context) -> bool:
    """A conditional attribute set's rule (rule_sets.Context): without a node no node attribute is set, without
    a time no date holds, and resource and operation expressions hold only for a matching resource or op."""
    results = []
    for item in rule.items:
        if isinstance(item, Rule):
            results.append(rule_holds(item, context))
        elif isinstance(item, Expression):
            results.append(expression_matches(item, context.node or {}))    # no node: no attribute is set
        elif isinstance(item, DateExpression):
            results.append(context.now is not None and _date_holds(item, context.now))
        elif isinstance(item, RscExpression):
            results.append(_rsc_matches(item, context.agent))
        else:
            results.append(_op_matches(item, context.op))
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
