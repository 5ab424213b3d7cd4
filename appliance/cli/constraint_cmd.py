"""`drover constraint ...`: location (prefers/avoids/rule), colocation, order, ticket, list, delete.

Rules: pcs's grammar, defaults (prefers = INFINITY, avoids = -INFINITY,
colocation INFINITY, order start-then-start Mandatory) and generated ids
(location-R-N-SCORE, colocation-A-B-SCORE, order-A-B-mandatory); refused
changes leave the database as it was.
"""

from __future__ import annotations

import re

from appliance.cli import constraint_ticket, state
from appliance.cli.render import constraint_json, constraint_text
from appliance.model import edits
from appliance.model.cib_write import fragment_xml, write_constraint
from appliance.model.cluster import Configuration
from appliance.model.constraints import Colocation, Constraint, Expression, Location, Order, Rule, TicketConstraint
from appliance.model.values import (
    INFINITY,
    ModelError,
    check_id,
    parse_action,
    parse_boolean,
    parse_role,
    parse_score,
)
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover constraint [list] [--output-as=FORMAT]
  drover constraint location RESOURCE (prefers|avoids) NODES... [--force]
  drover constraint location RESOURCE rule ARGS...
  drover constraint RESOURCE (prefers|avoids) NODES... [--force]
  drover constraint colocation add ARGS...
  drover constraint order ARGS...
  drover constraint ticket [config] [--output-as=FORMAT]
  drover constraint ticket add ARGS... [--force]
  drover constraint ticket set ARGS... [--force]
  drover constraint ticket (delete|remove) TICKET RESOURCE
  drover constraint (delete|remove) ID...
  drover constraint ref RESOURCES...

location: NODES are NODE or NODE=SCORE (prefers: INFINITY, avoids: -INFINITY).
rule: [id=ID] [role=ROLE] [score=SCORE | score-attribute=ATTR] EXPRESSION, where
  EXPRESSION is `ATTR OP [TYPE] VALUE`, `defined ATTR` or `not_defined ATTR`,
  joined by `and` or `or`; OP is lt gt lte gte eq ne; TYPE is string integer
  number version; #uname and #kind name the node and its kind.
colocation add [ROLE] A with [ROLE] B [SCORE]: keep A where B is (INFINITY).
order [ACTION] A then [ACTION] B [kind=Mandatory|Optional|Serialize]
  [symmetrical=true|false]: ACTION is start (default), stop, promote, demote.
ticket add TICKET [ROLE] RESOURCE [loss-policy=fence|stop|freeze|demote] [id=ID]:
  RESOURCE may run (in ROLE) only while TICKET is granted (`drover ticket`).
ticket set R1 [R2]... [role=ROLE] [set R3 ...]... setoptions ticket=TICKET
  [loss-policy=POLICY] [id=ID]: the same for resource sets.
ticket delete|remove TICKET RESOURCE: take RESOURCE out of TICKET's constraints.
ref: the ids of the constraints that name each resource (in sets too).

Options:
  --force             Accept nodes that are not (yet) in the cluster; allow duplicates.
  --output-as=FORMAT  text (default), json or xml.
