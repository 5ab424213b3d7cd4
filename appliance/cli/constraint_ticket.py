"""`drover constraint ticket ...`: ticket constraints (rsc_ticket) as pcs makes, lists and removes them.

Rules: pcs's grammar and ids (ticket-TICKET-RESOURCE[-ROLE] for `add`, ticket_set_XXX with sets named
CONSTRAINT_set for `set`, each made unique); loss-policy is one of stop, demote, fence, freeze; the role goes
before the resource, never among the options; a duplicate needs --force; `delete`/`remove` takes a resource out
of every constraint on that ticket (a set left empty goes, a constraint left without sets goes) and fails when
there was none.
"""

from __future__ import annotations

import dataclasses

from appliance.cli import state
from appliance.model import edits
from appliance.model.cluster import Configuration
from appliance.model.constraints import LOSS_POLICIES, ResourceSet, TicketConstraint
from appliance.model.values import ModelError, check_id, parse_boolean, parse_role
from guest.common.cli import EXIT_USAGE
from guest.common.errors import UserError

_SET_OPTIONS = ("action", "require-all", "role", "sequential")


def _split_options(tokens: list[str], allowed: tuple[str, ...], what: str) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep:
            positional.append(token)
        elif name in allowed:
            options[name] = value
        else:
            raise ModelError(f"invalid {what} option '{name}': allowed are {', '.join(allowed)}")
    return positional, options


def _loss_policy(options: dict[str, str]) -> str | None:
    policy = options.get("loss-policy")
    if policy is None:
        return None
    if policy.lower() not in LOSS_POLICIES:
        raise ModelError(f"'{policy}' is not a valid loss-policy value, use {', '.join(LOSS_POLICIES)}")
    return policy.lower()


def _ticket_name(ticket: str) -> str:
    return check_id(ticket, "ticket name")


def add(tokens: list[str], force: bool, current: state.Settings) -> None:
    """ticket add TICKET [ROLE] RESOURCE [loss-policy=P] [id=ID]"""
    split = next((i for i, token in enumerate(tokens) if "=" in token), len(tokens))
    head, tail = tokens[:split], tokens[split:]
    if not head:
        raise UserError("Ticket not specified", EXIT_USAGE)
    ticket, resource = head[0], head[1:]
    if len(resource) not in (1, 2):
        raise UserError(f"invalid resource specification: '{' '.join(resource)}'", EXIT_USAGE)
    if any(token.startswith("rsc-role=") for token in tail):
        raise UserError("Resource role must not be specified among options, specify it before resource id",
                        EXIT_USAGE)
    _, options = _split_options(tail, ("loss-policy", "id"), "ticket constraint")
    role = parse_role(resource[0]) if len(resource) == 2 else None
    rid = resource[-1]
    policy = _loss_policy(options)
    _ticket_name(ticket)

    def edit(configuration: Configuration) -> Configuration:
        edits.require_constrainable(configuration, rid)
        constraint_id = options.get("id") or edits.unique_id(
            configuration, "-".join(("ticket", ticket, rid)) + (f"-{role}" if role else ""))
        check_id(constraint_id, "constraint id")
        constraint = TicketConstraint(constraint_id, ticket, rid, role, policy)
        return edits.add_constraint(configuration, constraint, force)

    state.edit_configuration(current, edit)


def _sets(tokens: list[str]) -> list[tuple[list[str], dict[str, str]]]:
    groups: list[list[str]] = [[]]
    for token in tokens:
        if token == "set":
            groups.append([])
        else:
            groups[-1].append(token)
    if not groups[0]:
        groups.pop(0)
    parsed = [_split_options(group, _SET_OPTIONS, "set") for group in groups]
    if not parsed or not all(ids for ids, _ in parsed):
        raise UserError("expected: ticket set RESOURCE... [OPTIONS] [set RESOURCE... [OPTIONS]]... "
                        "setoptions ticket=TICKET [loss-policy=P] [id=ID]", EXIT_USAGE)
    return parsed


def add_with_sets(tokens: list[str], force: bool, current: state.Settings) -> None:
    """ticket set R1 [R2]... [OPTIONS] [set ...]... setoptions ticket=T [loss-policy=P] [id=ID]"""
    if tokens.count("setoptions") > 1:
        raise UserError("Keyword 'setoptions' may be mentioned at most once", EXIT_USAGE)
    split = tokens.index("setoptions") if "setoptions" in tokens else len(tokens)
    parsed = _sets(tokens[:split])
    extra, options = _split_options(tokens[split + 1:], ("ticket", "loss-policy", "id"), "ticket constraint")
    if extra:
        raise UserError(f"unexpected '{' '.join(extra)}' after setoptions", EXIT_USAGE)
    if not options.get("ticket", "").strip():
        raise UserError("required constraint option 'ticket' is missing (setoptions ticket=TICKET)", EXIT_USAGE)
    ticket = _ticket_name(options["ticket"])
    policy = _loss_policy(options)
    set_options = [(ids, {
        "role": parse_role(opts["role"]) if "role" in opts else None,
        "sequential": parse_boolean(opts["sequential"], "sequential") if "sequential" in opts else None,
        "require_all": parse_boolean(opts["require-all"], "require-all") if "require-all" in opts else None,
        "action": opts.get("action")}) for ids, opts in parsed]

    def edit(configuration: Configuration) -> Configuration:
        all_ids = [rid for ids, _ in set_options for rid in ids]
        for rid in all_ids:
            edits.require_constrainable(configuration, rid)
        constraint_id = options.get("id") or edits.unique_id(
            configuration, "ticket_set_" + "".join(rid[0] + rid[-1] for rid in all_ids[:3]))
        check_id(constraint_id, "constraint id")
        sets, taken = [], set()
        for ids, opts in set_options:
            set_id = edits.unique_id(configuration, f"{constraint_id}_set", taken)
            taken.add(set_id)
            sets.append(ResourceSet(set_id, tuple(ids), opts["sequential"], opts["require_all"], None,
                                    opts["action"], opts["role"]))
        return edits.add_constraint(configuration, TicketConstraint(constraint_id, ticket, None, None, policy,
                                                                    tuple(sets)), force)

    state.edit_configuration(current, edit)


def remove(ticket: str, rid: str, current: state.Settings) -> None:
    def edit(configuration: Configuration) -> Configuration:
        found = False
        kept = []
        for constraint in configuration.constraints:
            if not isinstance(constraint, TicketConstraint) or constraint.ticket != ticket:
                kept.append(constraint)
                continue
            if constraint.rsc == rid:
                found = True
                continue
            sets = tuple(dataclasses.replace(s, resources=tuple(r for r in s.resources if r != rid))
                         for s in constraint.sets)
            if sets != constraint.sets:
                found = True
                sets = tuple(s for s in sets if s.resources)
                if not sets:
                    continue
            kept.append(dataclasses.replace(constraint, sets=sets))
        if not found:
            raise ModelError("no matching ticket constraint found")
        return dataclasses.replace(configuration, constraints=tuple(kept))

    state.edit_configuration(current, edit)
