"""`drover stonith ...`: fence devices as pcs makes them: create, update, delete, enable, disable, config,
status, list (the fence agents here), describe, level; fence and history are appliance.cli.fence_cmd's.

Rules: a fence device is a `stonith:AGENT` primitive (pcs's spelling: `stonith create NAME fence_ipmilan
k=v ...`); its parameters are checked against the agent's own metadata (`action=metadata` on stdin), the
fencer's `pcmk_*` options always accepted, and `--force` takes an agent not installed here. A device gets
pcs's `monitor interval=60s` unless an op is given. The other commands are `drover resource`'s, limited to
fence devices, so a fence device is never changed by mistake as a resource and the other way round.
"""

from __future__ import annotations

import dataclasses

from appliance.cli import agents_cmd, fence_cmd, resource_cmd, state
from appliance.cli.render import resource_lines
from appliance.cli.resource_args import build_resource, update_primitive
from appliance.fencing import plan as plans
from appliance.fencing.agent import FenceAgentError, FenceAgentMissing, check_params
from appliance.fencing.targets import TargetsError, targets
from appliance.model import edits
from appliance.model.fencing import FencingLevel, level, parse_devices, parse_index
from appliance.model.resources import AgentRef, Primitive, Resource
from appliance.model.values import ModelError
from guest.agents.metadata import AgentMetadata
from guest.common.cli import Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover stonith create NAME AGENT [ARGS...] [--disabled] [--force]
  drover stonith update NAME [ARGS...] [--force]
  drover stonith delete NAME
  drover stonith enable NAMES...
  drover stonith disable NAMES...
  drover stonith config [NAME] [--output-as=FORMAT]
  drover stonith show [NAME] [--output-as=FORMAT]
  drover stonith status
  drover stonith list [FILTER]
  drover stonith describe AGENT
  drover stonith fence NODE [--off]
  drover stonith history cleanup [NODE]
  drover stonith history [show] [NODE]
  drover stonith level [config]
  drover stonith level add LEVEL TARGET DEVICES... [--force]
  drover stonith level remove LEVEL [TARGET] [DEVICES...]
  drover stonith level clear [TARGET]

create: AGENT is a fence agent of Debian's fence-agents (fence_ipmilan, fence_virsh, fence_redfish, ...);
ARGS are its parameters (k=v; see `drover stonith describe AGENT`) and Pacemaker's fencer options
(pcmk_host_list, pcmk_host_map, pcmk_host_check, pcmk_delay_max, ...), then op ACTION k=v ... and
meta k=v ... as for `drover resource create`. A device fences the hosts pcmk_host_list or pcmk_host_map
name (else whatever its agent's `list` reports). list: the fence agents installed here.
level: Pacemaker's fencing topology, as pcs spells it: TARGET is a node name, regexp%PATTERN or
attrib%NAME=VALUE; LEVEL 1 to 9 orders a target's levels (tried in order; a level succeeds when all its
DEVICES do). remove: the level LEVEL (of TARGET, made of DEVICES when given); clear: all levels (of TARGET).
fence: power NODE off and on again (--off: off only) with the devices that can fence it, run from another
host; its resources are then recovered elsewhere. history: what was fenced, by whom, how it ended; cleanup
forgets the finished events (of NODE).

Options:
  --disabled          Create it with target-role=Stopped.
  --off               Fence by powering off (stonith-action=off) instead of rebooting.
  --force             Accept an agent not installed here and parameters its metadata does not name.
  --output-as=FORMAT  text (default), json or xml.
