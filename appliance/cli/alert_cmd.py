"""`drover alert ...`: the agents run on node, fencing, resource and attribute events, and their recipients (pcs alert).

Rules: pcs 0.11's grammar (name=value arguments, then `options` and `meta` sections), ids, messages and `config`
layout (model.alert_edits); every change is a configuration edit needing the caller's full access. The daemon
runs the agents (appliance.alert_sender); this command only configures them.
"""

from __future__ import annotations

from appliance.cli import state
from appliance.model import alert_edits
from appliance.model.alerts import Alert, Recipient
from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover alert create [ARGS...]
  drover alert update ALERT [ARGS...]
  drover alert (delete|remove) ALERT...
  drover alert recipient add ALERT [ARGS...] [--force]
  drover alert recipient update RECIPIENT [ARGS...] [--force]
  drover alert recipient (delete|remove) RECIPIENT...
  drover alert [config|show] [--output-as=FORMAT]

  create path=PATH [id=ID] [description=TEXT] [options NAME=VALUE...] [meta NAME=VALUE...]
  update ALERT [path=PATH] [description=TEXT] [options NAME=VALUE...] [meta NAME=VALUE...]
  recipient add ALERT value=VALUE [id=ID] [description=TEXT] [options NAME=VALUE...] [meta NAME=VALUE...]
  recipient update RECIPIENT [value=VALUE] [description=TEXT] [options NAME=VALUE...] [meta NAME=VALUE...]

The agent at PATH (e.g. /usr/share/pacemaker/alerts/alert_file.sh.sample) runs
once per recipient for each event, with CRM_alert_* variables and the options in
its environment. Meta options: timeout (default 30s; the agent is killed then),
timestamp-format (default %H:%M:%S.%06N). An option given an empty value is
removed.

Options:
  --force             Allow two recipients of one alert with the same value.
  --output-as=FORMAT  text (default) or json.
"""


def _sections(tokens: list[str], allowed: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """pcs's parse_cmd_sections + prepare_options: name=value pairs before `options` and `meta`, and in them."""
    sections: dict[str, dict[str, str]] = {"main": {}, "options": {}, "meta": {}}
    current = "main"
    for token in tokens:
        if token in ("options", "meta"):
            current = token
            continue
        name, sep, value = token.partition("=")
        if not sep or not name:
            raise UserError(f"missing value of '{token}' option", EXIT_USAGE)
        sections[current][name] = value
    for name in sections["main"]:
        if name not in allowed:
            raise UserError(f"invalid option '{name}', allowed options are: "
                            f"{', '.join(repr(a) for a in sorted(allowed))}", EXIT_USAGE)
    return sections["main"], sections["options"], sections["meta"]


def _pairs(attrs: Attributes) -> str:
    return " ".join(f'{name}="{value}"' if " " in value else f"{name}={value}" for name, value in sorted(attrs))


def _details(owner: Alert | Recipient) -> list[str]:
    lines = []
    if owner.description:
        lines.append(f"Description: {owner.description}")
    if len(owner.params):
        lines.append(f"Options: {_pairs(owner.params)}")
    if len(owner.meta):
        lines.append(f"Meta options: {_pairs(owner.meta)}")
    return lines


def config_lines(configuration: Configuration) -> list[str]:
    """pcs alert config's layout."""
    lines = ["Alerts:"]
    if not configuration.alerts:
        return [*lines, " No alerts defined"]
    for alert in configuration.alerts:
        lines.append(f" Alert: {alert.id} (path={alert.path})")
        lines.extend(f"  {line}" for line in _details(alert))
        if alert.recipients:
            lines.append("  Recipients:")
            for recipient in alert.recipients:
                lines.append(f"   Recipient: {recipient.id} (value={recipient.value})")
                lines.extend(f"    {line}" for line in _details(recipient))
    return lines


def _json(configuration: Configuration) -> dict:
    def select(owner: Alert | Recipient):
        return None if owner.select is None else {"kinds": list(owner.select.kinds),
                                                  "attributes": list(owner.select.attributes)}

    def common(owner: Alert | Recipient) -> dict:
        return {"id": owner.id, "description": owner.description, "options": dict(owner.params),
                "meta": dict(owner.meta), "select": select(owner)}
    return {"alerts": [{**common(a), "path": a.path, "recipients": [{**common(r), "value": r.value}
                                                                    for r in a.recipients]}
                       for a in configuration.alerts]}


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    tokens = list(args["ARGS"])
    force = bool(args["--force"])
    with state.model_errors():
        if args["recipient"]:
            if args["add"]:
                main, options, meta = _sections(tokens, ("description", "id", "value"))
                edit = lambda c: alert_edits.add_recipient(      # noqa: E731
                    c, args["ALERT"][0], main.get("value"), options, meta, main.get("id"), main.get("description"),
                    force)
            elif args["update"]:
                main, options, meta = _sections(tokens, ("description", "value"))
                edit = lambda c: alert_edits.update_recipient(   # noqa: E731
                    c, args["RECIPIENT"][0], options, meta, main.get("value"), main.get("description"), force)
            else:
                edit = lambda c: alert_edits.remove_recipients(c, args["RECIPIENT"])   # noqa: E731
        elif args["create"]:
            main, options, meta = _sections(tokens, ("description", "id", "path"))
            edit = lambda c: alert_edits.create_alert(            # noqa: E731
                c, main.get("id"), main.get("path"), options, meta, main.get("description"))
        elif args["update"]:
            main, options, meta = _sections(tokens, ("description", "path"))
            edit = lambda c: alert_edits.update_alert(            # noqa: E731
                c, args["ALERT"][0], main.get("path"), options, meta, main.get("description"))
        elif args["delete"] or args["remove"]:
            edit = lambda c: alert_edits.remove_alerts(c, args["ALERT"])   # noqa: E731
        else:
            with state.open_store(current) as store:
                configuration = store.configuration()
            if state.output_format(args, ("text", "json")) == "json":
                state.print_json(_json(configuration))
            else:
                print("\n".join(config_lines(configuration)))
            return 0
        state.edit_configuration(current, edit)
    return 0


COMMAND = Command(USAGE, run)
