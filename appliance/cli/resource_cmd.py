"""`drover resource ...`: create, delete, update, enable, disable, move, ban, clear, cleanup, refresh, list, show,
meta, defaults, op, agents; relocate, debug-* and the group/clone commands are modules of their own.

Rules: pcs's command grammar and messages; crm_resource's move/ban/clear
constraints (cli-prefer-*, cli-ban-*-on-*); every change is one transaction
and a refused change leaves the database as it was.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from appliance.cli import agents_cmd, resource_debug, resource_hierarchy, resource_relocate, state, utilization_cmd
from appliance.cli.render import resource_config, resource_json, resource_lines
from appliance.cli.resource_args import build_resource, check_meta, update_primitive, with_op_added
from appliance.cli.resource_config import config_text
from appliance.model import edits
from appliance.model.cib_write import fragment_xml, write_resource
from appliance.model.cluster import Configuration
from appliance.model.history import active_on, base_id, cleanup
from appliance.model.resources import (
    AgentRef,
    Clone,
    Primitive,
    Resource,
    agent_part_problem,
    agent_type_problem,
    kind_name,
    primitives,
)
from appliance.model.status import Status
from appliance.model.values import ModelError, parse_interval_ms
from guest.agents.catalog import AgentNotFound, parse_agent_name
from guest.agents.metadata import AgentMetadata
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover resource create NAME AGENT [ARGS...] [--group=GROUP] [--disabled] [--force]
  drover resource delete NAME
  drover resource update NAME [ARGS...] [--force]
  drover resource enable RESOURCES...
  drover resource disable RESOURCES...
  drover resource move NAME [NODE] [--force]
  drover resource ban NAME NODE [--force]
  drover resource clear NAME [NODE]
  drover resource relocate dry-run [RESOURCES...]
  drover resource relocate run [RESOURCES...] [--wait=TIME]
  drover resource relocate show
  drover resource relocate clear
  drover resource cleanup [NAME] [--node=NODE]
  drover resource refresh [NAME] [--node=NODE]
  drover resource list [--output-as=FORMAT]
  drover resource locate NAME
  drover resource show [NAME] [--output-as=FORMAT]
  drover resource config [RESOURCES...]
  drover resource meta NAME ARGS...
  drover resource defaults [ARGS...]
  drover resource utilization [NAME [ARGS...]]
  drover resource group add GROUP RESOURCES... [--before=RESOURCE] [--after=RESOURCE]
  drover resource group (delete|remove) GROUP [RESOURCES...]
  drover resource group list
  drover resource ungroup GROUP [RESOURCES...]
  drover resource clone NAME [CLONE_OPTIONS...] [--force]
  drover resource promotable NAME [CLONE_OPTIONS...] [--force]
  drover resource unclone NAME
  drover resource bundle (create|reset|update) NAME [OPTIONS...]
  drover resource op add NAME ACTION [OPTIONS...] [--force]
  drover resource op delete NAME [ACTION] [OPTIONS...]
  drover resource agents [STANDARD]
  drover resource describe AGENT
  drover resource standards
  drover resource providers
  drover resource (debug-start|debug-stop|debug-monitor|debug-promote|debug-demote) NAME [--full] [--force]

create: AGENT is [STANDARD:[PROVIDER:]]TYPE (a bare TYPE must name exactly one
OCF agent: apache -> ocf:heartbeat:apache). ARGS are the agent's parameters
(k=v ...), then any of: op ACTION k=v ... (repeatable), meta k=v ...,
clone [k=v ...] or promotable [k=v ...]. Every operation the agent's metadata
lists (but meta-data, status, validate-all) is added with its recommended
timeout unless given, as pcs does.
update: change parameters (k=v; k= removes one), replace an action's operations
(op ACTION k=v ...), set meta attributes (meta k=v ...), as pcs does; a running
resource whose parameters change is restarted. meta: set meta attributes (k=v;
k= removes one). defaults: show or set
resource defaults (k=v; k= removes one). utilization: show or set what NAME
needs of a node (cpu=2 memory=2048; k= removes one), used under
placement-strategy utilization, minimal or balanced. op add: one more operation (interval=,
timeout=, ...); op delete: the operations of ACTION matching OPTIONS, or one by
its id (op delete OP-ID). agents/describe/standards/providers:
the agents installed here (STANDARD is ocf, ocf:PROVIDER, lsb, systemd, ...)
and an agent's parameters and default operations, as pcs prints them.
debug-start/stop/monitor/promote/demote: run that action of NAME's agent on
this host now, outside the cluster (nothing is recorded), and print what it
returned and said, as pcs (crm_resource --force-start ...) does; --full also
shows the parameters it gets. The exit code is the agent's.
group add: put existing primitives into GROUP (created if missing), taking them
out of their old group, or move them within it (--before/--after RESOURCE);
an old group left empty goes (refused while constraints name it). group
delete|remove and ungroup: take RESOURCES (all when none) out of GROUP; an
emptied group goes with the constraints naming it. clone/promotable: wrap a
primitive or group in a clone ([CLONE-ID] [k=v ...], promotable adds
promotable=true); its location, colocation and order constraints then name the
clone. unclone: take NAME (a clone or what it wraps) out of its clone, which
goes with its constraints. All as pcs does.
config: the resources' configuration in pcs 0.11's layout (show: pcs 0.10's).
move/ban/clear: location constraints cli-prefer-NAME / cli-ban-NAME-on-NODE, as
crm_resource makes them; move without NODE bans NAME from where it runs.
relocate: move RESOURCES (all when none) to the nodes they would get with
stickiness ignored, as pcs does: run pins them there (pcs-relocate-NAME
constraints), waits until the cluster settles (--wait, 60s by default), then
removes the pins; dry-run shows the pins and the moves; show the state and
moves with stickiness ignored; clear removes pins an interrupted run left.
cleanup forgets the failures of NAME (or of every failed resource); refresh
forgets everything recorded about it, failed or not, so it is probed again
(crm_resource --cleanup / --refresh).

Options:
  --group=GROUP       Put the new primitive in GROUP (created if missing).
  --disabled          Create it with target-role=Stopped.
  --force             Accept unknown agents, options and nodes; debug-* a clone active in the cluster;
                      clone a fencing device.
  --before=RESOURCE   group add: put the resources before this member.
  --after=RESOURCE    group add: put the resources after this member.
  --full              debug-*: show the parameters the agent gets.
  --node=NODE         Clean up or refresh on NODE only.
  --output-as=FORMAT  text (default), json or xml.
  --wait=TIME         How long relocate run waits for the moves (60s).
"""


