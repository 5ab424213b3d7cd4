"""Build the working state from a CIB: options, nodes and their states, resources and what the history says.

Rules: follows Pacemaker 2.1's status unpacking for the features drover
models: node states (node_states.py), guest and remote nodes (implicit connection resources for
guests, histories read in passes as their connections come up), resources as build.py makes them, clone
instances (anonymous history entries are matched to free instances), role
and failure from the operation history in call-id order, fail counts, orphans.
Time enters only as `now` (epoch seconds), for failure expiry (failures.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from appliance.model.attributes import Attributes
from appliance.model.bundles import Bundle, in_resource_order
from appliance.model.cluster import Cib
from appliance.model.status import (
    OpRecord,
    ResourceHistory,
)
from appliance.model.values import INFINITY, parse_interval_ms
from appliance.scheduler import definition, migration, node_states, shutdown_locks
from appliance.scheduler.build import REMOTE_AGENT, Builder, Options, options_of
from appliance.scheduler.failures import (
    EXEC_ERROR,
    EXEC_NOT_INSTALLED,
    expired,
    failcount,
    next_expiry,
    record_fail_counts,
)
from appliance.scheduler.working import WNode, WRsc

_OCF_INVALID_PARAM, _OCF_NOT_INSTALLED, _OCF_NOT_CONFIGURED = 2, 5, 6
_DEGRADED = {190: 0, 191: 8}            # OCF degraded, degraded and promoted
_HARD_RCS = (2, 3, 4, 5)                 # invalid parameter, unimplemented, insufficient privileges, not installed


@dataclass
class Working:
    options: Options
    nodes: list[WNode]
    resources: list[WRsc]                    # top level, configuration order (orphans last)
    all_primitives: list[WRsc] = field(default_factory=list)
    by_id: dict[str, WRsc] = field(default_factory=dict)
    fail_counts: dict[tuple[str, str], int] = field(default_factory=dict)   # (primitive/instance id, node) -> count
    last_failures: dict[tuple[str, str], int] = field(default_factory=dict)  # same key -> newest last-failure
    now: int = 0                                                            # epoch seconds
    bans: list[tuple[WRsc, str]] = field(default_factory=list)             # (resource, node): -INFINITY from status
    promoted_locations: dict[str, list[tuple[str, int]]] = field(default_factory=dict)   # role=Promoted locations
    # history on remote/guest nodes that were down: ignored for scheduling, but it is still there (and shown as
    # active) once the node is back, because nothing erased it: (node, resource id, role)
    stale: list[tuple[str, str, str]] = field(default_factory=list)
    known_on: dict[str, set[str]] = field(default_factory=dict)      # base resource id -> nodes with any history
    instance_known_on: dict[str, set[str]] = field(default_factory=dict)   # primitive (instance) id -> nodes
    migrate_tos: list[tuple[WRsc, WNode, OpRecord]] = field(default_factory=list)   # newest op is a migrate_to
    fillers: dict[str, list[WRsc]] = field(default_factory=dict)     # container id -> primitives with container=
    # resource-discovery of location constraints: resource id (and its descendants) -> node -> never|exclusive
    discovery: dict[str, dict[str, str]] = field(default_factory=dict)
    exclusive_discover: set[str] = field(default_factory=set)        # resources with an exclusive-discovery location
    bundle_nodes: dict[str, str] = field(default_factory=dict)       # a bundle's guest node -> its child's clone id
    score_lines: list[str] | None = None       # crm_simulate's allocation score lines, when asked for

    _by_name: dict[str, WNode] = field(default_factory=dict)

    def container_of(self, rsc: WRsc | None) -> WRsc | None:
        """The resource rsc's meta container= names: a guest connection's VM or container, a filler's host."""
        return self.by_id.get(rsc.meta.get("container", "")) if rsc is not None else None

    def node(self, name: str) -> WNode | None:
        if len(self._by_name) != len(self.nodes):       # nodes are fixed once unpacked; index them lazily
            self._by_name = {n.name: n for n in self.nodes}
        return self._by_name.get(name)


# -- history ---------------------------------------------------------------------------------------------------------

def _target_rc(op: OpRecord) -> int | None:
    key = op.extra.get("transition-key")
    if key:
        parts = key.split(":")
        if len(parts) >= 3 and parts[2].lstrip("-").isdigit():
            return int(parts[2])
    return None


