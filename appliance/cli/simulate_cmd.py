"""`drover simulate`: run the scheduler on a CIB file (or the live state) and show what it would do.

Rules: `--output-as=json` prints exactly the placement JSON of
shared/scheduler/SCHEMA.md (plus an "actions" list); without it a
crm_simulate-like summary; nothing is changed anywhere.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from appliance.cli import simulate_execute, simulate_graph, simulate_inject, state, status_text
from appliance.cli.simulate_inject import Injections
from appliance.cli.simulate_text import CurrentStatus, render
from appliance.cli.status_view import build
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.model.cib_write import cib_element
from appliance.model.cluster import Cib
from appliance.model.collector import collector_paused
from appliance.scheduler.schedule import Transition, current_state, execution_date, schedule
from appliance.scheduler.unpack import Working, unpack
from guest.common.cli import Command, Context
from guest.common.errors import UserError
from guest.common.version import VERSION

USAGE = """
Usage:
  drover simulate [--xml-file=FILE | --xml-pipe | --live-check] [--output-as=FORMAT]
                  [--node-up=NODE]... [--node-down=NODE]... [--node-fail=NODE]...
                  [--ticket-grant=TICKET]... [--ticket-revoke=TICKET]...
                  [--ticket-standby=TICKET]... [--ticket-activate=TICKET]... [--op-inject=SPEC]...
                  [--op-fail=SPEC]... [--save-graph=FILE] [--save-dotfile=FILE] [--save-output=FILE]
                  [--show-scores]

Computes one transition from a CIB (a file written by Pacemaker or by
`drover cib export`, with its status section) and prints where everything
would be once every action in it succeeded. The what-if options change the
CIB first, as crm_simulate's do: a node brought up, taken down (its history
gone) or failed (out of the membership, to be fenced), a ticket granted,
revoked, put in standby or activated, an operation's result injected
(RESOURCE_TASK_INTERVAL@NODE=RC, e.g. web_monitor_30000@node1=7: the monitor
found it stopped; a failure also counts in the fail count). The CIB's
execution-date, when it has one, is the time rules and failure expiry see.

With --op-fail the transition runs as crm_simulate runs it (its graph, in
passes, in the order of the graph --save-graph writes) and the action named
(RESOURCE_TASK_INTERVAL@NODE=RC, e.g. web_start_0@node1=1) fails with that
code: the transition stops there, and the revised status shows what ran until
then and the failure. With --save-output the CIB as the transition leaves it
(failures included) is written to a file: read it back with --xml-file to
compute the next transition.

