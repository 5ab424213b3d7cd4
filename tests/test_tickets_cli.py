"""Tickets as an admin handles them: `drover constraint ticket` as pcs makes ticket constraints, `drover ticket` and
the crm_ticket tool name beside the real crm_ticket (run on the same CIB through CIB_file), and the scheduler
acting on a revoked ticket through the state database."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from appliance.model.cib_read import read_cib
from appliance.model.constraints import ResourceSet, TicketConstraint
from appliance.model.status import NodeState
from appliance.scheduler.schedule import schedule
from tests.test_config_cli import Drover, drover  # noqa: F401  (the fixture)


def _setup(drover: Drover) -> None:  # noqa: F811
    drover.ok("resource", "create", "db", "ocf:pacemaker:Stateful", "promotable")
    drover.ok("resource", "create", "web", "ocf:heartbeat:Dummy")
    drover.ok("constraint", "ticket", "add", "ticketA", "Promoted", "db-clone", "loss-policy=demote")
    drover.ok("constraint", "ticket", "add", "ticketA", "web", "loss-policy=fence")
    drover.ok("constraint", "ticket", "set", "db-clone", "web", "role=Started", "setoptions", "ticket=ticketB")


def test_ticket_constraints_are_made_listed_and_removed_as_pcs_does(drover: Drover) -> None:  # noqa: F811
    _setup(drover)
    constraints = {c.id: c for c in drover.cib().configuration.constraints}
    assert constraints["ticket-ticketA-db-clone-Promoted"] == TicketConstraint(
        "ticket-ticketA-db-clone-Promoted", "ticketA", "db-clone", "Promoted", "demote")
    assert constraints["ticket-ticketA-web"] == TicketConstraint("ticket-ticketA-web", "ticketA", "web", None, "fence")
    assert constraints["ticket_set_dewb"] == TicketConstraint(
        "ticket_set_dewb", "ticketB", sets=(ResourceSet("ticket_set_dewb_set", ("db-clone", "web"), role="Started"),))
    assert drover.ok("constraint", "ticket", "config").splitlines() == [
        "Ticket Constraints:",
        "  Promoted db-clone loss-policy=demote ticket=ticketA (id: ticket-ticketA-db-clone-Promoted)",
        "  web loss-policy=fence ticket=ticketA (id: ticket-ticketA-web)",
        "  set db-clone web role=Started setoptions ticket=ticketB (id: ticket_set_dewb)"]
    duplicate = drover("constraint", "ticket", "add", "ticketA", "web", "loss-policy=FENCE")
    assert (duplicate.code, duplicate.err) == (
        1, "drover: duplicate constraint already exists (ticket-ticketA-web), use --force to override\n")
    for argv, message in ((("add", "ticketA", "web", "loss-policy=explode"), "'explode' is not a valid loss-policy"),
                          (("add", "ticketA", "web", "rsc-role=Promoted"), "Resource role must not be specified"),
                          (("add", "ticketA", "nosuch"), "'nosuch' does not exist"),
                          (("set", "web", "setoptions", "loss-policy=stop"), "'ticket' is missing")):
        before = drover.state_bytes()
        result = drover("constraint", "ticket", *argv)
        assert result.code != 0 and message in result.err, result.err
        assert drover.state_bytes() == before
    drover.ok("constraint", "ticket", "remove", "ticketB", "web")
    remaining = drover.cib().configuration.constraint("ticket_set_dewb")
    assert isinstance(remaining, TicketConstraint) and remaining.sets[0].resources == ("db-clone",)
    drover.ok("constraint", "ticket", "delete", "ticketB", "db-clone")
    assert drover.cib().configuration.constraint("ticket_set_dewb") is None
    missing = drover("constraint", "ticket", "remove", "ticketB", "web")
    assert (missing.code, missing.err) == (1, "drover: no matching ticket constraint found\n")
    assert drover.ok("constraint", "ref", "web").splitlines() == ["Resource: web", "  ticket-ticketA-web"]
    drover.ok("resource", "delete", "web")
    assert [c.id for c in drover.cib().configuration.tickets] == ["ticket-ticketA-db-clone-Promoted"]


def test_a_revoked_ticket_stops_its_resources_and_a_granted_one_lets_them_run(drover: Drover) -> None:  # noqa: F811
    drover.ok("resource", "create", "web", "ocf:heartbeat:Dummy")
    drover.ok("property", "set", "stonith-enabled=false")
    drover.ok("constraint", "ticket", "add", "ticketA", "web")

    def web_starts() -> bool:
        cib = drover.cib()
        online = NodeState("node1", "1", "true", "online", "member", "member")
        cib = dataclasses.replace(cib, status=dataclasses.replace(cib.status, nodes=(online,)))
        return any(a.resource == "web" and a.task == "start" for a in schedule(cib).actions)

    assert not web_starts()
    drover.ok("ticket", "grant", "ticketA")
    assert web_starts()
    drover.ok("ticket", "standby", "ticketA")
    assert not web_starts()
    drover.ok("ticket", "activate", "ticketA")
    assert web_starts()
    drover.ok("ticket", "revoke", "ticketA")
    assert not web_starts()


def _real_crm_ticket(cib: Path, *argv: str) -> tuple[int, str]:
    result = subprocess.run(["crm_ticket", *argv], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "CIB_file": str(cib), "TZ": "UTC"})
    return result.returncode, result.stdout


QUERIES = [("-l",), ("-L",), ("-w",), ("-t", "ticketA", "-l"), ("-t", "ticketC", "-l"), ("-t", "ticketA", "-L"),
           ("-t", "ticketA", "-c"), ("-t", "ticketB", "-c"), ("-t", "ticketA", "-q"), ("-t", "ticketB", "-q"),
           ("-t", "ticketA", "-G", "granted"), ("-t", "ticketA", "-G", "owner"), ("-t", "ticketB", "-G", "granted"),
           ("-t", "ticketB", "-G", "granted", "-d", "false"), ("-t", "ticketB", "-g"), ("-t", "ticketA", "-r"),
           ("-t", "ticketA", "-C"), ("-t", "ticketA", "-D", "granted")]


def test_crm_ticket_queries_answer_as_the_real_crm_ticket(drover: Drover, tmp_path: Path,  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    _setup(drover)
    drover.ok("ticket", "grant", "ticketA")
    drover.ok("ticket", "standby", "ticketA")
    drover.ok("ticket", "set", "ticketA", "owner=1")
    cib = tmp_path / "cib.xml"
    cib.write_text(drover.ok("cib", "export"))
    for argv in QUERIES:
        ours = drover("tool", "crm_ticket", *argv)
        assert (ours.code, ours.out) == _real_crm_ticket(cib, *argv), argv
    crm_mon = subprocess.run(["crm_mon", "-1", "--tickets"], capture_output=True, text=True, timeout=30,
                             env={**os.environ, "CIB_file": str(cib), "TZ": "UTC"}).stdout
    tickets = drover.ok("tool", "crm_mon", "-1", "-c")
    assert tickets[tickets.index("\nTickets:"):] == crm_mon[crm_mon.index("\nTickets:"):]
    assert "Tickets:" not in drover.ok("status")


CHANGES = [("-t", "ticketB", "-g", "--force"), ("-t", "ticketA", "-r", "--force"), ("-t", "ticketA", "-a"),
           ("-t", "ticketB", "-s"), ("-t", "ticketA", "-S", "owner", "-v", "2"), ("-t", "ticketA", "-D", "owner"),
           ("-t", "ticketA", "-C", "--force"), ("-t", "ticketC", "-g", "--force")]


@pytest.mark.parametrize("argv", CHANGES, ids=[" ".join(a) for a in CHANGES])
def test_crm_ticket_changes_leave_the_state_the_real_crm_ticket_leaves(drover: Drover, tmp_path: Path,  # noqa: F811
                                                                       argv: tuple[str, ...]) -> None:
    _setup(drover)
    drover.ok("ticket", "grant", "ticketA")
    drover.ok("ticket", "set", "ticketA", "owner=1")
    cib = tmp_path / "cib.xml"
    cib.write_text(drover.ok("cib", "export"))
    ours = drover("tool", "crm_ticket", *argv)
    code, out = _real_crm_ticket(cib, *argv)
    assert (ours.code, ours.out) == (code, out)

    def states(text: str) -> dict[str, dict[str, str]]:
        tickets = read_cib(text.encode(), "cib").status.tickets
        return {t.id: {**t.extra.as_dict(), "granted": str(t.granted), "standby": str(t.standby),
                       "last-granted": "set" if t.extra.get("last-granted") else "unset"} for t in tickets}

    assert states(drover.ok("cib", "export")) == states(cib.read_text())


@pytest.mark.parametrize(("argv", "message"), [
    (("ticket", "grant", "bad name"), "invalid ticket name"),
    (("ticket", "set", "ticketA", "id=other"), "'id' names the ticket and cannot be changed"),
    (("ticket", "set", "ticketA", "novalue"), "expected ATTRIBUTE=VALUE, got 'novalue'"),
    (("ticket", "delete", "ticketA"), "ticket 'ticketA' is granted"),
    (("tool", "crm_ticket", "-t", "ticketA", "-S", "owner"), "Must supply value with -v for -S owner"),
    (("tool", "crm_ticket", "-l", "--bogus"), "option --bogus not recognized"),
])
def test_bad_ticket_input_is_a_clear_error_and_changes_nothing(drover: Drover, argv: tuple[str, ...],  # noqa: F811
                                                               message: str) -> None:
    _setup(drover)
    drover.ok("ticket", "grant", "ticketA")
    before = drover.state_bytes()
    result = drover(*argv)
    assert result.code != 0 and message in result.err, result.err
    assert drover.state_bytes() == before