def _configured_op(rsc: WRsc, name: str, interval_ms: int):
    return next((op for op in rsc.ops if op.name == name and op.interval_ms == interval_ms), None)


def _on_fail(rsc: WRsc, op: OpRecord, options: Options) -> str:
    configured = _configured_op(rsc, op.operation, op.interval_ms)
    if configured is not None and configured.on_fail:
        return configured.on_fail
    if rsc.meta.get("container") and not rsc.is_remote_connection:
        return "restart-container"       # a filler's failure is recovered by recovering its container
    if op.operation == "stop":
        return "fence" if options.stonith_enabled else "block"
    return "restart"


@dataclass
class NodeHistory:
    """What one node's history says about one primitive (instance)."""

    role: str = "Stopped"
    failed: bool = False
    on_fail: str | None = None
    stop_failed: bool = False
    start_failed: bool = False
    pending: bool = False
    last: OpRecord | None = None          # the newest one-off operation (recurring monitors aside), pending included
    masked_probe: bool = False            # a probe found the agent missing here: not running, and banned here
    hard_error: bool = False              # not installed, invalid parameters, ...: banned from this node
    fatal_error: bool = False             # not configured (rc 6): banned from every node
    failure_ignored: bool = False         # a failure on-fail=ignore turned into success
    told: bool = False                    # some operation said something (not only expired failures)
    reconnect_wait: bool = False          # a failed remote connection stopped, waiting for its reconnect interval


def read_history(rsc: WRsc, entry: ResourceHistory, options: Options, now: int = 0) -> NodeHistory:
    result = NodeHistory()
    in_flight = None                                     # a pending operation is the newest one
    for op in sorted(entry.ops, key=lambda o: o.call_id):
        if op.interval_ms == 0 and op.op_status != 1 and (result.last is None or result.last.op_status != -1):
            result.last = op                             # (a pending one stays the newest)
        if op.call_id < 0 or op.op_status in (-1, 1):      # pending or cancelled
            if op.op_status == -1:
                in_flight = op.operation
                result.told = result.told or _tells_state(op)
            if op.operation in ("start", "migrate_from") and op.op_status == -1:
                result.pending = True
            continue
        probe = op.operation == "monitor" and op.interval_ms == 0
        if probe and (op.rc_code in (_OCF_INVALID_PARAM, _OCF_NOT_INSTALLED) or op.op_status == EXEC_NOT_INSTALLED):
            if expired(rsc, op, options.stonith_enabled, now):
                continue                                 # (Pacemaker judges expiry before it masks the failure)
            result.told = True
            # as Pacemaker 2.1.5 masks such probe failures: the agent cannot run here, so it does not run here
            result.role, result.failed, result.masked_probe = "Stopped", False, True
            continue
        target = _target_rc(op)
        if target is None:
            target = 7 if probe else (8 if op.operation == "monitor" and result.role == "Promoted" else 0)
        # Pacemaker's remap_operation: a result reported as done or as an error (4) is judged by its rc, and a
        # monitor's degraded result is success (shown among the failed actions)
        rc = _DEGRADED.get(op.rc_code, op.rc_code) if op.operation == "monitor" else op.rc_code
        judged = op.op_status in (0, EXEC_ERROR)
        ok = judged and (rc == target or (probe and rc in (0, 7, 8)))
        if not ok and expired(rsc, op, options.stonith_enabled, now):
            continue                                     # Pacemaker: "Ignoring expired ... failure"
        result.told = True
        if ok:
            if rc == 7 and op.operation != "monitor":      # expected "not running": Pacemaker's remap says stopped
                result.role = "Stopped"
            elif op.operation in ("start", "migrate_from", "migrate_to"):
                result.role, result.failed = "Started", False   # (where a migrate_to leaves it: migration.py)
            elif op.operation == "stop":
                # a remote connection's failure with a reconnect interval outlives its stop: it stays down,
                # failed, until the failure is cleared or expires (Pacemaker's reset-remote)
                result.reconnect_wait = result.failed and rsc.is_remote_connection and \
                    rsc.reconnect_interval_s > 0 and result.on_fail == "restart"
                result.role, result.failed = "Stopped", False
            elif op.operation == "promote":
                result.role = "Promoted"
            elif op.operation == "demote":
                result.role = "Unpromoted"
            elif op.operation == "monitor":
                if rc == 7:
                    result.role = "Stopped"
                elif rc == 8:
                    result.role = "Promoted"
                elif result.role == "Stopped":
                    result.role = "Started"
            elif result.role == "Stopped":           # reload-agent, notify, ...: Pacemaker's set_active
                result.role = "Started"
            continue
        on_fail = _on_fail(rsc, op, options)
        # Pacemaker's PCMK_EXEC_ERROR_FATAL and _HARD: banned (everywhere / from this node) whatever on-fail says
        fatal = judged and rc == _OCF_NOT_CONFIGURED
        # (unimplemented, rc 3, is hard only for a one-time operation: for a recurring one it is "not supported")
        hard = not fatal and (op.op_status == EXEC_NOT_INSTALLED or (
            judged and rc in _HARD_RCS and not (rc == 3 and op.interval_ms > 0)))
        # (any failed result but a missing agent, which Pacemaker refuses to ignore, hard and fatal ones too)
        if on_fail == "ignore" and op.op_status != EXEC_NOT_INSTALLED:
            if result.role == "Stopped" and op.operation != "stop":
                result.role = "Started"
            result.failure_ignored = True
            continue
        result.failed = True
        result.on_fail = on_fail
        result.fatal_error = result.fatal_error or fatal
        result.hard_error = result.hard_error or hard
        if op.operation == "stop":
            result.stop_failed = True
            result.role = "Started" if result.role == "Stopped" else result.role
        elif op.operation == "start":
            result.start_failed = True
            result.role = "Started"
        elif op.operation == "demote" and on_fail != "block":
            # Pacemaker: staying Promoted would loop; it is stopped in recovery (a promotion only after that)
            result.role = "Unpromoted"
        elif op.operation == "promote" or op.operation == "demote" or (op.operation == "monitor" and rc == 8):
            result.role = "Promoted"
        elif result.role == "Stopped":
            result.role = "Started"
    # as Pacemaker's unpack_rsc_op: a start in flight may have started it already, a promote promoted it
    if in_flight in ("start", "migrate_to") and result.role == "Stopped":
        result.role = "Started"                          # (a migrate_to in flight: on the target too, migration.py)
    elif in_flight == "promote":
        result.role = "Promoted"
    return result