"""

DEFAULT_MONITOR = ["op", "monitor", "interval=60s"]


def _metadata(agent: str, force: bool) -> AgentMetadata | None:
    try:
        return agents_cmd.fence_metadata(agent)
    except FenceAgentMissing as error:
        if force:
            return None
        raise UserError(f"{error}, use --force to override") from None
    except FenceAgentError as error:
        raise UserError(str(error)) from None


def _device(configuration, name: str) -> Primitive:
    found = configuration.resource(name)
    if found is None:
        raise UserError(f"stonith device '{name}' does not exist")
    if not _is_device(found):
        raise UserError(f"'{name}' is not a stonith device (use drover resource)")
    return found


def _is_device(resource: Resource) -> bool:
    return isinstance(resource, Primitive) and resource.agent.standard == "stonith"


def _check(metadata: AgentMetadata | None, device: Primitive, force: bool) -> None:
    try:
        targets(dict(device.params))
        plans.check_options(dict(device.params))
        if metadata is not None and not force:
            check_params(metadata, dict(device.params))
    except (FenceAgentError, TargetsError) as error:
        raise UserError(f"{error}" + ("" if isinstance(error, TargetsError) else ", use --force to override")) \
            from None


def _known_hosts(configuration, device: Primitive, force: bool, before: Primitive | None = None) -> Primitive:
    """`device`, unless its pcmk_host_list/pcmk_host_map name a host the cluster does not have (a typo would
    leave that host without fencing, found only when it is lost); on update, only the hosts it newly names."""
    known = {info.name for info in configuration.node_infos()}
    if before is not None:
        known |= set(targets(dict(before.params)).plugs)
    unknown = sorted(set(targets(dict(device.params)).plugs) - known)
    if unknown and not force:
        raise UserError(f"{device.id}: pcmk_host_list/pcmk_host_map name {', '.join(unknown)}, not a node of this "
                        f"cluster (its nodes: {', '.join(sorted(known)) or 'none'}); use --force to override")
    return device


def _create(args: dict, current: state.Settings) -> None:
    agent = args["AGENT"].removeprefix("stonith:")
    metadata = _metadata(agent, args["--force"])
    tokens = list(args["ARGS"])
    if "op" not in tokens:
        tokens += DEFAULT_MONITOR
    with state.model_errors():
        # parameters are checked here against the fence agent's metadata (the fencer's pcmk_* included)
        device = build_resource(args["NAME"], AgentRef("stonith", agent), None, tokens, True, args["--disabled"])
    if not isinstance(device, Primitive):
        raise UserError("a stonith device is one primitive (no clone, promotable or group)")
    _check(metadata, device, args["--force"])
    state.edit_configuration(current, lambda c: edits.add_resource(c, _known_hosts(c, device, args["--force"])))


def _update(args: dict, current: state.Settings) -> None:
    with state.open_store(current) as store:
        device = _device(store.configuration(), args["NAME"])
    metadata = _metadata(device.agent.type, True)
    with state.model_errors():
        updated = update_primitive(device, None, args["ARGS"], True)
    _check(metadata, updated, args["--force"])
    state.edit_configuration(current, lambda c: edits.replace_resource(
        c, _known_hosts(c, updated, args["--force"], device)))


def _only_devices(names: list[str], current: state.Settings) -> None:
    with state.open_store(current) as store:
        configuration = store.configuration()
    for name in names:
        _device(configuration, name)


def _delete(args: dict, current: state.Settings) -> None:
    _only_devices([args["NAME"]], current)
    resource_cmd.ACTIONS["delete"](args, current)


def _set_role(args: dict, current: state.Settings, action: str) -> None:
    _only_devices(args["NAMES"], current)
    resource_cmd.ACTIONS[action]({**args, "RESOURCES": args["NAMES"]}, current)


def _config(args: dict, current: state.Settings) -> None:
    if args["NAME"]:
        _only_devices([args["NAME"]], current)
        resource_cmd.ACTIONS["show"](args, current)
        return
    with state.open_store(current) as store:
        devices = tuple(r for r in store.configuration().resources if _is_device(r))
    resource_cmd.print_config(devices, state.output_format(args))


def _status(args: dict, current: state.Settings) -> None:
    with state.open_store(current) as store:
        snapshot = store.read()
    devices = [r for r in snapshot.configuration.resources if _is_device(r)]
    if not devices:
        print("NO stonith devices configured")
    for device in devices:
        print("\n".join(resource_lines(device, lambda rid: resource_cmd.placement(snapshot, rid))))


def _list(args: dict, current: state.Settings) -> None:
    catalog = state.catalog(current)
    wanted = (args["FILTER"] or "").lower()
    for name in catalog.agents("stonith"):
        if wanted in name.type.lower():
            print(name.type)


def _describe(args: dict, current: state.Settings) -> None:
    agents_cmd.describe(current, "stonith:" + args["AGENT"].removeprefix("stonith:"))


def _level(args: dict, current: state.Settings) -> None:
    if args["add"]:
        _level_add(args, current)
    elif args["remove"]:
        _level_remove(args, current)
    elif args["clear"]:
        _level_clear(args, current)
    else:
        with state.open_store(current) as store:
            levels = store.configuration().fencing_levels
        by_target: dict[str, list[FencingLevel]] = {}
        for item in levels:
            by_target.setdefault(item.target_text, []).append(item)
        for target, items in by_target.items():
            print(f"Target: {target}")
            for item in sorted(items, key=lambda i: i.index):
                print(f"  Level {item.index} - {','.join(item.devices)}")


def _level_add(args: dict, current: state.Settings) -> None:
    with state.model_errors():
        index = parse_index(args["LEVEL"])
        devices = tuple(d for text in args["DEVICES"] for d in parse_devices(text))
        added = level(args["TARGET"], index, devices)

    def edit(configuration):
        if not args["--force"]:
            for device in devices:
                found = configuration.resource(device)
                if found is None or not _is_device(found):
                    raise ModelError(f"{device} is not a stonith device, use --force to override")
            known = {info.name for info in configuration.node_infos()} | {current.local_node}
            if added.target is not None and added.target not in known:
                raise ModelError(f"Node '{added.target}' does not seem to be in the cluster, use --force to "
                                 "override")
        return dataclasses.replace(configuration, fencing_levels=(*configuration.fencing_levels, added))
    state.edit_configuration(current, edit)


def _level_remove(args: dict, current: state.Settings) -> None:
    with state.model_errors():
        index = parse_index(args["LEVEL"])
    target, devices = args["TARGET"], tuple(args["DEVICES"])

    def matches(item: FencingLevel) -> bool:
        return item.index == index and (target is None or item.target_text == target) and \
            (not devices or item.devices == tuple(d for text in devices for d in text.split(",") if d))

    def edit(configuration):
        kept = tuple(item for item in configuration.fencing_levels if not matches(item))
        if len(kept) == len(configuration.fencing_levels):
            raise ModelError(f"Fencing level for '{target or 'any target'}' at level '{index}'"
                             + (f" with device(s) '{','.join(devices)}'" if devices else "") + " does not exist")
        return dataclasses.replace(configuration, fencing_levels=kept)
    state.edit_configuration(current, edit)


def _level_clear(args: dict, current: state.Settings) -> None:
    target = args["TARGET"]
    state.edit_configuration(current, lambda configuration: dataclasses.replace(
        configuration, fencing_levels=tuple(item for item in configuration.fencing_levels
                                            if target is not None and item.target_text != target)))


ACTIONS = {
    "level": _level,
    "create": _create, "update": _update, "delete": _delete, "config": _config, "status": _status,
    "list": _list, "describe": _describe, "fence": fence_cmd.fence, "history": fence_cmd.history,
    "enable": lambda args, current: _set_role(args, current, "enable"),
    "disable": lambda args, current: _set_role(args, current, "disable"),
    "show": _config,                   # pcs 0.10's spelling of config (after history: `history show` has both)
}


def run(args: dict, context: Context) -> int:
    return resource_cmd.dispatch(ACTIONS, args, context)


COMMAND = Command(USAGE, run)
