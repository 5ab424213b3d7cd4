"""Which hosts a fence device can fence, and under which plug, from Pacemaker's device options.

Rules (Pacemaker 2.1.5's fencer): `pcmk_host_map` ("node1:plug1;node2:plug2", separators `;`, `,` or
spaces; `node=plug` too) names hosts and their plugs; `pcmk_host_list` names hosts whose plug is their own
name; `pcmk_host_check` says how to decide (static-list, dynamic-list, status, none) and defaults to
static-list when either list is given, else dynamic-list (ask the agent's `list`). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[;,\s]+")


class TargetsError(ValueError):
    pass


@dataclass(frozen=True)
class Targets:
    check: str                           # static-list, dynamic-list, status, none
    plugs: Mapping[str, str]             # host -> plug, for static-list

    def plug(self, host: str) -> str | None:
        """The plug for `host` when the static list decides (None: not this device's host)."""
        return self.plugs.get(host)


def host_map(text: str) -> dict[str, str]:
    mapping = {}
    for entry in _SEPARATORS.split(text.strip()):
        if not entry:
            continue
        host, separator, plug = entry.replace("=", ":", 1).partition(":")
        if not separator or not host or not plug:
            raise TargetsError(f"pcmk_host_map entry {entry!r} is not HOST:PLUG")
        mapping[host] = plug
    return mapping


def targets(params: Mapping[str, str]) -> Targets:
    plugs = {host: host for host in _SEPARATORS.split(params.get("pcmk_host_list", "").strip()) if host}
    plugs.update(host_map(params.get("pcmk_host_map", "")))
    check = params.get("pcmk_host_check") or ("static-list" if plugs else "dynamic-list")
    if check not in ("static-list", "dynamic-list", "status", "none"):
        raise TargetsError(f"pcmk_host_check={check!r}: expected static-list, dynamic-list, status or none")
    return Targets(check, plugs)