def _pairs(tokens: list[str], what: str) -> list[tuple[str, str | None]]:
    result: list[tuple[str, str | None]] = []
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or not name:
            raise UserError(f"invalid {what} '{token}': expected NAME=VALUE (NAME= removes it)", EXIT_USAGE)
        result.append((name, value if value != "" else None))
    return result


def _check_node(configuration: Configuration, current: state.Settings, node: str, force: bool) -> None:
    known = {info.name for info in configuration.node_infos()} | {current.local_node}
    if node not in known and not force:
        raise UserError(f"Node '{node}' does not seem to be in the cluster, use --force to override")


def _agent(text: str, current: state.Settings, force: bool) -> tuple[AgentRef, AgentMetadata | None]:
    try:
        standard, provider, agent_type = parse_agent_name(text)
    except AgentNotFound as error:
        raise UserError(str(error)) from None
    problem = agent_part_problem("provider", provider) or agent_type_problem(standard, agent_type)
    if problem is not None:
        raise UserError(problem)
    catalog = state.catalog(current)
    try:
        name = catalog.resolve(text)
        return AgentRef(name.standard, name.type, name.provider), catalog.metadata(name)
    except AgentNotFound as error:
        if standard is None and force and not error.message_is_ambiguity:
            # not installed on the hypervisor (it may exist only in the guests): the seed's `apache`
            print(f"Assumed agent name 'ocf:heartbeat:{agent_type}' (deduced from '{text}'; not installed here)",
                  file=sys.stderr)
            return AgentRef("ocf", agent_type, "heartbeat"), None
        if not error.forceable:
            raise UserError(str(error) + (", or use --force for ocf:heartbeat:" + agent_type
                                          if standard is None and not error.message_is_ambiguity else "")) from None
        if not force:
            raise UserError(f"{error}, use --force to override") from None
        assert standard is not None
        return AgentRef(standard, agent_type, provider), None


