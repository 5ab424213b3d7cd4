"""What `drover status` shows, computed from one snapshot: nodes, resources, failed actions (pure).

Rules: the state is read the way the scheduler reads it (appliance.scheduler.unpack),
so status and scheduling never disagree; implicit guest connections are
marked (crm_mon lists them in XML only); failed actions are the history records that
are failures (last failures and failing recurring monitors), as crm_mon's
"Failed Resource Actions".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from appliance.cli import status_text
from appliance.cli.render import agent_text
from appliance.engine.records import EXEC_STATUS_CODES, is_failure
from appliance.model.bundles import Bundle, in_resource_order
from appliance.model.cluster import Cib
from appliance.model.fence_history import FenceEvent
from appliance.model.history import EXEC_STATUS_NAMES, RC_NAMES, base_id
from appliance.model.resources import Clone, Group, Primitive, Resource, primitives
from appliance.scheduler.failures import expired
from appliance.scheduler.unpack import Working, unpack
from guest.agents.results import ExecStatus, OpResult

_EXEC_BY_CODE = {code: status for status, code in EXEC_STATUS_CODES.items()}


@dataclass(frozen=True)
class NodeView:
    name: str
    id: str
    kind: str            # member | remote (guest nodes are remote nodes with a container, as in crm_mon)
    state: str           # online | offline | standby | maintenance | unclean
    resources_running: int
    container: str | None = None
    is_dc: bool = False


@dataclass(frozen=True)
class PrimitiveView:
    id: str
    agent: str
    role: str                          # Started, Stopped, Promoted, Unpromoted
    nodes: tuple[str, ...]
    failed: bool = False
    managed: bool = True
    disabled: bool = False
    orphaned: bool = False
    label: str = ""                    # the agent as the text layout writes it (ocf:heartbeat:Dummy)


@dataclass(frozen=True)
class ResourceView:
    id: str
    kind: str                          # primitive | group | clone
    members: tuple[PrimitiveView, ...]
    promotable: bool = False
    unique: bool = False
    child: str = ""                    # clones: the cloned resource's id
    implicit: bool = False             # a guest node's connection: in XML, not in text (as crm_mon does)
    replica_sizes: tuple[int, ...] = ()  # bundles: how many of the members (in order) each replica has
    image: str = ""                    # bundles: the container image and runtime
    runtime: str = ""


@dataclass(frozen=True)
class FailureView:
    op_key: str
    node: str
    task: str
    interval_ms: int
    rc: int
    status: int
    call: int
    exit_reason: str
    last_rc_change: int | None
    exec_ms: int = 0
    queue_ms: int = 0

    @property
    def rc_name(self) -> str:
        return RC_NAMES.get(self.rc, "unknown")

    @property
    def status_name(self) -> str:
        return EXEC_STATUS_NAMES.get(self.status, "unknown")


@dataclass(frozen=True)
class StatusView:
    cluster_name: str
    dc: str | None
    version: str
    epoch: int
    num_updates: int
    last_change: str
    have_quorum: bool
    nodes: tuple[NodeView, ...]
    resources: tuple[ResourceView, ...]
    failures: tuple[FailureView, ...]
    options: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    stack: str = "drover"             # "corosync" on a host of a cluster
    fencing: tuple[FenceEvent, ...] = ()      # the fencing history
    blocked: int = 0                          # instances blocked from further action due to failure
    node_lines: tuple[str, ...] = ()          # the text layout's Node List and resources, as crm_mon writes them
    resource_lines: tuple[str, ...] = ()

    @property
    def instances_configured(self) -> int:
        """As crm_mon counts them: a guest node's implicit connection is an instance too."""
        return sum(len(r.members) for r in self.resources)

    @property
    def disabled(self) -> int:
        return sum(1 for r in self.resources for m in r.members if m.disabled)


def _state(node) -> str:
    if node.unclean:
        return "unclean"
    if not node.online:
        return "offline"
    if node.pending:
        return "pending"
    if node.maintenance or node.declared_maintenance:
        return "maintenance"
    if node.standby or node.declared_standby:
        return "standby"
    return "online"