Options:
  -x FILE, --xml-file=FILE  The CIB to read (default: the live state).
  -X, --xml-pipe            Read the CIB from standard input.
  -L, --live-check          Use the live state (the default).
  --output-as=FORMAT        text (default) or json.
  -u NODE, --node-up=NODE   Bring NODE online.
  -d NODE, --node-down=NODE  Take NODE offline.
  -f NODE, --node-fail=NODE  Fail NODE (it must be fenced).
  -g T, --ticket-grant=T    Grant ticket T.
  -r T, --ticket-revoke=T   Revoke ticket T.
  -b T, --ticket-standby=T  Put ticket T in standby.
  -e T, --ticket-activate=T  Activate ticket T (out of standby).
  -i SPEC, --op-inject=SPEC  Record an operation's result before scheduling.
  -F SPEC, --op-fail=SPEC   Have that action fail with that code when the transition runs.
  -G FILE, --save-graph=FILE  Write the transition graph (crm_simulate's XML shape) to FILE.
  -D FILE, --save-dotfile=FILE  Write the transition graph as a Graphviz digraph to FILE.
  -O FILE, --save-output=FILE  Write the CIB as the transition leaves it (its status updated) to FILE.
  -s, --show-scores         Also print each clone's, group's and primitive's allocation scores on every
                            node as it is placed, and each promotable instance's promotion score
                            (crm_simulate's pcmk__clone_allocate, pcmk__group_assign,
                            pcmk__primitive_assign and promotion score lines).
"""


def run(args: dict, context: Context) -> int:
    with collector_paused():           # one large computation; its objects live until it has printed
        return _run(args, context)


def _run(args: dict, context: Context) -> int:
    form = state.output_format(args, ("text", "json"))
    fail_specs = tuple(args["--op-fail"])
    simulate_execute.check_specs(fail_specs)
    if args["--xml-file"] or args["--xml-pipe"]:
        path = Path(args["--xml-file"] or "-")
        try:
            data = sys.stdin.buffer.read() if args["--xml-pipe"] else path.read_bytes()
        except OSError as error:
            raise UserError(f"cannot read {path}: {error.strerror}", 66) from None
        with state.model_errors():
            cib = read_cib(data, "standard input" if args["--xml-pipe"] else str(path), SIMULATED)
    else:
        with state.open_store(state.settings(context)) as store:
            cib = store.read()
    injections = Injections(*(tuple(args[f"--{name}"]) for name in (
        "node-up", "node-down", "node-fail", "ticket-grant", "ticket-revoke", "ticket-standby", "ticket-activate",
        "op-inject")))
    now = effective_date(cib)
    epoch = int(now.replace(tzinfo=UTC).timestamp())
    modified, modifications = simulate_inject.apply(cib, injections, epoch)
    result = schedule(modified, now, args["--show-scores"] and form == "text")      # computed once for all
    execution = simulate_execute.execute(modified, result, fail_specs, epoch) \
        if fail_specs or args["--save-output"] else None
    for option, text in (("--save-graph", lambda: simulate_graph.graph_xml(modified, result)),
                         ("--save-dotfile", lambda: simulate_graph.graph_dot(modified, result)),
                         ("--save-output", lambda: _cib_text(execution.cib))):
        if args[option]:
            try:
                Path(args[option]).write_text(text())
            except OSError as error:
                raise UserError(f"cannot write {args[option]}: {error.strerror}", 73) from None
    if form == "json":
        payload = result.as_json()
        if fail_specs:          # where the transition stopped, not where it would have led
            resources, nodes = current_state(execution.cib, now)
            payload.update(resources={rid: [list(place) for place in places] for rid, places in resources.items()},
                           nodes=nodes)
        state.print_json(payload)
        return 0
    print(_text(cib, now, modified, modifications, result, execution if fail_specs else None))
    return 0


def _cib_text(cib: Cib) -> str:
    root = cib_element(cib)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def effective_date(cib: Cib) -> datetime:
    """What the scheduler takes as now (naive UTC): the CIB's execution-date when it has one, as crm_simulate
    does (a saved input replays as it was scheduled), else the clock."""
    return execution_date(cib) or datetime.now(UTC).replace(tzinfo=None)


NO_INJECTIONS = Injections()


def summary(cib: Cib, now: datetime, injections: Injections = NO_INJECTIONS, show_scores: bool = False,
            fail_specs: tuple[str, ...] = ()) -> str:
    """crm_simulate's text: the current status (in crm_mon's layout), the modifications asked for, the
    transition on the modified CIB, what ran of it (with --op-fail), the revised status."""
    epoch = int(now.replace(tzinfo=UTC).timestamp())
    modified, modifications = simulate_inject.apply(cib, injections, epoch)
    result = schedule(modified, now, show_scores)
    execution = simulate_execute.execute(modified, result, fail_specs, epoch) if fail_specs else None
    return _text(cib, now, modified, modifications, result, execution)


def _text(cib: Cib, now: datetime, modified: Cib, modifications: list[str], result: Transition,
          execution: simulate_execute.Execution | None) -> str:
    # without modifications the input is unpacked once: shown as it is, then moved to where the transition leads
    working = unpack(cib, now) if modified is cib else None
    view = build(cib, "drover", None, VERSION, now, working)
    current = CurrentStatus(view.node_lines, view.resource_lines, view.instances_configured, view.disabled,
                            view.blocked)
    if execution is None:
        return render(result, current, revised(modified, now, result, working), modifications)
    after = build(execution.cib, "drover", None, VERSION, now)
    return render(result, current, CurrentStatus(after.node_lines, after.resource_lines), modifications,
                  execution.lines)


def revised(cib: Cib, now: datetime, result: Transition, working: Working | None = None) -> CurrentStatus:
    """The state once every action of `result` succeeded, in crm_mon's layout (crm_simulate's "Revised Cluster
    Status"): the input unpacked again, each primitive where the transition leaves it (a failure acted on is
    gone), each node in its state after the transition (fenced hosts offline)."""
    working = working if working is not None else unpack(cib, now)       # (changed here)
    changes = {change.resource: change for change in result.changes}
    acted = {action.resource for action in result.actions if action.resource}
    for primitive in working.all_primitives:
        change = changes.get(primitive.id)
        if change is None:
            continue
        primitive.running_on = [node for name, _ in change.after if (node := working.node(name)) is not None]
        role = change.after[0][1] if change.after else "Stopped"
        clone = primitive.clone_parent()
        primitive.role = "Started" if role == "Unpromoted" and not (clone and clone.promotable) else role
        if primitive.id in acted or change.before != change.after:
            primitive.failed = False
        primitive.pending_node = None
    for node in working.nodes:
        state = result.nodes.get(node.name, "offline")
        node.online = state in ("online", "standby", "maintenance")
        node.unclean, node.pending = state == "unclean", False
        if node.kind != "cluster" and node.online:       # connected now: its attributes are read
            node.standby = node.standby or node.declared_standby
            node.maintenance = node.maintenance or node.declared_maintenance
    return CurrentStatus(tuple(status_text.node_lines(working)), tuple(status_text.resource_lines(working, cib.status)))


COMMAND = Command(USAGE, run)
