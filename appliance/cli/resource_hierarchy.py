"""`drover resource group add|delete|remove|list`, `ungroup`, `clone`, `promotable`, `unclone`: pcs's commands
that put existing resources into groups and clones and take them out again.

Rules: pcs 0.11's grammar and messages (the edits are model/hierarchy.py); a
constraint removed on the way is named on stderr ("Removing Constraint - ID"),
as pcs does; every change is one transaction.
"""

from __future__ import annotations

import sys

from appliance.cli import state
from appliance.cli.resource_args import check_meta
from appliance.model import hierarchy
from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration
from appliance.model.resources import Group, Primitive, primitives, walk
from appliance.model.values import ModelError, is_true
from guest.agents.catalog import AgentNotFound
from guest.agents.metadata import AgentMetadata
from guest.common.cli import EXIT_USAGE
from guest.common.errors import UserError

CLONE_KEYWORDS = ("op", "meta")


def _edit(current: state.Settings, edit) -> None:
    removed: list[str] = []

    def recorded(configuration: Configuration) -> Configuration:
        updated, ids = edit(configuration)
        removed[:] = ids
        return updated

    state.edit_configuration(current, recorded)
    for constraint_id in removed:
        print(f"Removing Constraint - {constraint_id}", file=sys.stderr)


def group(args: dict, current: state.Settings) -> None:
    if args["list"]:
        with state.open_store(current) as store:
            configuration = store.configuration()
        for resource in walk(configuration.resources):
            if isinstance(resource, Group):
                print(" ".join([f"{resource.id}:", *(m.id for m in resource.members)]))
        return
    if args["add"]:
        if args["--before"] and args["--after"]:
            raise UserError("you cannot specify both --before and --after", EXIT_USAGE)
        adjacent = args["--before"] or args["--after"]
        _edit(current, lambda c: hierarchy.group_add(c, args["GROUP"], args["RESOURCES"], adjacent,
                                                     after=not args["--before"]))
        return
    ungroup(args, current)


def ungroup(args: dict, current: state.Settings) -> None:
    _edit(current, lambda c: hierarchy.ungroup(c, args["GROUP"], args["RESOURCES"]))


def _clone_options(tokens: list[str], promotable: bool) -> tuple[str | None, list[tuple[str, str]]]:
    """pcs's parse_clone: an optional clone id first, then clone meta options (k=v; the word meta may precede)."""
    tokens = list(tokens)
    clone_id = tokens.pop(0) if tokens and tokens[0] not in CLONE_KEYWORDS and "=" not in tokens[0] else None
    if "op" in tokens:
        raise UserError("op settings must be changed on base resource, not the clone", EXIT_USAGE)
    options: dict[str, str] = {}
    for token in tokens:
        if token == "meta":
            continue
        name, sep, value = token.partition("=")
        if not sep or not name:
            raise UserError(f"missing value of '{token}' option", EXIT_USAGE)
        options[name] = value
    if promotable:
        if "promotable" in options:
            raise UserError("you cannot specify both promotable option and promotable keyword", EXIT_USAGE)
        options["promotable"] = "true"
    for name, value in options.items():
        if value:
            check_meta(name, value)
    return clone_id, [(name, value) for name, value in options.items() if value]


def _check_agents(configuration: Configuration, rid: str, meta: Attributes, current: state.Settings,
                  force: bool) -> None:
    """pcs's checks: only OCF agents may be globally-unique or promotable clones, and an OCF 1.1 agent only
    promotable if it has promote and demote (that one --force overrides)."""
    resource = configuration.resource(rid)
    if resource is None:
        return
    group_id = resource.id if isinstance(resource, Group) else None
    where = f" in group '{group_id}'" if group_id else ""
    for primitive in primitives((resource,)):
        for option in ("globally-unique", "promotable"):
            if not is_true(meta.get(option, "false")):
                continue
            if primitive.agent.standard != "ocf":
                raise ModelError(f"Clone option '{option}' is not compatible with '{primitive.agent}' resource "
                                 f"agent of resource '{primitive.id}'{where}")
            if option == "promotable" and not force:
                metadata = _metadata(current, primitive)
                if metadata is not None and metadata.ocf_version == "1.1" and not metadata.provides_promotability:
                    raise ModelError(f"Clone option 'promotable' is not compatible with '{primitive.agent}' "
                                     f"resource agent of resource '{primitive.id}'{where}, use --force to override")


def _metadata(current: state.Settings, primitive: Primitive) -> AgentMetadata | None:
    catalog = state.catalog(current)
    try:
        return catalog.metadata(catalog.resolve(str(primitive.agent)))
    except AgentNotFound:
        return None


def clone(args: dict, current: state.Settings, promotable: bool) -> None:
    clone_id, options = _clone_options(args["CLONE_OPTIONS"], promotable)
    meta = Attributes.of(options)

    def edit(configuration: Configuration):
        _check_agents(configuration, args["NAME"], meta, current, args["--force"])
        found = configuration.resource(args["NAME"])
        if isinstance(found, Primitive) and found.agent.standard == "stonith" and not args["--force"]:
            raise ModelError(f"No need to clone stonith resource '{args['NAME']}', any node can use a stonith "
                             "resource (unless specifically banned) regardless of whether the stonith resource is "
                             "running on that node or not, use --force to override")
        return hierarchy.clone(configuration, args["NAME"], clone_id, meta)

    _edit(current, edit)


def unclone(args: dict, current: state.Settings) -> None:
    _edit(current, lambda c: hierarchy.unclone(c, args["NAME"]))
