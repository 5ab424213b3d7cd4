"""The scheduler's private working state: nodes and resources as mutable objects for one run.

Rules: built fresh by unpack for every schedule() call and never shared, so
the scheduler stays a pure function of its input; field names follow
Pacemaker's (allowed nodes and their weights, running_on, next_role, ...)
so the algorithms can be compared with Pacemaker's line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from appliance.model import rule_sets
from appliance.model.attributes import Attributes
from appliance.model.resources import AgentRef

ROLE_ORDER = {"Unknown": 0, "Stopped": 1, "Started": 2, "Unpromoted": 3, "Promoted": 4}


@dataclass(eq=False)
class WNode:
    name: str
    id: str
    kind: str                           # cluster | remote | guest
    attrs: dict[str, str] = field(default_factory=dict)
    online: bool = False
    standby: bool = False
    maintenance: bool = False
    unclean: bool = False
    fence_reason: str = ""                # why it must be fenced (the first reason found, as Pacemaker keeps it)
    shutdown: bool = False
    pending: bool = False
    remote_rsc: WRsc | None = None      # connection resource (remote) or container (guest)
    num_resources: int = 0
    unseen: bool = False
    fenced: bool = False
    remote_was_running: bool = False
    remote_was_fenced: bool = False     # a remote node's status says it was fenced since its connection failed
    requires_reset: bool = False          # a guest whose container failed: "fenced" by recovering the container
    pending_attrs: dict[str, str] | None = None   # a remote/guest node's attributes, read once it is up
    declared_standby: bool = False        # what the attributes say, whether or not Pacemaker has read them yet
    declared_maintenance: bool = False
    utilization: dict[str, int] = field(default_factory=dict)   # remaining capacity (placement-strategy)

    def unfenced(self) -> bool:
        """Pacemaker's pcmk__node_unfenced: #node-unfenced is set and not 0."""
        return self.attrs.get("#node-unfenced") not in (None, "0")

    def must_be_fenced(self, reason: str) -> None:
        self.unclean = True
        self.fence_reason = self.fence_reason or reason

    def available(self, consider_score: bool = False) -> bool:
        return self.online and not self.standby and not self.unclean and not self.shutdown \
            and not self.maintenance and not self.pending

    def __repr__(self) -> str:
        return f"<node {self.name}>"


@dataclass(eq=False)
class Colocation:
    id: str
    dependent: WRsc
    primary: WRsc
    score: int
    dependent_role: str = "Unknown"     # Unknown means any (Started in the CIB)
    primary_role: str = "Unknown"
    node_attribute: str = "#uname"
    influence: bool = True


@dataclass(eq=False)
class WRsc:
    id: str
    variant: str                        # primitive | group | clone
    parent: WRsc | None = None
    children: list[WRsc] = field(default_factory=list)
    agent: AgentRef | None = None
    meta: dict[str, str] = field(default_factory=dict)
    ops: tuple = ()
    # configuration-derived
    priority: int = 0
    stickiness: int = 0
    migration_threshold: int = 1_000_000
    managed: bool = True
    target_role: str | None = None
    is_remote_connection: bool = False
    guest_node: str | None = None       # containers: the guest node they host
    promotable: bool = False
    unique: bool = False
    clone_max: int = 0
    clone_node_max: int = 1
    promoted_max: int = 1
    promoted_node_max: int = 1
    interleave: bool = False
    all_coloc: bool = False             # clones: fewer instances than nodes, so every parent colocation counts
    critical: bool = True
    allow_migrate: bool = False         # moves by migrate_to/migrate_from instead of stop/start
    failure_timeout_s: int = 0          # failure-timeout (remote connections: reconnect_interval); 0 = never
    reconnect_interval_s: int = 0
    orphan: bool = False
    params: str | None = None           # canonical parameters (status.encode_params) of a configured primitive
    changed_on: set[str] = field(default_factory=set)    # nodes where it runs with other parameters
    reload_on: set[str] = field(default_factory=set)     # nodes where only reloadable parameters changed
    unfence_reasons: dict[str, str] = field(default_factory=dict)   # a fence device's changed definition: node -> why
    utilization: dict[str, int] = field(default_factory=dict)   # what a primitive needs of a node's capacity
    requires: str = "quorum"            # the requires meta attribute: nothing starts even without quorum
    clone_name: str | None = None       # an anonymous instance's name in the history it was matched to
    history_names: dict[str, str] = field(default_factory=dict)   # node -> that name in the history there
    param_rules: tuple = ()             # instance_attributes sets with a rule (model.rule_sets): params per node
    param_values: dict[str, str] = field(default_factory=dict)   # a primitive's parameters (value-source=param)
    # status-derived
    role: str = "Stopped"
    running_on: list[WNode] = field(default_factory=list)
    failed: bool = False
    blocked: bool = False
    stop_required: bool = True          # recovery of a failure needs a stop (on-fail restart); False: demote
    on_fail_stop: bool = False          # a failure asked for the resource to stay stopped
    pending_node: WNode | None = None
    start_pending: bool = False         # a start (or migrate_from) is in flight
    partial_migration: tuple[WNode, WNode] | None = None   # (source, target): migrate_to done, migrate_from not
    dangling: list[WNode] = field(default_factory=list)    # migrated away from: still to be stopped there
    # scheduling
    allowed: dict[str, int] = field(default_factory=dict)        # node name -> weight
    this_with: list[Colocation] = field(default_factory=list)    # rsc_cons: this resource is the dependent
    with_this: list[Colocation] = field(default_factory=list)    # rsc_cons_lhs: this resource is the primary
    next_role: str | None = None
    assigned: WNode | None = None
    provisional: bool = True
    allocating: bool = False
    merging: bool = False
    promotion_priority: int = 0
    sort_index: int = 0
    instance_number: int = -1
    bundle: bool = False                # a bundle: its instances are replicas (container and IP)
    failure_ignored: bool = False       # a failure on-fail=ignore pretended away: no migration-threshold either
    lock_node: WNode | None = None      # shutdown-lock: the host it waits for (shutdown_locks.py)
    lock_time: int = 0                  # ... since its shutdown (epoch seconds)
    bundled_in: str | None = None       # a bundle's wrapped primitive's clone: the bundle's id
    image: str | None = None            # a bundle's container image

    def __repr__(self) -> str:
        return f"<{self.variant} {self.id}>"

    @property
    def current(self) -> WNode | None:
        return self.running_on[0] if self.running_on else None

    def params_on(self, node_attrs: dict[str, str], now: datetime | None) -> dict[str, str]:
        """A primitive's parameters on a node: its instance attribute sets whose rules hold there."""
        if not self.param_rules:
            return self.param_values
        return dict(rule_sets.effective(Attributes.of(self.param_values), list(self.param_rules),
                                        rule_sets.Context(now=now, node=node_attrs)).items)

    def primitives(self) -> list[WRsc]:
        if self.variant == "primitive":
            return [self]
        return [p for child in self.children for p in child.primitives()]

    def top(self) -> WRsc:
        return self if self.parent is None else self.parent.top()

    def clone_parent(self) -> WRsc | None:
        rsc: WRsc | None = self.parent
        while rsc is not None and rsc.variant != "clone":
            rsc = rsc.parent
        return rsc
