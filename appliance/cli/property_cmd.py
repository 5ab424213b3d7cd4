"""`drover property [list] | set NAME=VALUE... | unset NAME...`: cluster options (crm_config).

Rules: the options the scheduler reads are known and their values checked;
an unknown name is refused unless --force (pcs does the same).
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.cli import state
from appliance.cli.attribute_cmd import EXIT_NOSUCH
from appliance.model import edits
from appliance.model.cluster import Configuration
from appliance.model.values import ModelError, parse_boolean, parse_interval_ms, parse_score
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover property [list] [--output-as=FORMAT]
  drover property set PAIRS... [--force]
  drover property unset NAMES...
  drover property get NAME [--quiet] [--default=VALUE]

get prints one property as crm_attribute --type crm_config --query does
(`scope=crm_config  name=NAME value=VALUE`, or the value alone with --quiet);
one not set exits 105, as crm_attribute does, unless --default gives a value.

Options:
  --force             Accept option names drover does not know.
  --quiet             get: the value only.
  --default=VALUE     get: print this when the property is not set.
  --output-as=FORMAT  text (default) or json.
"""


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def check(value: str, what: str) -> str:
        if value not in allowed:
            raise ModelError(f"invalid {what} '{value}': expected one of {', '.join(allowed)}")
        return value
    return check


KNOWN: dict[str, Callable[[str, str], object]] = {
    "stonith-enabled": parse_boolean, "symmetric-cluster": parse_boolean, "maintenance-mode": parse_boolean,
    "stop-all-resources": parse_boolean, "start-failure-is-fatal": parse_boolean,
    "stop-orphan-resources": parse_boolean, "stop-orphan-actions": parse_boolean,
    "no-quorum-policy": _choice("stop", "freeze", "ignore", "demote", "suicide"),
    "placement-strategy": _choice("default", "utilization", "minimal", "balanced"),
    "cluster-recheck-interval": parse_interval_ms, "shutdown-lock": parse_boolean,
    "shutdown-lock-limit": parse_interval_ms, "stonith-timeout": parse_interval_ms,
    "stonith-action": _choice("reboot", "off", "poweroff"), "priority-fencing-delay": parse_interval_ms,
    "stonith-max-attempts": parse_score, "concurrent-fencing": parse_boolean,
    "default-resource-stickiness": parse_score, "batch-limit": parse_score, "cluster-name": lambda v, w: v,
    "enable-startup-probes": parse_boolean, "node-health-strategy": _choice("none", "migrate-on-red", "only-green",
                                                                            "progressive", "custom"),
}


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    if args["set"]:
        pairs = []
        for token in args["PAIRS"]:
            name, sep, value = token.partition("=")
            if not sep or not name:
                raise UserError(f"invalid property '{token}': expected NAME=VALUE", EXIT_USAGE)
            check = KNOWN.get(name)
            if check is None and not args["--force"]:
                raise UserError(f"unknown cluster property '{name}', use --force to override")
            with state.model_errors():
                if check is not None:
                    check(value, f"value of {name}")
            pairs.append((name, value))

        def edit(configuration: Configuration) -> Configuration:
            for name, value in pairs:
                configuration = edits.set_option(configuration, "cluster", name, value)
            return configuration

        state.edit_configuration(current, edit)
        return 0
    if args["get"]:
        with state.open_store(current) as store:
            found = store.configuration().cluster_options.get(args["NAME"], args["--default"])
        if found is None:
            raise UserError(f"cluster property '{args['NAME']}' is not set", EXIT_NOSUCH)
        print(found if args["--quiet"] else f"scope=crm_config  name={args['NAME']} value={found}")
        return 0
    if args["unset"]:
        def remove(configuration: Configuration) -> Configuration:
            for name in args["NAMES"]:
                if name not in configuration.cluster_options:
                    raise ModelError(f"cluster property '{name}' is not set")
                configuration = edits.set_option(configuration, "cluster", name, None)
            return configuration

        state.edit_configuration(current, remove)
        return 0
    form = state.output_format(args, ("text", "json"))
    with state.open_store(current) as store:
        options = store.configuration().cluster_options
    if form == "json":
        state.print_json(options.as_dict())
    else:
        print("Cluster Properties:" + "".join(f"\n  {name}: {value}" for name, value in options))
    return 0


COMMAND = Command(USAGE, run)
