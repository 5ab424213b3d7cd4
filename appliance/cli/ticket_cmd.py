"""`drover ticket ...`: the cluster's tickets (the status section's ticket states), as crm_ticket shows and sets them.

Rules: a ticket exists when it has a state or a ticket constraint names it (never granted: revoked); granting a
ticket that was not granted records `last-granted` (epoch seconds) as crm_ticket does; `delete` (crm_ticket
--cleanup) forgets a ticket's state and refuses a granted ticket without --force, since that revokes it and
triggers the loss policies; every change is a status edit and needs the caller's full access (guests through
the proxy read only, unless their access policy is `full`). Text output is crm_ticket's: `-l` by default,
`--details` (-L), `--raw` (-w), `--constraints` (-c), `--state` (-q); `status_lines` is crm_mon's Tickets section.
"""

from __future__ import annotations

import dataclasses
import time
import xml.etree.ElementTree as ET

from appliance.cli import state
from appliance.cli.pcmk_tools import ticket_warning
from appliance.model.cib_write import write_constraint
from appliance.model.cluster import Cib
from appliance.model.status import Status, TicketState
from appliance.model.values import ModelError, check_id, is_true
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover ticket [show] [TICKET] [--details | --raw | --constraints | --state] [--output-as=FORMAT]
  drover ticket (grant|revoke|standby|activate) TICKET...
  drover ticket delete TICKET... [--force]
  drover ticket get TICKET ATTRIBUTE [--default=VALUE]
  drover ticket set TICKET ATTRIBUTE=VALUE...
  drover ticket unset TICKET ATTRIBUTE...

A resource under a ticket constraint (`drover constraint ticket add`) may run only while its ticket is granted
and not in standby. revoke triggers the constraints' loss-policy (stop, demote, fence, freeze); standby stops
or demotes the resources gracefully instead. delete forgets the ticket's state (crm_ticket --cleanup).

Options:
  --details           Every attribute of each ticket's state (crm_ticket -L).
  --raw               Only the tickets' names (crm_ticket -w).
  --constraints       The ticket constraints of TICKET, or of all tickets, as XML (crm_ticket -c).
  --state             The ticket state of TICKET, or all ticket states, as XML (crm_ticket -q).
  --default=VALUE     What `get` prints when the attribute is not set.
  --force             Delete the state of a granted ticket.
  --output-as=FORMAT  text (default), json or xml.
"""

EXIT_NOSUCH = 105            # CRM_EX_NOSUCH


def _known(cib: Cib) -> list[TicketState]:
    """Every ticket: those with a state, and those only constraints name (never granted, no state)."""
    found = {t.id: t for t in cib.status.tickets}
    for constraint in cib.configuration.tickets:
        found.setdefault(constraint.ticket, TicketState(constraint.ticket))
    return sorted(found.values(), key=lambda t: t.id)


def state_pairs(ticket: TicketState) -> list[tuple[str, str]]:
    """The ticket_state element's attributes but its id, as crm_ticket -L lists them."""
    pairs = [("granted", "true" if ticket.granted else "false")]
    if ticket.standby:
        pairs.append(("standby", "true"))
    return pairs + list(ticket.extra)


def _date(value: str) -> str:
    """An epoch-seconds attribute as Pacemaker's tools print it (asctime, local time)."""
    try:
        return time.asctime(time.localtime(int(value)))
    except (ValueError, OverflowError, OSError):
        return value


def ticket_line(ticket: TicketState, details: bool, has_state: bool = True) -> str:
    line = f"{ticket.id}\t{'granted' if ticket.granted else 'revoked'} {'[standby]' if ticket.standby else ' ' * 9}"
    if details and has_state:
        shown = [f"{name}='{_date(value)}'" if name in ("last-granted", "expires") else f"{name}={value}"
                 for name, value in state_pairs(ticket)]
        return f"{line} ({', '.join(shown)})"
    last_granted = ticket.extra.get("last-granted")
    return f"{line} last-granted='{_date(last_granted)}'" if last_granted is not None else line


def ticket_element(ticket: TicketState) -> ET.Element:
    return ET.Element("ticket_state", {"id": ticket.id, **dict(state_pairs(ticket))})


def status_lines(cib: Cib) -> list[str]:
    """crm_mon --tickets' section (nothing without tickets)."""
    tickets = _known(cib)
    if not tickets:
        return []
    lines = ["", "Tickets:"]
    for ticket in tickets:
        last_granted = ticket.extra.get("last-granted")
        when = f' last-granted="{_date(last_granted)}"' if last_granted is not None else ""
        lines.append(f"  * {ticket.id}: {'granted' if ticket.granted else 'revoked'}"
                     f"{' [standby]' if ticket.standby else ''}{when}")
    return lines


def status_json(cib: Cib) -> list[dict]:
    return [{"id": t.id, "status": "granted" if t.granted else "revoked", "standby": t.standby,
             **({"last-granted": t.extra.get("last-granted")} if t.extra.get("last-granted") else {})}
            for t in _known(cib)]


def _pacemaker_xml(element: ET.Element) -> str:
    """As libxml2 formats it for crm_ticket: two-space indent, no space before `/>`."""
    ET.indent(element)
    return ET.tostring(element, encoding="unicode").replace(" />", "/>") + "\n"