def _base(resource_id: str) -> str:
    head, sep, tail = resource_id.rpartition(":")
    return head if sep and tail.isdigit() else resource_id


class _HistoryMapper:
    """Which working resource a history entry (node, lrm id) belongs to, as Pacemaker matches them."""

    def __init__(self, working: Working):
        self.working = working
        self.plain: dict[str, WRsc] = {}
        self.instances: dict[str, list[WRsc]] = {}      # clone member base id -> its instances in order
        for top in working.resources:
            for primitive in top.primitives():
                if primitive.clone_parent() is None:
                    self.plain[primitive.id] = primitive
                else:
                    self.instances.setdefault(_base(primitive.id), []).append(primitive)

    @staticmethod
    def _instance_top(primitive: WRsc) -> WRsc:
        rsc = primitive
        while rsc.parent is not None and rsc.parent.variant != "clone":
            rsc = rsc.parent
        return rsc

    def _busy(self, primitive: WRsc) -> bool:
        return any(p.running_on for p in self._instance_top(primitive).primitives())

    def find(self, resource_id: str, node: WNode) -> WRsc | None:
        if resource_id in self.plain:
            return self.plain[resource_id]
        candidates = self.instances.get(_base(resource_id))
        if not candidates:
            return None
        clone = candidates[0].clone_parent()
        assert clone is not None
        if clone.unique:
            return next((c for c in candidates if c.id == resource_id), None)
        for candidate in candidates:          # an instance already active here (a cloned group's sibling)
            if any(node in p.running_on for p in self._instance_top(candidate).primitives()):
                return candidate
        exact = next((c for c in candidates if c.id == resource_id), None)
        if exact is not None and not self._busy(exact):
            return exact
        return next((c for c in candidates if not self._busy(c)), None)


def _orphan(working: Working, entry: ResourceHistory) -> WRsc:
    rsc = WRsc(entry.resource, "primitive", agent=entry.agent, orphan=True)
    rsc.managed = working.options.stop_orphan_resources     # (else left as it is, unmanaged)
    rsc.stickiness = 0
    rsc.migration_threshold = INFINITY
    working.resources.append(rsc)
    working.by_id[rsc.id] = rsc
    node = working.node(rsc.id) if entry.agent == REMOTE_AGENT else None
    if node is not None and node.kind != "cluster" and node.remote_rsc is None:
        rsc.is_remote_connection = True
        node.remote_rsc = rsc
        if entry.container:
            rsc.meta["container"] = entry.container
    return rsc