def _domain_file(resource: Primitive | Clone, force: bool) -> Primitive | Clone:
    """A VirtualDomain's `config` as the daemon will read it: a relative path is taken from where the command
    runs (the daemon's working directory is /), and a file that does not exist is refused unless --force."""
    for primitive in primitives((resource,)):
        if str(primitive.agent) != "ocf:heartbeat:VirtualDomain" or not primitive.params.get("config"):
            continue
        config = Path(primitive.params.get("config"))
        absolute = config if config.is_absolute() else Path.cwd() / config
        if not absolute.is_file() and not force:
            raise UserError(f"{primitive.id}: config {absolute} does not exist: give the domain XML's path "
                            "(a relative one is taken from the current directory), or --force")
        if absolute != config:
            fixed = dataclasses.replace(primitive, params=primitive.params.set("config", str(absolute)))
            resource = fixed if isinstance(resource, Primitive) else dataclasses.replace(resource, child=fixed)
    return resource


def _create(args: dict, current: state.Settings) -> None:
    agent, metadata = _agent(args["AGENT"], current, args["--force"])
    with state.model_errors():
        resource = build_resource(args["NAME"], agent, metadata, args["ARGS"], args["--force"], args["--disabled"])
    resource = _domain_file(resource, args["--force"])
    state.edit_configuration(current, lambda c: edits.add_resource(c, resource, args["--group"]))


def _update(args: dict, current: state.Settings) -> None:
    with state.open_store(current) as store:
        found = store.configuration().resource(args["NAME"])
    if found is None:
        raise UserError(f"resource '{args['NAME']}' does not exist")
    if not isinstance(found, Primitive):
        raise UserError(f"'{args['NAME']}' is a {kind_name(found)}; update one of its primitives")
    catalog = state.catalog(current)
    try:
        metadata = catalog.metadata(catalog.resolve(str(found.agent)))
    except AgentNotFound:
        metadata = None
        if not args["--force"]:
            raise UserError(f"agent {found.agent} is not installed here, use --force to update anyway") from None
    with state.model_errors():
        updated = update_primitive(found, metadata, args["ARGS"], args["--force"])
    state.edit_configuration(current, lambda c: edits.replace_resource(c, updated))


def _delete(args: dict, current: state.Settings) -> None:
    removed: list[str] = []

    def edit(configuration: Configuration) -> Configuration:
        updated, constraint_ids = edits.delete_resource(configuration, args["NAME"])
        removed[:] = constraint_ids
        return updated

    state.edit_configuration(current, edit)
    for constraint_id in removed:
        print(f"Removing Constraint - {constraint_id}")
    print(f"Deleting Resource - {args['NAME']}")


def _set_target_role(args: dict, current: state.Settings, value: str | None) -> None:
    def edit(configuration: Configuration) -> Configuration:
        for rid in args["RESOURCES"]:
            configuration = edits.set_meta(configuration, rid, "target-role", value)
        return configuration

    state.edit_configuration(current, edit)


