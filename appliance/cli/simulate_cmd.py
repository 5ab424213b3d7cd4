"""`drover simulate`: run the scheduler on a CIB file (or the live state) and show what it would do.

Rules: `--output-as=json` prints exactly the placement JSON of
shared/scheduler/SCHEMA.md (plus an "actions" list); without it a
crm_simulate-like summary; nothing is changed anywhere.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from appliance.cli import state
from appliance.cli.simulate_text import CurrentStatus, render
from appliance.cli.status_view import build
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import schedule
from guest.common.cli import Command, Context
from guest.common.errors import UserError
from guest.common.version import VERSION

USAGE = """
Usage:
  drover simulate [--xml-file=FILE | --live-check] [--output-as=FORMAT]

Computes one transition from a CIB (a file written by Pacemaker or by
`drover cib export`, with its status section) and prints where everything
would be once every action in it succeeded. A file's <acls> and <alerts> are
read past: they have no bearing on where anything runs.

Options:
  -x FILE, --xml-file=FILE  The CIB to read (default: the live state).
  -L, --live-check          Use the live state (the default).
  --output-as=FORMAT        text (default) or json.
"""


def run(args: dict, context: Context) -> int:
    form = state.output_format(args, ("text", "json"))
    if args["--xml-file"]:
        path = Path(args["--xml-file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UserError(f"cannot read {path}: {error.strerror}", 66) from None
        with state.model_errors():
            cib = read_cib(data, str(path), SIMULATED)
    else:
        with state.open_store(state.settings(context)) as store:
            cib = store.read()
    if form == "json":
        state.print_json(schedule(cib, datetime.now()).as_json())
        return 0
    print(summary(cib, datetime.now()))
    return 0


def summary(cib, now: datetime) -> str:
    """crm_simulate's text: the current status (in crm_mon's layout), the transition, the revised status."""
    view = build(cib, "drover", None, VERSION, now)
    current = CurrentStatus(view.node_lines, view.resource_lines, view.instances_configured, view.disabled,
                            view.blocked)
    return render(schedule(cib, now), current)


COMMAND = Command(USAGE, run)