def _print_constraints(cib: Cib, names: set[str]) -> None:
    chosen = [c for c in cib.configuration.tickets if c.ticket in names]
    if not chosen:
        raise UserError("Could not show ticket constraints: No such device or address", EXIT_NOSUCH)
    root = ET.Element("xpath-query")          # Pacemaker's wrapper of several matches
    for constraint in chosen:
        write_constraint(root, constraint)
    print("Constraints XML:\n\n" + _pacemaker_xml(root if len(chosen) > 1 else root[0]), end="")


def _print_states(cib: Cib, ticket: str | None) -> None:
    states = [t for t in cib.status.tickets if ticket is None or t.id == ticket]
    if not states:
        raise UserError("Could not query ticket XML: No such device or address", EXIT_NOSUCH)
    element = ticket_element(states[0])
    if ticket is None:
        element = ET.Element("tickets")
        element.extend(ticket_element(t) for t in states)
    print("State XML:\n\n" + _pacemaker_xml(element), end="")


def _show(args: dict, cib: Cib) -> None:
    tickets = _known(cib)
    named = args["TICKET"][0] if args["TICKET"] else None
    if args["--state"]:
        _print_states(cib, named)
        return
    if args["--constraints"]:
        _print_constraints(cib, {named} if named else {t.id for t in tickets})
        return
    if named is not None:
        tickets = [t for t in tickets if t.id == named]
        if not tickets:
            raise UserError(f"No such ticket '{named}'", EXIT_NOSUCH)
    form = state.output_format(args)
    if form == "json":
        constraints = cib.configuration.tickets
        state.print_json([{"id": t.id, "granted": t.granted, "standby": t.standby, "attributes": t.extra.as_dict(),
                           "constraints": [c.id for c in constraints if c.ticket == t.id]} for t in tickets])
    elif form == "xml":
        root = ET.Element("tickets")
        root.extend(ticket_element(t) for t in tickets)
        ET.indent(root)
        print(ET.tostring(root, encoding="unicode"))
    else:
        for ticket in tickets:
            has_state = cib.status.ticket_state(ticket.id) is not None
            print(ticket.id if args["--raw"] else ticket_line(ticket, args["--details"], has_state))


def _with_attribute(ticket: TicketState, name: str, value: str | None, now: int) -> TicketState:
    if name == "granted":
        granted = value is not None and is_true(value)
        extra = ticket.extra
        if granted and not ticket.granted:
            extra = extra.set("last-granted", str(now))
        return dataclasses.replace(ticket, granted=granted, extra=extra)
    if name == "standby":
        return dataclasses.replace(ticket, standby=value is not None and is_true(value))
    if name == "id":
        raise ModelError("'id' names the ticket and cannot be changed")
    extra = ticket.extra.set(name, value) if value is not None else ticket.extra.without(name)
    return dataclasses.replace(ticket, extra=extra)


def _change(tickets: list[str], changes: list[tuple[str, str | None]], current: state.Settings) -> None:
    for ticket in tickets:
        check_id(ticket, "ticket name")
    now = int(time.time())

    def edit(status: Status) -> Status:
        for ticket in tickets:
            updated = status.ticket(ticket)
            for name, value in changes:
                updated = _with_attribute(updated, name, value, now)
            status = status.with_ticket(updated)
        return status

    state.edit_status(current, edit)


def _delete(args: dict, current: state.Settings) -> None:
    def edit(status: Status) -> Status:
        for ticket in args["TICKET"]:
            if status.ticket(ticket).granted and not args["--force"]:
                print(ticket_warning(ticket, "revoke"))
                raise UserError(f"ticket '{ticket}' is granted: deleting its state revokes it and triggers its "
                                f"loss-policy; revoke it first (drover ticket revoke {ticket}) or use --force",
                                state.EXIT_INSUFFICIENT_PRIV)
            status = status.without_ticket(ticket)
        return status

    state.edit_status(current, edit)
    for ticket in args["TICKET"]:
        print(f"Cleaned up {ticket}")


def _get(args: dict, cib: Cib) -> int:
    ticket, name = args["TICKET"][0], args["ATTRIBUTE"][0]
    found = cib.status.ticket_state(ticket)
    value = dict(state_pairs(found)).get(name) if found is not None else None
    if value is None:
        value = args["--default"]
    if value is None:
        raise UserError(f"ticket '{ticket}' has no attribute '{name}'", EXIT_NOSUCH)
    print(value)
    return 0


def _pairs(tokens: list[str]) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or not name:
            raise UserError(f"expected ATTRIBUTE=VALUE, got '{token}'", EXIT_USAGE)
        pairs.append((name, value))
    return pairs


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    with state.model_errors():
        verb = next((v for v in ("grant", "revoke", "standby", "activate", "delete", "get", "set", "unset")
                     if args[v]), None)
        if verb in (None, "get"):
            with state.open_store(current) as store:
                cib = store.read()
            if verb == "get":
                return _get(args, cib)
            _show(args, cib)
            return 0
        if verb == "delete":
            _delete(args, current)
            return 0
        changes: list[tuple[str, str | None]] = {
            "grant": [("granted", "true")], "revoke": [("granted", "false")], "standby": [("standby", "true")],
            "activate": [("standby", "false")]}.get(verb, [])
        tickets = list(args["TICKET"])
        if verb == "set":
            changes = _pairs(args["ATTRIBUTE=VALUE"])
        elif verb == "unset":
            changes = [(name, None) for name in args["ATTRIBUTE"]]
        _change(tickets, changes, current)
    return 0


COMMAND = Command(USAGE, run)
