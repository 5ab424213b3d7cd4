"""`drover resource relocate dry-run|run|show|clear`, as pcs has them: move resources to the nodes the scheduler
would give them if stickiness did not hold them where they are.

Rules: the preferred nodes come from the scheduler over the current state with resource-stickiness=0 on the
chosen resources (all when none are named) and their members, as pcs computes them through crm_simulate; a
resource the scheduler would start (or migrate, or promote) elsewhere gets a location constraint
`pcs-relocate-RSC` of INFINITY on that node (pcs's id and words, so `relocate clear` from either tool finds
them). `run` adds them, waits until the cluster has settled (the scheduler over the live state plans nothing)
within --wait, then removes them, as pcs does even when the wait timed out; `dry-run` prints the constraints
and the transition they would cause and changes nothing; `show` prints the state and the transition with
stickiness ignored; `clear` removes constraints an interrupted `run` left. Clone instances are not pinned (a
clone has no single node); a promotable clone's promotion is, with role=Promoted.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime

from appliance.cli import state
from appliance.cli.simulate_text import render
from appliance.model import edits
from appliance.model.cluster import Cib, Configuration
from appliance.model.constraints import Location
from appliance.model.history import base_id
from appliance.model.resources import Clone, Group, Resource, primitives
from appliance.model.values import INFINITY, parse_interval_ms
from appliance.scheduler.schedule import Transition, schedule
from guest.common.errors import UserError

PREFIX = "pcs-relocate-"
DEFAULT_WAIT_S = 60.0
POLL_S = 0.5


@dataclasses.dataclass(frozen=True)
class Pin:
    resource: str           # the top-level resource the constraint names
    node: str
    promoted: bool = False

    def describe(self) -> str:
        role = " role=Promoted" if self.promoted else ""
        return f"Creating location constraint: {self.resource} prefers {self.node}=INFINITY{role}"


def _unstuck(resource: Resource) -> Resource:
    meta = resource.meta.set("resource-stickiness", "0")
    if isinstance(resource, Group):
        return dataclasses.replace(resource, meta=meta, members=tuple(_unstuck(m) for m in resource.members))
    if isinstance(resource, Clone):
        return dataclasses.replace(resource, meta=meta, child=_unstuck(resource.child))
    return dataclasses.replace(resource, meta=meta)


def _without_stickiness(cib: Cib, chosen: set[str]) -> Cib:
    configuration = cib.configuration
    resources = tuple(_unstuck(r) if not chosen or r.id in chosen else r for r in configuration.resources)
    return dataclasses.replace(cib, configuration=dataclasses.replace(configuration, resources=resources))


def _tops(configuration: Configuration) -> dict[str, Resource]:
    """Each primitive's id -> the top-level resource it belongs to."""
    return {primitive.id: top for top in configuration.resources for primitive in primitives((top,))}


def _chosen(configuration: Configuration, names: list[str]) -> set[str]:
    tops = _tops(configuration)
    missing = [name for name in names if name not in {r.id for r in configuration.resources} and name not in tops]
    if missing:
        raise UserError(f"unable to find a resource/clone/group: {', '.join(missing)}")
    return {tops[name].id if name in tops else name for name in names}


def pins(cib: Cib, names: list[str]) -> tuple[list[Pin], Transition]:
    """The constraints that relocate `names` (every resource when empty), and the stickiness-free transition."""
    configuration = cib.configuration
    chosen = _chosen(configuration, names)
    optimal = schedule(_without_stickiness(cib, chosen), datetime.now())
    tops = _tops(configuration)
    found: dict[str, Pin] = {}
    for action in optimal.actions:
        top = tops.get(base_id(action.resource or ""))
        if top is None or (chosen and top.id not in chosen):
            continue
        if action.task == "promote" and isinstance(top, Clone):
            found[top.id] = Pin(top.id, action.node, promoted=True)
        elif action.task in ("start", "migrate_from") and not isinstance(top, Clone):
            found.setdefault(top.id, Pin(top.id, action.node))
    return list(found.values()), optimal


def _add(configuration: Configuration, wanted: list[Pin]) -> Configuration:
    for pin in wanted:
        constraint_id = edits.unique_id(configuration, f"{PREFIX}{pin.resource}")
        configuration = edits.add_constraint(configuration, Location(
            constraint_id, rsc=pin.resource, node=pin.node, score=INFINITY,
            role="Promoted" if pin.promoted else "Started"), allow_duplicate=True)
    return configuration


def _clear(current: state.Settings) -> None:
    removed: list[str] = []

    def edit(configuration: Configuration) -> Configuration:
        removed[:] = [c.id for c in configuration.constraints if c.id.startswith(PREFIX)]
        return edits.remove_constraints(configuration, lambda c: not c.id.startswith(PREFIX))

    state.edit_configuration(current, edit)
    for constraint_id in removed:
        print(f"Removing constraint {constraint_id}")


def _read(current: state.Settings) -> Cib:
    with state.open_store(current) as store:
        return store.read()


def _settled(current: state.Settings) -> bool:
    return not schedule(_read(current), datetime.now()).actions


def _wait_s(value: str | None) -> float:
    if value is None:
        return DEFAULT_WAIT_S
    with state.model_errors():
        return parse_interval_ms(value, "--wait") / 1000


def _summary(result: Transition) -> str:
    text = render(result)
    return text[:text.index("Revised Cluster Status:")].rstrip()


def relocate(args: dict, current: state.Settings) -> None:
    if args["show"]:
        _pins, optimal = pins(_read(current), [])
        print(_summary(optimal))
        return
    if args["clear"]:
        _clear(current)
        return
    dry = bool(args["dry-run"])
    timeout_s = _wait_s(args["--wait"])
    cib = _read(current)
    wanted, _optimal = pins(cib, args["RESOURCES"])
    if not wanted:
        print("Nothing to relocate: every resource already runs where it would be placed without stickiness")
        return
    for pin in wanted:
        print(pin.describe())
    if dry:
        with state.model_errors():
            pinned = dataclasses.replace(cib, configuration=_add(cib.configuration, wanted))
        print()
        print(_summary(schedule(pinned, datetime.now())))
        return
    with state.model_errors():
        state.edit_configuration(current, lambda c: _add(c, wanted))
    print("\nWaiting for resources to move...\n")
    deadline = time.monotonic() + timeout_s
    settled = _settled(current)
    while not settled and time.monotonic() < deadline:
        time.sleep(POLL_S)
        settled = _settled(current)
    _clear(current)
    if not settled:
        raise UserError(f"waiting timeout: the resources did not settle within {timeout_s:g}s (the constraints "
                        "were removed; the cluster goes on from where it is)")


__all__ = ["PREFIX", "Pin", "pins", "relocate"]