def _move(args: dict, current: state.Settings) -> None:
    rid, node, force = args["NAME"], args["NODE"], args["--force"]
    with state.open_store(current) as store:
        snapshot = store.read()
    if node is None:
        places = sorted({where for where, _ in _placement(snapshot.status, snapshot.configuration, rid)})
        if len(places) != 1:
            raise UserError(f"Resource '{rid}' is {'not running' if not places else 'running on several nodes'}; "
                            "give the destination node")
        args = {**args, "NODE": places[0]}
        _ban(args, current)
        return

    _constrain(current, node, force, lambda c: edits.move(c, rid, node))
    print(f"Location constraint cli-prefer-{rid} (INFINITY on {node}) added; "
          f"remove it with `drover resource clear {rid}` once {rid} has moved")


def _constrain(current: state.Settings, node: str, force: bool, edit: edits.Edit) -> None:
    def checked(configuration: Configuration) -> Configuration:
        _check_node(configuration, current, node, force)
        return edit(configuration)

    state.edit_configuration(current, checked)


def _ban(args: dict, current: state.Settings) -> None:
    rid, node = args["NAME"], args["NODE"]
    _constrain(current, node, args["--force"], lambda c: edits.ban(c, rid, node))
    print(f"Location constraint cli-ban-{rid}-on-{node} (-INFINITY) added: {rid} will not run on {node} "
          f"until `drover resource clear {rid}`")


def _clear(args: dict, current: state.Settings) -> None:
    removed: list[str] = []

    def edit(configuration: Configuration) -> Configuration:
        updated, ids = edits.clear(configuration, args["NAME"], args["NODE"])
        removed[:] = ids
        return updated

    state.edit_configuration(current, edit)
    for constraint_id in removed:
        print(f"Removing constraint: {constraint_id}")


def _cleanup(args: dict, current: state.Settings) -> None:
    """As crm_resource --cleanup (--refresh): a configured resource, a guest node's implicit connection, or a
    deleted resource that still has history; without NAME every failed one (every one) of these."""
    with state.open_store(current) as store:
        configuration = store.configuration()
        status = store.read().status
    recorded = {base_id(h.resource) for h in status.history} | {base_id(f.resource) for f in status.fail_counts}
    connections = {p.guest_node for p in primitives(configuration.resources) if p.guest_node}
    name = args["NAME"]
    if name:
        resource = configuration.resource(name)
        if resource is not None:
            targets = {p.id for p in primitives((resource,))}
        elif name in connections or name in recorded:
            targets = {name}
        else:
            raise UserError(f"resource '{name}' does not exist")
    else:
        targets = {p.id for p in primitives(configuration.resources)} | connections | recorded
    before: list[Status] = []

    def edit(status: Status) -> Status:
        before.append(status)
        return cleanup(status, targets, args["--node"], failed_only=not args["refresh"])

    after = state.edit_status(current, edit)
    cleaned = sorted({(h.resource, h.node) for h in before[0].history} - {(h.resource, h.node) for h in after.history}
                     | {(f.resource, f.node) for f in before[0].fail_counts}
                     - {(f.resource, f.node) for f in after.fail_counts})
    for resource_id, node in cleaned:
        print(f"Cleaned up {resource_id} on {node}")
    if not cleaned:
        print("Nothing to clean up")


def _placement(status: Status, configuration: Configuration, rid: str) -> list[tuple[str, str]]:
    del configuration
    return active_on(status, rid)


def _list(args: dict, current: state.Settings) -> None:
    form = state.output_format(args, ("text", "json"))
    with state.open_store(current) as store:
        snapshot = store.read()

    resources = snapshot.configuration.resources
    if form == "json":
        state.print_json([resource_json(r, lambda rid: placement(snapshot, rid)) for r in resources])
        return
    if not resources:
        print("NO resources configured")
    for resource in resources:
        print("\n".join(resource_lines(resource, lambda rid: placement(snapshot, rid))))