def _orphaned_remote_nodes(working: Working, cib: Cib) -> None:
    """The nodes of remote and guest connections no longer configured (node_states.orphaned_remote_node)."""
    for entry in cib.status.history:
        if entry.agent == REMOTE_AGENT and entry.resource not in working.by_id and not working.node(entry.resource):
            working.nodes.append(node_states.orphaned_remote_node(cib, entry.resource,
                                                                  "guest" if entry.container else "remote"))


def _apply_history(working: Working, mapper: _HistoryMapper, entry: ResourceHistory, node: WNode) -> None:
    shutdown_locks.note_recorded(working, mapper.plain.get(entry.resource), entry, node)
    if not any(_tells_state(op) for op in entry.ops):
        return                   # Pacemaker: its role stays unknown there (so it is probed again)
    template = mapper.plain.get(entry.resource) or next(iter(mapper.instances.get(_base(entry.resource), [])), None)
    history = read_history(template, entry, working.options, working.now) if template is not None else None
    if history is not None and not history.told:
        return                   # only failures that expired: unknown there too
    working.known_on.setdefault(_base(entry.resource), set()).add(node.name)
    if history is None:
        orphan = working.by_id.get(entry.resource)
        if orphan is None:
            probe = read_history(WRsc(entry.resource, "primitive"), entry, working.options, working.now)
            if probe.role == "Stopped" and not probe.failed:
                return
            orphan = _orphan(working, entry)
        history = read_history(orphan, entry, working.options, working.now)
        rsc: WRsc | None = orphan
    elif history.role == "Stopped" and not history.failed:
        if history.reconnect_wait:
            template.failed, template.next_role = True, "Stopped"
        if history.masked_probe:
            working.bans.append((template.top(), node.name))
        # an inactive entry still makes one instance "known" on the node (find_anonymous_clone's empty slot)
        found = mapper.find(entry.resource, node)
        if found is not None:
            working.instance_known_on.setdefault(found.id, set()).add(node.name)
        return
    else:
        rsc = mapper.find(entry.resource, node)
        if rsc is None:
            rsc = _orphan(working, entry)
        elif entry.resource != rsc.id:
            if rsc.clone_name is None:
                rsc.clone_name = entry.resource      # the name its history has (find_anonymous_clone's clone_name)
            rsc.history_names[node.name] = entry.resource
    working.instance_known_on.setdefault(rsc.id, set()).add(node.name)
    rsc.failure_ignored = rsc.failure_ignored or history.failure_ignored
    if history.last is not None and history.last.operation == "migrate_to" and rsc.clone_parent() is None:
        working.migrate_tos.append((rsc, node, history.last))
    if history.pending and history.last is not None and history.last.operation == "start":
        rsc.start_pending = True
    if history.role == "Stopped" and not history.failed:
        return
    if not node.online and rsc.managed and not node.maintenance:      # thought active on a node that is down
        if node.kind == "cluster" and not node.unclean:
            node.must_be_fenced(f"{rsc.id} is thought to be active there")
        elif node.kind == "remote" and working.options.stonith_enabled:
            node_states.active_on_offline_remote(node, rsc)
        elif node.kind == "guest":
            rsc.failed = rsc.stop_required = True
            node_states.fence_guest(working, node)
    if node not in rsc.running_on:
        rsc.running_on.append(node)
        if node.maintenance and rsc.variant == "primitive":
            rsc.managed = False        # Pacemaker's native_add_running: left alone on a node in maintenance
        if len(rsc.running_on) > 1 and rsc.variant == "primitive" and rsc.managed:
            _multiply_active(working, rsc)
    definition.note_changes(working.now, rsc, node, entry)
    if _role_rank(history.role) > _role_rank(rsc.role):
        rsc.role = history.role
    if history.failed and not node.unclean:    # on an unclean node the failure is moot: it will be fenced
        _apply_failure(working, rsc, node, history)


def _tells_state(op: OpRecord) -> bool:
    """Whether a record says anything of the resource's state: not a cancelled one nor one in flight, unless a
    start or promotion (which may have happened already)."""
    if op.op_status == -1:
        return op.operation in ("start", "promote")
    return op.op_status != 1