"""

_NEGATIVE_SCORE = re.compile(r"-(INFINITY|\d+)", re.IGNORECASE)


def prepare(argv: list[str]) -> list[str]:
    """A bare negative score (colocation ... -INFINITY) would read as an option: pass it as score=."""
    return [f"score={token}" if _NEGATIVE_SCORE.fullmatch(token) else token for token in argv]


def _node_scores(tokens: list[str], avoids: bool) -> list[tuple[str, int]]:
    result = []
    for token in tokens:
        node, sep, score_text = token.partition("=")
        score = parse_score(score_text, f"score for node {node}") if sep else INFINITY
        result.append((node, -score if avoids else score))
    return result


def _location(args: dict, current: state.Settings) -> None:
    rid, avoids, force = args["RESOURCE"], args["avoids"], args["--force"]
    with state.model_errors():
        scores = _node_scores(args["NODES"], avoids)

    def edit(configuration: Configuration) -> Configuration:
        edits.require_constrainable(configuration, rid)
        known = {info.name for info in configuration.node_infos()} | {current.local_node}
        for node, score in scores:
            if node not in known and not force:
                raise UserError(f"Node '{node}' does not seem to be in the cluster, use --force to override")
            location = Location(edits.location_id(configuration, rid, node, score), rsc=rid, node=node, score=score)
            configuration = edits.add_constraint(configuration, location, force)
        return configuration

    state.edit_configuration(current, edit)


def parse_rule(rule_id: str, tokens: list[str]) -> tuple[Rule, str | None]:
    options: dict[str, str] = {}
    while tokens and "=" in tokens[0] and tokens[0].split("=", 1)[0] in ("id", "role", "score", "score-attribute"):
        name, _, value = tokens.pop(0).partition("=")
        options[name] = value
    rule_id = check_id(options.get("id", rule_id), "rule id")
    if "score" in options and "score-attribute" in options:
        raise ModelError("give score or score-attribute, not both")
    score = parse_score(options["score"], "rule score") if "score" in options else None
    if score is None and "score-attribute" not in options:
        score = INFINITY
    clauses: list[list[str]] = [[]]
    joiners: set[str] = set()
    for token in tokens:
        if token in ("and", "or"):
            joiners.add(token)
            clauses.append([])
        else:
            clauses[-1].append(token)
    if len(joiners) > 1:
        raise ModelError("a rule joins its expressions with either 'and' or 'or', not both")
    expressions = []
    for index, clause in enumerate(clauses):
        expression_id = f"{rule_id}-expr" + (f"-{index}" if index else "")
        if len(clause) == 2 and clause[0] in ("defined", "not_defined"):
            expressions.append(Expression(expression_id, clause[1], clause[0]))
        elif len(clause) in (3, 4) and clause[1] in ("lt", "gt", "lte", "gte", "eq", "ne"):
            value_type = clause[2] if len(clause) == 4 else None
            if value_type is not None and value_type not in ("string", "integer", "number", "version"):
                raise ModelError(f"invalid type '{value_type}': expected string, integer, number or version")
            expressions.append(Expression(expression_id, clause[0], clause[1], clause[-1], value_type))
        else:
            raise ModelError(f"invalid rule expression '{' '.join(clause)}': expected ATTR OP [TYPE] VALUE, "
                             "defined ATTR or not_defined ATTR")
    role = parse_role(options["role"]) if "role" in options else None
    return Rule(rule_id, tuple(expressions), score, options.get("score-attribute"),
                joiners.pop() if joiners else "and"), role


def _location_rule(args: dict, current: state.Settings) -> None:
    rid = args["RESOURCE"]

    def edit(configuration: Configuration) -> Configuration:
        edits.require_constrainable(configuration, rid)
        constraint_id = edits.unique_id(configuration, f"location-{rid}")
        rule, role = parse_rule(f"{constraint_id}-rule", list(args["ARGS"]))
        return edits.add_constraint(configuration, Location(constraint_id, rsc=rid, role=role, rules=(rule,)))

    state.edit_configuration(current, edit)


def _options(tokens: list[str], allowed: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if sep and name in allowed:
            options[name] = value
        elif sep:
            raise ModelError(f"invalid option '{name}': allowed are {', '.join(allowed)}")
        else:
            positional.append(token)
    return positional, options


def _role_and_name(tokens: list[str], side: str) -> tuple[str | None, str]:
    if len(tokens) == 2:
        return parse_role(tokens[0], f"role of {side}"), tokens[1]
    if len(tokens) == 1:
        return None, tokens[0]
    raise ModelError(f"expected [ROLE] RESOURCE for {side}, got '{' '.join(tokens)}'")


def _colocation(args: dict, current: state.Settings) -> None:
    tokens, options = _options(list(args["ARGS"]), ("score", "id"))
    if "with" not in tokens:
        raise UserError("expected: colocation add [ROLE] A with [ROLE] B [SCORE]", EXIT_USAGE)
    split = tokens.index("with")
    left, right = tokens[:split], tokens[split + 1:]
    score_text = options.get("score")
    if len(right) == 3 or (len(right) == 2 and right[0].lower() not in ("promoted", "unpromoted", "started",
                                                                        "master", "slave", "stopped")):
        score_text = right.pop()
    rsc_role, rsc = _role_and_name(left, "the first resource")
    with_role, with_rsc = _role_and_name(right, "the second resource")
    score = parse_score(score_text) if score_text is not None else INFINITY

    def edit(configuration: Configuration) -> Configuration:
        constraint_id = options.get("id")
        if constraint_id is None:
            constraint_id = edits.colocation_id(configuration, rsc, with_rsc, score)
        check_id(constraint_id, "constraint id")
        return edits.add_constraint(configuration, Colocation(constraint_id, score, rsc, with_rsc,
                                                              rsc_role, with_role), args["--force"])

    state.edit_configuration(current, edit)


def _order(args: dict, current: state.Settings) -> None:
    tokens, options = _options(list(args["ARGS"]), ("kind", "symmetrical", "id", "require-all"))
    if "then" not in tokens:
        raise UserError("expected: order [ACTION] A then [ACTION] B", EXIT_USAGE)
    split = tokens.index("then")
    left, right = tokens[:split], tokens[split + 1:]
    if len(left) not in (1, 2) or len(right) not in (1, 2):
        raise UserError("expected: order [ACTION] A then [ACTION] B", EXIT_USAGE)
    first_action = parse_action(left[0], "first action") if len(left) == 2 else None
    then_action = parse_action(right[0], "then action") if len(right) == 2 else None
    kind = options.get("kind")
    if kind is not None:
        kind = kind.capitalize()
        if kind not in ("Mandatory", "Optional", "Serialize"):
            raise ModelError(f"invalid kind '{options['kind']}': expected Mandatory, Optional or Serialize")
    symmetrical = parse_boolean(options["symmetrical"], "symmetrical") if "symmetrical" in options else None
    first, then = left[-1], right[-1]

    def edit(configuration: Configuration) -> Configuration:
        constraint_id = options.get("id")
        if constraint_id is None:
            constraint_id = edits.order_id(configuration, first, then, kind or "Mandatory")
        check_id(constraint_id, "constraint id")
        explicit = first_action is not None or then_action is not None   # pcs writes both once either is given
        order = Order(constraint_id, first, then, first_action or ("start" if explicit else None),
                      then_action or ("start" if explicit else None), kind, None, symmetrical)
        return edits.add_constraint(configuration, order, args["--force"])

    state.edit_configuration(current, edit)


def _delete(args: dict, current: state.Settings) -> None:
    def edit(configuration: Configuration) -> Configuration:
        for constraint_id in args["ID"]:
            if configuration.constraint(constraint_id) is None:
                raise ModelError(f"constraint '{constraint_id}' does not exist")
        wanted = set(args["ID"])
        return edits.remove_constraints(configuration, lambda c: c.id not in wanted)

    state.edit_configuration(current, edit)


def _names(constraint: Constraint) -> set[str]:
    named = {getattr(constraint, field, None) for field in ("rsc", "with_rsc", "first", "then")}
    named |= {rid for resource_set in constraint.sets for rid in resource_set.resources}
    return {rid for rid in named if rid}


KINDS = (("Location", Location), ("Ordering", Order), ("Colocation", Colocation), ("Ticket", TicketConstraint))


def _ticket(args: dict, current: state.Settings) -> None:
    if args["add"]:
        constraint_ticket.add(list(args["ARGS"]), args["--force"], current)
    elif args["set"]:
        constraint_ticket.add_with_sets(list(args["ARGS"]), args["--force"], current)
    elif args["delete"] or args["remove"]:
        constraint_ticket.remove(args["TICKET"], args["RESOURCE"], current)
    else:
        _list(args, current, KINDS[3:])


def _ref(args: dict, current: state.Settings) -> None:
    with state.open_store(current) as store:
        configuration = store.configuration()
    for rid in args["RESOURCES"]:
        if configuration.resource(rid) is None:
            raise ModelError(f"resource '{rid}' does not exist")
        print(f"Resource: {rid}")
        ids = [c.id for c in configuration.constraints if rid in _names(c)]
        print("\n".join(f"  {constraint_id}" for constraint_id in ids) if ids else "  No matches found")


def _list(args: dict, current: state.Settings, kinds: tuple[tuple[str, type], ...] = KINDS) -> None:
    form = state.output_format(args)
    with state.open_store(current) as store:
        constraints = tuple(c for c in store.configuration().constraints
                            if isinstance(c, tuple(kind for _, kind in kinds)))
    if form == "xml":
        print("<constraints>\n" + "".join(fragment_xml(write_constraint, c) for c in constraints) + "</constraints>")
        return
    if form == "json":
        state.print_json([constraint_json(c) for c in constraints])
        return
    for title, kind in kinds:
        chosen: list[Constraint] = [c for c in constraints if isinstance(c, kind)]
        print(f"{title} Constraints:")
        for constraint in chosen:
            print(f"  {constraint_text(constraint).split(': ', 1)[1]}")


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    with state.model_errors():
        if args["ticket"]:
            _ticket(args, current)
        elif args["location"] and args["rule"]:
            _location_rule(args, current)
        elif args["prefers"] or args["avoids"]:
            _location(args, current)
        elif args["colocation"]:
            _colocation(args, current)
        elif args["order"]:
            _order(args, current)
        elif args["delete"] or args["remove"]:
            _delete(args, current)
        elif args["ref"]:
            _ref(args, current)
        else:
            _list(args, current)
    return 0


COMMAND = Command(USAGE, run, prepare)