def placement(snapshot, rid: str) -> list[tuple[str, str]]:
    """Where `rid` runs in `snapshot` (node, role), as the resource list shows it."""
    return _placement(snapshot.status, snapshot.configuration, rid)


def _locate(args: dict, current: state.Settings) -> None:
    """crm_resource --locate: 'resource NAME is running on: NODE' per node, or 'is NOT running'."""
    with state.open_store(current) as store:
        snapshot = store.read()
    name = args["NAME"]
    if snapshot.configuration.resource(name) is None and not active_on(snapshot.status, name):
        raise UserError(f"resource '{name}' does not exist", 105)
    places = _placement(snapshot.status, snapshot.configuration, name)
    if not places:
        print(f"resource {name} is NOT running")
    for node, role in places:
        print(f"resource {name} is running on: {node}" + (" Promoted" if role == "Promoted" else ""))


def _show(args: dict, current: state.Settings) -> None:
    form = state.output_format(args)
    with state.open_store(current) as store:
        configuration = store.configuration()
    if args["NAME"]:
        found = configuration.resource(args["NAME"])
        if found is None:
            raise UserError(f"resource '{args['NAME']}' does not exist")
        shown = (found,)
    else:
        shown = configuration.resources
    print_config(shown, form, single=bool(args["NAME"]))


def _config(args: dict, current: state.Settings) -> None:
    with state.open_store(current) as store:
        text = config_text(store.configuration(), args["RESOURCES"])
    if text:
        print(text)


def print_config(shown: tuple[Resource, ...], form: str, single: bool = False) -> None:
    """Resources' configuration as pcs's `config` prints it, or as JSON (one object when `single`) or XML."""
    if form == "json":
        state.print_json(resource_json(shown[0]) if single else [resource_json(r) for r in shown])
    elif form == "xml":
        print("".join(fragment_xml(write_resource, r) for r in shown), end="")
    else:
        for resource in shown:
            print("\n".join(resource_config(resource)))


def _meta(args: dict, current: state.Settings) -> None:
    pairs = _pairs(args["ARGS"], "meta attribute")
    with state.model_errors():
        for name, value in pairs:
            if value is not None:
                check_meta(name, value)

    def edit(configuration: Configuration) -> Configuration:
        for name, value in pairs:
            configuration = edits.set_meta(configuration, args["NAME"], name, value)
        return configuration

    state.edit_configuration(current, edit)


def _defaults(args: dict, current: state.Settings) -> None:
    tokens = [t for t in args["ARGS"] if t != "update"]
    if not tokens:
        with state.open_store(current) as store:
            defaults = store.configuration().rsc_defaults
        print("\n".join(f"{name}={value}" for name, value in defaults) if len(defaults) else "No defaults set")
        return
    pairs = _pairs(tokens, "resource default")
    with state.model_errors():
        for name, value in pairs:
            if value is not None:
                check_meta(name, value)

    def edit(configuration: Configuration) -> Configuration:
        for name, value in pairs:
            configuration = edits.set_option(configuration, "rsc_defaults", name, value)
        return configuration

    state.edit_configuration(current, edit)


def _op(args: dict, current: state.Settings) -> None:
    def edit(configuration: Configuration) -> Configuration:
        name = args["NAME"]
        if args["add"]:
            primitive = _primitive_named(configuration, name)
            catalog = state.catalog(current)
            try:
                metadata = catalog.metadata(catalog.resolve(str(primitive.agent)))
            except AgentNotFound:
                metadata = None
            updated = with_op_added(primitive, metadata, args["ACTION"], args["OPTIONS"], args["--force"])
            return edits.replace_resource(configuration, updated)
        owner = next((p for p in primitives(configuration.resources) if any(o.id == name for o in p.ops)), None)
        if owner is not None and args["ACTION"] is None:                     # op delete OP-ID
            return edits.replace_resource(configuration, dataclasses.replace(
                owner, ops=tuple(o for o in owner.ops if o.id != name)))
        primitive = _primitive_named(configuration, name)
        if args["ACTION"] is None:
            raise ModelError(f"give the action of {name}'s operation to delete, or an operation id")
        wanted = dict(_pairs(args["OPTIONS"], "operation option"))
        keep = [o for o in primitive.ops if not (o.name == args["ACTION"] and _op_matches(o, wanted))]
        if len(keep) == len(primitive.ops):
            raise ModelError(f"no {args['ACTION']} operation of {name} matches {' '.join(args['OPTIONS']) or 'it'}")
        return edits.replace_resource(configuration, dataclasses.replace(primitive, ops=tuple(keep)))

    state.edit_configuration(current, edit)


