"""Pacemaker's tool names, as OCF agents and admins call them: crm_mon, crm_attribute, crm_master, crm_resource,
attrd_updater, crm_node, crm_ticket. Each is translated into a drover command (same state, same checks, same output).

Rules: only the options agents and admins use are accepted (others are a
usage error naming them); the node defaults to the caller's node (this host,
or the guest a proxied call came from); a promotion score is the transient
attribute `master-RSC` of the calling resource (OCF_RESOURCE_INSTANCE without
its clone suffix), as Pacemaker names it.
"""

from __future__ import annotations

import getopt
import os
from collections.abc import Mapping, Sequence

from guest.common.errors import UserError
from guest.common.tooldir import TOOLS

EXIT_USAGE = 64


class Refused(UserError):
    """The tool refuses, after explaining on standard output why (as crm_ticket does)."""

    def __init__(self, explanation: str, message: str, exit_code: int):
        super().__init__(message, exit_code)
        self.explanation = explanation


def _options(tool: str, argv: Sequence[str], short: str, long: list[str]) -> dict[str, str]:
    try:
        pairs, rest = getopt.gnu_getopt(list(argv), short, long)
    except getopt.GetoptError as error:
        raise UserError(f"{error.msg} (run `{tool} --help`)", EXIT_USAGE) from None
    if rest:
        raise UserError(f"unexpected argument '{rest[0]}'", EXIT_USAGE)
    aliases = {f"-{s}": f"--{name.rstrip('=')}" for s, name in _SHORT.get(tool, {}).items()}
    found: dict[str, str] = {}
    for key, value in pairs:
        found[aliases.get(key, key)] = value
    return found


_SHORT = {
    "crm_attribute": {"N": "node=", "n": "name=", "v": "update=", "D": "delete", "G": "query", "l": "lifetime=",
                      "q": "quiet", "p": "promotion=", "t": "type=", "d": "default="},
    "crm_master": {"N": "node=", "v": "update=", "D": "delete", "G": "query", "l": "lifetime=", "q": "quiet",
                   "r": "resource="},
    "crm_resource": {"r": "resource=", "W": "locate", "M": "move", "B": "ban", "U": "clear", "C": "cleanup",
                     "R": "refresh", "L": "list", "N": "node=", "Q": "quiet", "f": "force"},
    "crm_mon": {"1": "one-shot", "r": "inactive", "X": "as-xml", "c": "tickets"},
    "attrd_updater": {"n": "name=", "U": "update=", "v": "update=", "D": "delete", "Q": "query", "N": "node=",
                      "d": "delay=", "p": "private", "q": "quiet", "A": "all"},
    "crm_node": {"n": "name", "l": "list", "q": "quorum"},
    "crm_ticket": {"t": "ticket=", "l": "info", "L": "details", "w": "raw", "q": "query-xml", "c": "constraints",
                   "g": "grant", "r": "revoke", "s": "standby", "a": "activate", "G": "get-attr=", "S": "set-attr=",
                   "D": "delete-attr=", "C": "cleanup", "v": "attr-value=", "d": "default=", "f": "force"},
}


# crm_resource --force-ACTION: run the agent here, outside the cluster (drover resource debug-ACTION)
_FORCED = {"--force-start": "debug-start", "--force-stop": "debug-stop", "--force-check": "debug-monitor",
           "--force-promote": "debug-promote", "--force-demote": "debug-demote"}
_LONG_ONLY = {"crm_resource": tuple(option.removeprefix("--") for option in _FORCED)}


def _getopt_spec(tool: str) -> tuple[str, list[str]]:
    short = "".join(s + (":" if name.endswith("=") else "") for s, name in _SHORT[tool].items())
    return short, sorted(set(_SHORT[tool].values()) | set(_LONG_ONLY.get(tool, ())) | {"output-as="})