def _multiply_active(working: Working, rsc: WRsc) -> None:
    """Pacemaker's multiple-active recovery (native_add_running): stop_only keeps it stopped everywhere, block
    leaves it unmanaged (a group set to block: all its members); stop_start, the default, restarts it where it
    is placed, and stop_unexpected leaves it running there (transition.py)."""
    recovery = multiple_active(rsc)
    if recovery == "stop_only":
        working.bans.extend((rsc, node.name) for node in working.nodes)
    elif recovery == "block":
        group = rsc.parent if rsc.parent is not None and rsc.parent.variant == "group" else None
        for member in group.children if group is not None and multiple_active(group) == "block" else [rsc]:
            member.managed, member.blocked = False, True


def multiple_active(rsc: WRsc) -> str:
    return (rsc.meta.get("multiple-active") or "stop_start").strip().lower()


def _legacy_fail_counts(cib: Cib) -> bool:
    """Pacemaker 2.1.5 counts 1.x's per-resource fail-count-RSC only in a CIB older than feature set 3.0.13."""
    version = cib.extra.get("crm_feature_set") or ""
    if not version:
        return True                       # (compare_version counts a missing version as the oldest)
    try:
        return tuple(int(part) for part in version.split(".")) < (3, 0, 13)
    except ValueError:
        return False


def _role_rank(role: str) -> int:
    return {"Stopped": 0, "Started": 1, "Unpromoted": 2, "Promoted": 3}.get(role, 0)


def _apply_failure(working: Working, rsc: WRsc, node: WNode, history: NodeHistory) -> None:
    on_fail = history.on_fail or "restart"
    if on_fail == "restart-container":
        container = working.container_of(rsc)
        if container is not None and node in container.running_on:
            rsc.failed = True
            container.failed = True      # restarting the container restarts what runs in it
            return
        on_fail = "restart"
    if history.stop_failed:
        working.bans.append((rsc, node.name))
    if history.hard_error:                # as Pacemaker's resource_location(parent, node, -INFINITY, "hard-error")
        working.bans.append((rsc.top(), node.name))
    if history.fatal_error:
        working.bans.extend((rsc.top(), other.name) for other in working.nodes)
    if on_fail == "block":
        rsc.blocked = True
        rsc.failed = True
        rsc.managed = False
    elif on_fail == "stop":
        rsc.failed = True
        rsc.on_fail_stop = True
        clone = rsc.clone_parent()
        if clone is not None and not clone.unique:      # an anonymous clone stops as a whole
            for primitive in clone.primitives():
                primitive.on_fail_stop = True
    elif on_fail == "standby":
        rsc.failed = True
        node.standby = True
    elif on_fail == "fence":
        rsc.failed = True
        if node.kind == "guest" and working.options.have_stonith_resource:
            node.requires_reset = True    # Pacemaker's guest fencing: its VM is recovered
        elif node.kind == "guest":
            rsc.blocked, rsc.managed = True, False   # (no fence device at all: Pacemaker leaves it FAILED)
        else:
            node.must_be_fenced(f"{rsc.id} failed there")
    elif on_fail == "demote":
        rsc.failed = True
        rsc.stop_required = False
    else:
        rsc.failed = True


