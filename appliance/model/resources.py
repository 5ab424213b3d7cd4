"""Resources: primitives, groups, clones (promotable too), resource templates and their operations.

Rules: a group holds primitives only; a clone wraps one primitive or one group;
promotable clones are clones with meta promotable=true (a legacy <master> is
read as that). A primitive made from a <template> holds the result (the
template's agent, attributes and operations with its own on top), which is what
everything but the CIB writer reads; `template` keeps what it wrote itself.
Ids are unique across the whole configuration (checked in cluster.validate).
An agent's class is one drover runs, and its provider and type are plain file
names (they end up in paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from appliance.model.attributes import Attributes
from appliance.model.values import is_true, shown

STANDARDS = ("ocf", "lsb", "service", "systemd", "stonith")
_AGENT_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+@-]{0,127}")


@dataclass(frozen=True)
class AgentRef:
    standard: str                 # ocf, systemd, lsb, service, stonith
    type: str
    provider: str | None = None   # ocf only

    def __str__(self) -> str:
        if self.provider:
            return f"{self.standard}:{self.provider}:{self.type}"
        return f"{self.standard}:{self.type}"

    @property
    def is_remote_connection(self) -> bool:
        return self.standard == "ocf" and self.provider == "pacemaker" and self.type == "remote"


def agent_problem(standard: str, provider: str | None, agent_type: str, strict: bool = False) -> str | None:
    """Why an agent name is not one Pacemaker's schema accepts, or None; `strict` (names users type): also
    one drover could not find where its standard keeps agents. A stored name is never run outside those
    places (the runners refuse an OCF type with a '/'), whatever an imported CIB says."""
    if standard not in STANDARDS:
        return f"unknown class {shown(standard)}: expected one of {', '.join(STANDARDS)}"
    if standard == "ocf" and not provider:
        return "ocf resources need a provider"
    if standard != "ocf" and provider is not None:
        return f"only ocf resources have a provider, not {standard}"
    if not strict:
        return agent_part_problem("provider", provider) or _loose_type_problem(agent_type)
    return agent_part_problem("provider", provider) or agent_type_problem(standard, agent_type)


def _loose_type_problem(agent_type: str) -> str | None:
    """Old CIBs name types by path (Pacemaker's own regression inputs: /usr/lib/heartbeat/cts/OCFMSDummy)."""
    parts = agent_type.split("/")
    if all(part == "" or not agent_part_problem("type", part) for part in parts) and any(parts) \
            and len(agent_type) <= 1024:
        return None
    return agent_part_problem("type", agent_type) or f"invalid agent type {shown(agent_type)}"


def agent_type_problem(standard: str | None, agent_type: str) -> str | None:
    """As Pacemaker names agents: an lsb type may be a script's absolute path, a stonith type a cluster-glue
    plugin (external/NAME); every other type is a plain file name."""
    if standard == "lsb" and agent_type.startswith("/"):
        parts = agent_type.split("/")[1:]
        if parts and all(part and part != ".." and not agent_part_problem("type", part) for part in parts):
            return None
    if standard == "stonith" and agent_type.startswith("external/") and agent_type.count("/") == 1:
        return agent_part_problem("type", agent_type.split("/", 1)[1])
    return agent_part_problem("type", agent_type)


def agent_part_problem(what: str, part: str | None) -> str | None:
    """A provider or type ends up in a path: only a plain file name is accepted."""
    if part is not None and (not _AGENT_PART.fullmatch(part) or ".." in part):
        return (f"invalid agent {what} {shown(part)}: use letters, digits, '_', '.', '+', '@' or '-' "
                "(at most 128 characters, no '..')")
    return None


@dataclass(frozen=True)
class Op:
    id: str
    name: str
    interval_ms: int = 0
    role: str | None = None
    timeout: str | None = None
    on_fail: str | None = None
    options: Attributes = field(default_factory=Attributes)   # other <op> XML attributes (start-delay, enabled, ...)
    params: Attributes = field(default_factory=Attributes)    # <op><instance_attributes> (OCF_CHECK_LEVEL)
    meta: Attributes = field(default_factory=Attributes)


@dataclass(frozen=True)
class TemplateUse:
    """A primitive's `template="..."`, and the attributes and operations the primitive itself writes."""

    template: str
    params: Attributes = field(default_factory=Attributes)
    meta: Attributes = field(default_factory=Attributes)
    ops: tuple[Op, ...] = ()
    utilization: Attributes = field(default_factory=Attributes)


@dataclass(frozen=True)
class Primitive:
    id: str
    agent: AgentRef
    params: Attributes = field(default_factory=Attributes)
    meta: Attributes = field(default_factory=Attributes)
    ops: tuple[Op, ...] = ()
    utilization: Attributes = field(default_factory=Attributes)
    description: str | None = None
    template: TemplateUse | None = None

    @property
    def guest_node(self) -> str | None:
        """The guest node this primitive's VM/container hosts (meta remote-node)."""
        return self.meta.get("remote-node") or None

    def children(self) -> tuple[Resource, ...]:
        return ()


@dataclass(frozen=True)
class Group:
    id: str
    members: tuple[Primitive, ...]
    meta: Attributes = field(default_factory=Attributes)
    description: str | None = None

    def children(self) -> tuple[Resource, ...]:
        return self.members


@dataclass(frozen=True)
class Clone:
    id: str
    child: Primitive | Group
    meta: Attributes = field(default_factory=Attributes)
    description: str | None = None

    @property
    def promotable(self) -> bool:
        return is_true(self.meta.get("promotable"))

    def children(self) -> tuple[Resource, ...]:
        return (self.child,)


Resource = Primitive | Group | Clone


@dataclass(frozen=True)
class Template:
    """<template>: a primitive's agent, attributes and operations, for primitives that name it to share."""

    id: str
    agent: AgentRef
    params: Attributes = field(default_factory=Attributes)
    meta: Attributes = field(default_factory=Attributes)
    ops: tuple[Op, ...] = ()
    utilization: Attributes = field(default_factory=Attributes)
    description: str | None = None


REMOTE_MONITOR_MS = 30_000      # a remote connection without a monitor gets one (Pacemaker's pe_create_remote_xml)
_ROLE_ALIASES = {"Slave": "Unpromoted", "Master": "Promoted", "Started": "Unpromoted"}


def monitors_for_role(ops: tuple[Op, ...], role: str, remote_connection: bool = False,
                      owner: str = "") -> list[Op]:
    """The recurring monitors to run for a resource active in `role` (Started/Unpromoted/Promoted): enabled
    ones with that role (Started and Unpromoted are one), or without a role unless Promoted (Pacemaker cancels
    those on promotion: they are the Unpromoted role's); none of two sharing an interval."""
    wanted = []
    mine = "Unpromoted" if role == "Started" else role
    configured = [(op.name, op.interval_ms) for op in ops]
    for op in ops:
        if op.name != "monitor" or op.interval_ms <= 0 or not is_true(op.options.get("enabled", "true")):
            continue
        if configured.count((op.name, op.interval_ms)) > 1:
            continue          # Pacemaker runs none of ops sharing a name and interval (a configuration error)
        op_role = _ROLE_ALIASES.get(op.role or "", op.role)
        if op_role == mine or (op_role is None and mine != "Promoted"):
            wanted.append(op)
    if not wanted and remote_connection:
        wanted.append(Op(f"{owner}-monitor-interval-30s", "monitor", REMOTE_MONITOR_MS))
    return wanted


def walk(resources: tuple[Resource, ...]) -> Iterator[Resource]:
    """Every resource, parents before children, in configuration order."""
    for resource in resources:
        yield resource
        yield from walk(resource.children())


def primitives(resources: tuple[Resource, ...]) -> Iterator[Primitive]:
    for resource in walk(resources):
        if isinstance(resource, Primitive):
            yield resource


def parents(resources: tuple[Resource, ...]) -> dict[str, str]:
    """child id -> parent id for every nested resource."""
    result: dict[str, str] = {}
    for resource in walk(resources):
        for child in resource.children():
            result[child.id] = resource.id
    return result


def kind_name(resource: Resource) -> str:
    if isinstance(resource, Clone):
        return "promotable clone" if resource.promotable else "clone"
    return "group" if isinstance(resource, Group) else "primitive"
