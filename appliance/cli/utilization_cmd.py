"""`drover resource utilization` and `drover node utilization`: what resources need and nodes offer (pcs).

Rules: pcs 0.11's spelling and output ("Resource Utilization:" / "Node Utilization:", one ` NAME: k=v ...` line
each, names sorted); values are integers, `k=` removes one; only primitives carry utilization. Pacemaker uses
them under placement-strategy utilization, minimal or balanced (drover property set placement-strategy=...).
"""

from __future__ import annotations

import dataclasses

from appliance.cli import state
from appliance.model import edits
from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration
from appliance.model.resources import Primitive, kind_name, primitives
from appliance.model.values import ModelError, shown
from guest.common.cli import EXIT_USAGE
from guest.common.errors import UserError


def _pairs(tokens: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or not name:
            raise UserError(f"missing value of '{token}' option", EXIT_USAGE)
        if value != "" and not value.lstrip("-").isdigit():
            raise UserError(f"Value of utilization attribute must be integer: '{name}={value}'")
        pairs.append((name, value))
    return pairs


def _updated(attrs: Attributes, pairs: list[tuple[str, str]]) -> Attributes:
    for name, value in pairs:
        attrs = attrs.set(name, value) if value else attrs.without(name)
    return Attributes(tuple(sorted(attrs.items)))


def _line(name: str, attrs: Attributes) -> str:
    return f" {name}: {' '.join(f'{k}={v}' for k, v in sorted(attrs))}"


def resource(args: dict, current: state.Settings) -> None:
    rid = args["NAME"]
    if rid is not None and args["ARGS"]:
        pairs = _pairs(args["ARGS"])

        def edit(configuration: Configuration) -> Configuration:
            found = configuration.resource(rid)
            if not isinstance(found, Primitive):
                raise ModelError(f"Unable to find a resource: {rid}" if found is None else
                                 f"{shown(rid)} is a {kind_name(found)}: utilization is set on its primitives")
            return edits.replace_resource(configuration, dataclasses.replace(
                found, utilization=_updated(found.utilization, pairs)))
        state.edit_configuration(current, edit)
        return
    with state.open_store(current) as store:
        configuration = store.configuration()
    print("Resource Utilization:")
    if rid is not None:
        found = configuration.resource(rid)
        if not isinstance(found, Primitive):
            raise ModelError(f"Unable to find a resource: {rid}")
        print(_line(rid, found.utilization))
        return
    for primitive in sorted(primitives(configuration.resources), key=lambda p: p.id):
        if len(primitive.utilization):
            print(_line(primitive.id, primitive.utilization))


def node(args: dict, current: state.Settings) -> None:
    name = args["NODE"][0] if args["NODE"] else None
    if name is not None and args["ARGS"]:
        if args["--name"]:
            raise UserError("--name is for showing a node's utilization, not for setting it", EXIT_USAGE)
        pairs = _pairs(args["ARGS"])

        def edit(configuration: Configuration) -> Configuration:
            if configuration.node_info(name) is None:
                raise ModelError(f"Unable to find a node: {name}")
            if configuration.node(name) is None:
                if all(not value for _, value in pairs):
                    return configuration         # nothing to remove from a node with no entry, as pcs
                configuration = edits.ensure_node(configuration, name, "remote")
            configured = configuration.node(name)
            assert configured is not None
            updated = dataclasses.replace(configured, utilization=_updated(configured.utilization, pairs))
            return dataclasses.replace(configuration, nodes=tuple(updated if n.name == name else n
                                                                  for n in configuration.nodes))
        state.edit_configuration(current, edit)
        return
    with state.open_store(current) as store:
        configuration = store.configuration()
    if name is not None and configuration.node_info(name) is None:
        raise ModelError(f"Unable to find a node: {name}")
    print("Node Utilization:")
    for configured in sorted(configuration.nodes, key=lambda n: n.name):
        if name is not None and configured.name != name:
            continue
        shown_attrs = Attributes(tuple((k, v) for k, v in configured.utilization
                                       if args["--name"] is None or k == args["--name"]))
        if len(shown_attrs):
            print(_line(configured.name, shown_attrs))