def unpack(cib: Cib, now: datetime | None = None) -> Working:
    """`now`: naive UTC (the scheduler's clock); without it, failures never expire."""
    options = options_of(cib, now)
    nodes = node_states.nodes_of(cib, options, now)
    # Pacemaker makes a bundle's guest nodes as it unpacks the bundle: a clone before it does not count them
    # (clone-max's default) unless <nodes> lists them
    listed = {n.name for n in cib.configuration.nodes}
    unlisted = {b.id: [r.guest_node for r in b.replica_list() if r.guest_node and r.guest_node not in listed]
                for b in cib.configuration.bundles}
    builder = Builder(cib, options, len(nodes) - sum(len(names) for names in unlisted.values()), now)
    tops = []
    for config in in_resource_order(cib.configuration.resources, cib.configuration.bundles):
        if not isinstance(config, Bundle):
            tops.append([builder.build(config)])
            continue
        tops.append(builder.bundle(config))           # (their order decides ties, as Pacemaker's)
        builder.node_count += len(unlisted[config.id])
    # Pacemaker sorts its resources by priority once unpacked (stable): it is the order they are placed in
    resources = sorted((rsc for built in tops for rsc in built), key=lambda rsc: -rsc.priority)
    working = Working(options, nodes, resources)
    working.bundle_nodes = {r.guest_node: b.child_clone_id for b in cib.configuration.bundles
                            for r in b.replica_list() if r.guest_node}
    working.now = int(now.replace(tzinfo=UTC).timestamp()) if now is not None else 0
    for top in list(resources):
        for primitive in top.primitives():
            if primitive.guest_node:
                own = {"container": primitive.id}
                if "remote-allow-migrate" in primitive.meta:
                    own["allow-migrate"] = primitive.meta["remote-allow-migrate"]
                # a bundle's connections are its children: they inherit its meta attributes (is-managed, ...)
                connection = WRsc(primitive.guest_node, "primitive", agent=REMOTE_AGENT,
                                  meta=builder.meta(Attributes.of(own), top if top.bundle else None))
                builder.configure(connection)
                connection.is_remote_connection = True
                working.resources.append(connection)
    for rsc in working.resources:
        for item in [rsc, *rsc.children, *(p for c in rsc.children for p in c.children)]:
            working.by_id[item.id] = item
    _orphaned_remote_nodes(working, cib)
    for node in nodes:
        if node.kind != "cluster":
            node.remote_rsc = working.by_id.get(node.name)
            if node.kind == "guest" and node.remote_rsc is None:
                node.remote_rsc = None
    record_fail_counts(working, cib.status.fail_counts, _legacy_fail_counts(cib))
    mapper = _HistoryMapper(working)
    by_node: dict[str, list[ResourceHistory]] = {}
    for entry in cib.status.history:
        by_node.setdefault(entry.node, []).append(entry)
    # history is read in the status section's order, as Pacemaker does (it decides which instance number an
    # anonymous clone's entry becomes); nodes without a status entry have no history anyway
    status_order = {state.name: index for index, state in enumerate(cib.status.nodes)}
    in_status_order = sorted(nodes, key=lambda n: status_order.get(n.name, len(status_order)))
    for node in in_status_order:
        # with fencing, Pacemaker reads an offline host's history too: what it believes still runs there means
        # the host must be fenced before that runs anywhere else
        if node.kind == "cluster" and (node.online or options.stonith_enabled or options.shutdown_lock):
            for entry in by_node.get(node.name, []):
                _apply_history(working, mapper, entry, node)
    migration.resolve(working.migrate_tos, cib.status.history, working.node)
    # (with the nodes of orphaned connections)
    remotes = [n for n in sorted(working.nodes, key=lambda n: status_order.get(n.name, len(status_order)))
               if n.kind != "cluster"]
    read: set[str] = set()
    # passes as Pacemaker makes them: a node whose connection (and container) is up is read; that may bring up
    # another (a bundle whose containers run on remote nodes); a guest whose container is not known to run waits
    # until nothing else can be read
    waiting_allowed = True
    while True:
        progress = False
        for node in remotes:
            if node.name in read:
                continue
            node_states.remote_state(working, node)
            if not (node.online or node.unclean or node.requires_reset or node.remote_was_running) or \
                    (waiting_allowed and node_states.container_not_known_running(working, node)):
                continue
            read.add(node.name)
            progress = True
            for entry in by_node.get(node.name, []):
                _apply_history(working, mapper, entry, node)
        if not progress and not waiting_allowed:
            break
        waiting_allowed = progress
    # with fencing, a remote node whose connection is down is read last, as Pacemaker's fencing pass does
    for node in remotes:
        if node.name not in read and options.stonith_enabled:
            read.add(node.name)
            node_states.remote_attributes(node)
            for entry in by_node.get(node.name, []):
                _apply_history(working, mapper, entry, node)
    for node in remotes:
        if node.kind == "guest" and node.name not in read:   # its history is wiped when its connection starts again
            for entry in by_node.get(node.name, []):
                template = mapper.plain.get(entry.resource) or next(
                    iter(mapper.instances.get(_base(entry.resource), [])), None)
                history = read_history(template or WRsc(entry.resource, "primitive"), entry, options, working.now)
                if history.role != "Stopped":
                    working.stale.append((node.name, entry.resource, history.role))
    working.all_primitives = [p for top in working.resources for p in top.primitives()]
    for primitive in working.all_primitives:
        if primitive.meta.get("container") and not primitive.is_remote_connection:
            working.fillers.setdefault(primitive.meta["container"], []).append(primitive)
    return working


__all__ = ["Options", "Working", "failcount", "next_expiry", "parse_interval_ms", "unpack"]
