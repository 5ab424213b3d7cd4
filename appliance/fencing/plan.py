"""Which devices fence a node, in which order, and from which hosts: Pacemaker 2.1.5's fencer's choices, pure.

Rules:
- With fencing-topology levels for the target (by name, pattern or node attribute), they are tried in index
  order and each level needs all its devices in turn (a level naming a device that is not configured fails).
  Without levels, every enabled stonith device that may fence the target is tried alone, highest `priority`
  first, then in configuration order; the first that succeeds decides.
- A device is not used while disabled (`target-role=Stopped`), as the fencer unregisters it.
- `pcmk_host_check` decides whether a device may fence the target: static-list (pcmk_host_list/map), none
  (any node), or dynamic-list/status, which ask the agent on the executing host (the fencer's job).
- A device runs from a member host other than the target, never one it is banned from (a -INFINITY
  location): first the host its resource runs on, then the host that asked, then the others by name. The
  target may fence itself only when no other member exists (Pacemaker's "suicide" fallback).
- Timeout: the device's `pcmk_<action>_timeout`, else `stonith-timeout` (60s). Delay before the fencing
  action (not list/status): `pcmk_delay_base` plus a random part up to `pcmk_delay_max`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from appliance.fencing.targets import Targets, TargetsError, targets
from appliance.model.cluster import Configuration
from appliance.model.constraints import Location
from appliance.model.history import active_on
from appliance.model.resources import Primitive, primitives
from appliance.model.status import Status
from appliance.model.values import INFINITY, ModelError, parse_interval_ms

DEFAULT_STONITH_TIMEOUT_MS = 60_000


class PlanError(ValueError):
    """Nothing can fence the target as configured; the message says why."""


@dataclass(frozen=True)
class Device:
    id: str
    agent: str
    params: Mapping[str, str]
    targets: Targets
    priority: int = 0

    def action_for(self, action: str) -> str:
        """The agent action a fencing action maps to (pcmk_reboot_action, pcmk_off_action)."""
        return self.params.get(f"pcmk_{action}_action") or action

    def timeout_s(self, action: str, stonith_timeout_ms: int) -> float:
        own = _seconds(self.params.get(f"pcmk_{action}_timeout"))
        return own if own > 0 else stonith_timeout_ms / 1000

    def delay_s(self, draw: float) -> float:
        """The delay before this device's fencing action, `draw` uniform in [0, 1)."""
        base = _seconds(self.params.get("pcmk_delay_base"))
        most = _seconds(self.params.get("pcmk_delay_max"))
        return base + draw * max(0.0, most - base) if most > base else base


@dataclass(frozen=True)
class Plan:
    levels: tuple[tuple[Device, ...], ...]     # tried in order; each level's devices all needed
    topology: bool                             # levels from fencing-topology (else: one device per level)
    missing: tuple[str, ...] = ()              # devices that levels name but the configuration lacks


def devices(configuration: Configuration) -> dict[str, Device]:
    """Every enabled stonith device whose options can be read, by id."""
    found = {}
    for primitive in primitives(configuration.resources):
        if primitive.agent.standard != "stonith" or _disabled(primitive):
            continue
        params = primitive.params.as_dict()
        try:
            device_targets = targets(params)
        except TargetsError:
            continue                              # its start fails with that message; it is not registered
        found[primitive.id] = Device(primitive.id, primitive.agent.type, params, device_targets,
                                     _int(primitive.meta.get("priority") or params.get("priority")))
    return found


def plan(configuration: Configuration, status: Status, target: str) -> Plan:
    """The order in which devices are tried to fence `target`. Raises PlanError when none is configured."""
    known = devices(configuration)
    attributes = _node_attributes(configuration, status, target)
    levels = sorted((level for level in configuration.fencing_levels if level.targets(target, attributes)),
                    key=lambda level: level.index)
    if levels:
        missing = tuple(d for level in levels for d in level.devices if d not in known)
        usable = tuple(tuple(known[d] for d in level.devices) for level in levels
                       if all(d in known for d in level.devices))
        if not usable:
            raise PlanError(f"no fencing level for {target} can be used: it names "
                            f"{', '.join(sorted(set(missing)))}, not configured or disabled")
        return Plan(usable, True, missing)
    candidates = [d for d in known.values() if may_fence_statically(d, target) is not False]
    if not candidates:
        raise PlanError(f"no fence device can fence {target}" + (
            f" (configured: {', '.join(sorted(known))}, none lists it in pcmk_host_list or pcmk_host_map)"
            if known else " (none is configured: drover stonith create ...)"))
    order = {rid: i for i, rid in enumerate(known)}
    candidates.sort(key=lambda d: (-d.priority, order[d.id]))
    return Plan(tuple((d,) for d in candidates), False)


def may_fence_statically(device: Device, target: str) -> bool | None:
    """True/False when the device's options decide; None when its agent must be asked (dynamic-list, status)."""
    check = device.targets.check
    if check == "static-list":
        return device.targets.plug(target) is not None
    if check == "none":
        return True
    return None


def plug(device: Device, target: str) -> str:
    """The plug the agent is given for `target`."""
    return device.targets.plug(target) or target


def executing_hosts(configuration: Configuration, status: Status, device: str, target: str,
                    members: list[str], origin: str) -> list[str]:
    """Member hosts that may run `device` against `target`, best first (see the module rules)."""
    banned = {c.node for c in configuration.constraints if _bans(c, device)}
    allowed = [host for host in members if host not in banned]
    running = {node for node, _role in active_on(status, device)}
    others = [host for host in allowed if host != target]
    if not others:
        return [target] if target in allowed else []
    return sorted(others, key=lambda host: (host not in running, host != origin, host))


def stonith_timeout_ms(configuration: Configuration) -> int:
    text = configuration.cluster_options.get("stonith-timeout")
    try:
        return parse_interval_ms(text, "stonith-timeout") if text else DEFAULT_STONITH_TIMEOUT_MS
    except ModelError:
        return DEFAULT_STONITH_TIMEOUT_MS


def _bans(constraint, device: str) -> bool:
    return isinstance(constraint, Location) and constraint.rsc == device and constraint.node is not None \
        and constraint.score is not None and constraint.score <= -INFINITY and not constraint.rules


def _disabled(primitive: Primitive) -> bool:
    return (primitive.meta.get("target-role") or "").lower() == "stopped"


def _node_attributes(configuration: Configuration, status: Status, node: str) -> dict[str, str]:
    configured = configuration.node(node)
    attributes = configured.attributes.as_dict() if configured is not None else {}
    attributes.update(status.transient(node).as_dict())
    return {"#uname": node, **attributes}


_DURATION_OPTION = re.compile(r"pcmk_delay_(base|max)|pcmk_\w+_timeout")
_COUNT_OPTION = re.compile(r"pcmk_\w+_retries|pcmk_action_limit|priority")


def check_options(params: Mapping[str, str]) -> None:
    """The fencer's duration and count options must read as such: a bad one would otherwise count as 0 (no delay,
    the default timeout) without a word."""
    for name, value in params.items():
        if _DURATION_OPTION.fullmatch(name):
            try:
                parse_interval_ms(value, name)
            except ModelError as error:
                hint = " (a per-host map is not supported)" if ":" in value else ""
                raise TargetsError(error.message + hint) from None
        elif _COUNT_OPTION.fullmatch(name) and not value.strip().lstrip("-").isdigit():
            raise TargetsError(f"invalid {name} {value!r}: expected a whole number")


def _seconds(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return parse_interval_ms(text, "delay") / 1000
    except ModelError:
        return 0.0


def _int(text: str | None) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0