def _resource_instance(environ: Mapping[str, str]) -> str:
    name = environ.get("OCF_RESOURCE_INSTANCE", "")
    head, sep, tail = name.rpartition(":")
    name = head if sep and tail.isdigit() else name
    if not name:
        raise UserError("--promotion needs a resource: run it from an OCF agent (OCF_RESOURCE_INSTANCE) or "
                        "give --promotion=RESOURCE", EXIT_USAGE)
    return name


def translate(tool: str, argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The drover command line that does what `tool argv` asks."""
    if tool not in TOOLS:
        raise UserError(f"unknown tool '{tool}'", EXIT_USAGE)
    if tool == "crm_attribute":      # --promotion takes an optional resource: spell the bare form as empty
        argv = [("--promotion=" if a in ("-p", "--promotion") else a) for a in argv]
    short, long = _getopt_spec(tool)
    options = _options(tool, argv, short, long)
    output = ["--output-as=" + options["--output-as"]] if "--output-as" in options else []
    if tool == "crm_mon":
        return ["status", *(["--output-as=xml"] if "--as-xml" in options else output),
                *(["--tickets"] if "--tickets" in options else [])]
    if tool == "crm_node":
        if "--list" in options:
            return ["node", "members"]
        if "--quorum" in options:
            return ["node", "quorum"]
        return ["node", "name"]
    if tool in ("crm_attribute", "crm_master", "attrd_updater"):
        return _attribute(tool, options, environ) + output
    if tool == "crm_ticket":
        return _ticket(options)
    return _resource(options) + output


def _cluster_property(name: str, options: dict[str, str]) -> list[str]:
    """crm_attribute --type crm_config: a cluster property (any name, as crm_attribute takes it)."""
    if "--update" in options:
        return ["property", "set", f"{name}={options['--update']}", "--force"]
    if "--delete" in options:
        return ["property", "unset", name]
    return ["property", "get", name, *(["--quiet"] if "--quiet" in options else []),
            *([f"--default={options['--default']}"] if "--default" in options else [])]


def _attribute(tool: str, options: dict[str, str], environ: Mapping[str, str]) -> list[str]:
    lifetime = options.get("--lifetime")
    if tool == "crm_attribute" and "--promotion" in options:
        name = "master-" + (options["--promotion"] or _resource_instance(environ))
        lifetime = lifetime or "reboot"
    elif tool == "crm_master":
        name = "master-" + (options.get("--resource") or _resource_instance(environ))
        lifetime = lifetime or "forever"
    elif "--name" in options:
        name = options["--name"]
    else:
        raise UserError(f"{tool}: --name is required", EXIT_USAGE)
    if tool == "attrd_updater":
        lifetime = "reboot"
    if tool == "crm_attribute" and options.get("--type") == "crm_config":
        return _cluster_property(name, options)
    if tool == "crm_attribute" and options.get("--type") not in (None, "nodes", "status"):
        raise UserError(f"crm_attribute: --type {options['--type']} is not supported here (use `drover property`)",
                        EXIT_USAGE)
    if tool == "crm_attribute" and options.get("--type") == "status":
        lifetime = "reboot"
    args = ["attribute", f"--name={name}", f"--lifetime={lifetime or 'forever'}"]
    if options.get("--node"):
        args.append(f"--node={options['--node']}")
    if "--update" in options:
        args.append(f"--update={options['--update']}")
    elif "--delete" in options:
        args.append("--delete")
    else:
        args.append("--query")
        if "--default" in options:
            args.append(f"--default={options['--default']}")
    if "--quiet" in options:
        args.append("--quiet")
    return args


def _resource(options: dict[str, str]) -> list[str]:
    resource, node = options.get("--resource"), options.get("--node")
    force = ["--force"] if "--force" in options else []
    if "--list" in options:
        return ["resource", "list"]
    for forget in ("cleanup", "refresh"):
        if f"--{forget}" in options:
            return ["resource", forget, *([resource] if resource else []), *([f"--node={node}"] if node else [])]
    if not resource:
        raise UserError("crm_resource: --resource is required (or use --list / --cleanup / --refresh)", EXIT_USAGE)
    forced = next((verb for option, verb in _FORCED.items() if option in options), None)
    if forced is not None:
        return ["resource", forced, resource, *force]
    if "--locate" in options:
        return ["resource", "locate", resource]
    if "--move" in options:
        return ["resource", "move", resource, *([node] if node else []), *force]
    if "--ban" in options:
        if not node:
            return ["resource", "move", resource, *force]
        return ["resource", "ban", resource, node, *force]
    if "--clear" in options:
        return ["resource", "clear", resource, *([node] if node else [])]
    raise UserError("crm_resource: one of --locate, --move, --ban, --clear, --cleanup, --refresh, --list, "
                    "--force-start, --force-stop, --force-check, --force-promote, --force-demote is needed",
                    EXIT_USAGE)


def ticket_warning(ticket: str, action: str) -> str:
    """crm_ticket's warning before it grants or revokes (on standard output, the change refused)."""
    if action == "grant":
        return (f"This command cannot help you verify whether '{ticket}' has been already granted elsewhere.\n"
                f"If you really want to grant '{ticket}' to this site now, and you know what you are doing,\n"
                "please specify --force.")
    return (f"Revoking '{ticket}' can trigger the specified 'loss-policy'(s) relating to '{ticket}'.\n\n"
            f"You can check that with:\ncrm_ticket --ticket {ticket} --constraints\n\n"
            f"Otherwise before revoking '{ticket}', you may want to make '{ticket}' standby with:\n"
            f"crm_ticket --ticket {ticket} --standby\n\n"
            f"If you really want to revoke '{ticket}' from this site now, and you know what you are doing,\n"
            "please specify --force.")


def _ticket(options: dict[str, str]) -> list[str]:
    """crm_ticket: queries (-l -L -w -q -c -G), changes (-g -r -s -a -S/-v -D) and --cleanup; granting or revoking
    needs --force, as crm_ticket asks (exit 4, its warning)."""
    ticket, force = options.get("--ticket"), "--force" in options
    for query, extra in (("--details", ["--details"]), ("--raw", ["--raw"]), ("--constraints", ["--constraints"]),
                         ("--query-xml", ["--state"]), ("--info", [])):
        if query in options:
            return ["ticket", "show", *([ticket] if ticket else []), *extra]
    if ticket is None:
        raise UserError("Must supply ticket ID with -t", EXIT_USAGE)
    if "--get-attr" in options:
        default = [f"--default={options['--default']}"] if "--default" in options else []
        return ["ticket", "get", ticket, options["--get-attr"], *default]
    if "--cleanup" in options:
        return ["ticket", "delete", ticket, *(["--force"] if force else [])]
    changes = {"--grant": "granted=true", "--revoke": "granted=false", "--standby": "standby=true",
               "--activate": "standby=false"}
    pairs = [pair for option, pair in changes.items() if option in options]
    if "--set-attr" in options:
        if "--attr-value" not in options:
            raise UserError(f"Must supply value with -v for -S {options['--set-attr']}", EXIT_USAGE)
        pairs.append(f"{options['--set-attr']}={options['--attr-value']}")
    elif "--attr-value" in options:
        raise UserError(f"Must supply attribute name with -S for -v {options['--attr-value']}", EXIT_USAGE)
    touches_granted = any(p.startswith("granted=") for p in pairs) or options.get("--delete-attr") == "granted"
    if touches_granted and not force:
        action = "grant" if "granted=true" in pairs else "revoke"
        raise Refused(ticket_warning(ticket, action), "Ticket modification not allowed", 4)
    if "--delete-attr" in options:
        if pairs:
            raise UserError("give --delete-attr alone", EXIT_USAGE)
        return ["ticket", "unset", ticket, options["--delete-attr"]]
    if not pairs:
        raise UserError("Must supply a command", EXIT_USAGE)
    return ["ticket", "set", ticket, *pairs]


def tool_name(argv0: str) -> str | None:
    name = os.path.basename(argv0)
    return name if name in TOOLS else None