def _primitive_named(configuration: Configuration, name: str) -> Primitive:
    found = configuration.resource(name)
    if found is None:
        raise ModelError(f"resource '{name}' does not exist")
    if not isinstance(found, Primitive):
        raise ModelError(f"'{name}' is a {kind_name(found)}; give one of its primitives")
    return found


def _op_matches(op, wanted: dict[str, str | None]) -> bool:
    for key, value in wanted.items():
        if key == "interval":
            if value is None or op.interval_ms != parse_interval_ms(value, "interval"):
                return False
        elif {"timeout": op.timeout, "role": op.role, "on-fail": op.on_fail}.get(key, op.options.get(key)) != value:
            return False
    return True


def _bundle(args: dict, current) -> None:
    raise UserError("bundles are not run by drover: it runs no containers. A bundle in an imported CIB "
                    "(drover cib import) is kept, exported and scheduled by `drover simulate`, but the cluster "
                    "leaves it stopped; run the service in a guest instead (a VM with meta remote-node=NAME)")


ACTIONS = {
    "bundle": _bundle,                             # before create, update: `bundle create|update` has both words
    "relocate": resource_relocate.relocate,        # before show and clear: `relocate show|clear` has both words
    "group": resource_hierarchy.group,             # before delete and list: `group delete|list` has both words
    "ungroup": resource_hierarchy.ungroup,
    "clone": lambda args, current: resource_hierarchy.clone(args, current, promotable=False),
    "promotable": lambda args, current: resource_hierarchy.clone(args, current, promotable=True),
    "unclone": resource_hierarchy.unclone,
    "op": _op,
    "agents": lambda args, current: agents_cmd.agents(current, args["STANDARD"]),
    "describe": lambda args, current: agents_cmd.describe(current, args["AGENT"]),
    "standards": lambda args, current: agents_cmd.standards(current),
    "providers": lambda args, current: agents_cmd.providers(current),
    "create": _create, "delete": _delete, "update": _update, "move": _move, "ban": _ban, "clear": _clear,
    "cleanup": _cleanup, "refresh": _cleanup,
    "config": _config, "list": _list, "locate": _locate, "show": _show, "meta": _meta, "defaults": _defaults,
    "utilization": lambda args, current: utilization_cmd.resource(args, current),
    "enable": lambda args, current: _set_target_role(args, current, None),
    "disable": lambda args, current: _set_target_role(args, current, "Stopped"),
}


def dispatch(actions: dict, args: dict, context: Context) -> int:
    """Run the subcommand of `actions` that `args` names (a model error becomes the user's error)."""
    current = state.settings(context)
    action = next(name for name in actions if args.get(name))
    try:
        actions[action](args, current)
    except ModelError as error:
        raise UserError(error.message) from None
    return 0


def run(args: dict, context: Context) -> int:
    debug = next((verb for verb in ("start", "stop", "monitor", "promote", "demote") if args.get(f"debug-{verb}")),
                 None)
    if debug is not None:
        loaded = state.load_config(context)
        return resource_debug.run(state.settings(context, loaded=loaded), loaded["libvirt.uri"], args["NAME"], debug,
                                  args["--force"], args["--full"])
    return dispatch(ACTIONS, args, context)


COMMAND = Command(USAGE, run)