def build(cib: Cib, cluster_name: str, dc: str | None, version: str, now: datetime | None = None,
          working: Working | None = None) -> StatusView:
    """`now` (naive UTC): failures older than their failure-timeout are not shown, as crm_mon does. `working`:
    `cib` already unpacked at `now` (it is only read)."""
    working = working if working is not None else unpack(cib, now)
    hidden = {p.guest_node for p in primitives(cib.configuration.resources) if p.guest_node}
    by_id = {p.id: p for p in working.all_primitives}
    running_count: dict[str, int] = {}
    for primitive in working.all_primitives:
        for node in primitive.running_on:
            running_count[node.name] = running_count.get(node.name, 0) + 1
    nodes = []
    for node in working.nodes:
        container = None
        kind = "member" if node.kind == "cluster" else "remote"
        if node.kind == "guest" and node.remote_rsc is not None:
            container = node.remote_rsc.meta.get("container")
        node_id = next((n.id for n in cib.configuration.nodes if n.name == node.name), node.name)
        nodes.append(NodeView(node.name, node_id, kind, _state(node), running_count.get(node.name, 0), container,
                              node.name == dc))

    def view(rid: str, shown_id: str | None = None) -> PrimitiveView | None:
        primitive = by_id.get(rid)
        if primitive is None:
            return None
        promotable = primitive.clone_parent() is not None and primitive.clone_parent().promotable
        role = primitive.role
        if role == "Started" and promotable:
            role = "Unpromoted"
        disabled = primitive.target_role == "Stopped"
        return PrimitiveView(shown_id or rid, str(primitive.agent) if primitive.agent else "", role,
                             tuple(n.name for n in primitive.running_on), primitive.failed, primitive.managed,
                             disabled, primitive.orphan, agent_text(primitive.agent) if primitive.agent else "")

    resources = []
    instances = {}
    for primitive in working.all_primitives:
        clone = primitive.clone_parent()
        if clone is not None:
            instances.setdefault(clone.id, []).append(primitive.id)
    for resource in in_resource_order(cib.configuration.resources, cib.configuration.bundles):
        resources.append(_bundle_view(resource, working, view) if isinstance(resource, Bundle)
                         else _resource_view(resource, view, instances))
    configured = {p.id for p in primitives(cib.configuration.resources)}
    for primitive in working.all_primitives:
        if primitive.orphan and primitive.running_on and primitive.id not in configured:
            member = view(primitive.id)
            if member is not None:
                resources.append(ResourceView(primitive.id, "primitive", (member,)))
    for primitive in working.all_primitives:
        if primitive.id in hidden:
            member = view(primitive.id)
            if member is not None:
                resources.append(ResourceView(primitive.id, "primitive", (member,), implicit=True))
    # crm_mon shows only the history it unpacks: not that of nodes that are down
    read = {n.name for n in working.nodes if n.online or (n.unclean and n.kind == "cluster")}
    failures = tuple(f for f in _failures(cib, working) if f.node in read)
    last_change = cib.extra.get("cib-last-written") or ""
    options = dict(cib.configuration.cluster_options.items)
    return StatusView(cluster_name, dc, version, cib.epoch, cib.num_updates, last_change, cib.have_quorum,
                      tuple(nodes), tuple(resources), failures, options, fencing=cib.status.fencing,
                      blocked=sum(1 for p in working.all_primitives if p.blocked and not (p.orphan and
                                                                                          p.role == "Stopped")),
                      node_lines=tuple(status_text.node_lines(working)),
                      resource_lines=tuple(status_text.resource_lines(working, cib.status)))


def _resource_view(resource: Resource, view, instances: dict[str, list[str]]) -> ResourceView:
    if isinstance(resource, Primitive):
        member = view(resource.id)
        return ResourceView(resource.id, "primitive", (member,) if member else ())
    if isinstance(resource, Group):
        members = tuple(m for m in (view(p.id) for p in resource.members) if m is not None)
        return ResourceView(resource.id, "group", members)
    assert isinstance(resource, Clone)
    members = tuple(m for m in (view(i) for i in instances.get(resource.id, [])) if m is not None)
    unique = (resource.meta.get("globally-unique") or "false").lower() in ("true", "yes", "1", "on")
    return ResourceView(resource.id, "clone", members, resource.promotable, unique, resource.child.id)


def _bundle_view(bundle: Bundle, working, view) -> ResourceView:
    """crm_mon's replicas: each one's IP, wrapped primitive's instance, container and connection."""
    members: list[PrimitiveView] = []
    sizes = []
    for replica in bundle.replica_list():
        before = len(members)
        instance = status_text.bundle_instance(working, bundle.child_clone_id, replica.guest_node, replica.number)
        anonymous = bundle.primitive is not None and bundle.replicas_per_host == 1     # else instances are unique
        for rid, shown in ((replica.ip_id, None), (instance, bundle.primitive.id if anonymous else None),
                           (replica.container, None), (replica.guest_node, None)):
            member = view(rid, shown) if rid else None
            if member is not None:
                members.append(member)
        sizes.append(len(members) - before)
    return ResourceView(bundle.id, "bundle", tuple(members), bool(bundle.promoted_max), bundle.replicas_per_host > 1,
                        bundle.primitive.id if bundle.primitive else "", replica_sizes=tuple(sizes),
                        image=bundle.runtime_options.get("image") or "", runtime=bundle.runtime)


def _ms(text: str | None) -> int:
    return int(text) if text is not None and text.isdigit() else 0


def _failures(cib: Cib, working):
    seen = set()
    for entry in cib.status.history:
        rsc = working.by_id.get(entry.resource) or working.by_id.get(base_id(entry.resource))
        for op in entry.ops:
            if rsc is not None and expired(rsc, op, working.options.stonith_enabled, working.now):
                continue
            if not (op.id.endswith("_last_failure_0") or (op.interval_ms and op.id.endswith(f"_{op.interval_ms}"))):
                continue
            result = OpResult(_EXEC_BY_CODE.get(op.op_status, ExecStatus.ERROR), op.rc_code)
            if op.op_status == 0 and op.rc_code in (0, 8) and op.operation != "monitor":
                continue
            if op.interval_ms and not is_failure(op.operation, op.interval_ms, result, "Promoted" if op.rc_code
                                                 in (8, 9) else None):
                continue
            if not op.interval_ms and not is_failure(op.operation, 0, result):
                continue
            key = f"{entry.resource}_{op.operation}_{op.interval_ms}"
            if (key, entry.node) in seen:
                continue
            seen.add((key, entry.node))
            yield FailureView(key, entry.node, op.operation, op.interval_ms, op.rc_code, op.op_status, op.call_id,
                              op.exit_reason, op.last_rc_change, _ms(op.extra.get("exec-time")),
                              _ms(op.extra.get("queue-time")))
