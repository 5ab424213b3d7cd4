"""Working resources from the configuration, and the cluster options the scheduler reads.

Rules: meta attributes inherit as Pacemaker's do (own > parent > rsc_defaults), with the attribute sets whose
rules hold now (model.rule_sets); a clone gets one instance per clone-max; resource options (priority,
stickiness, migration-threshold, target-role, ...) are read once here. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from appliance.model import rule_sets
from appliance.model.attributes import Attributes
from appliance.model.bundles import Bundle
from appliance.model.cluster import Cib, Configuration
from appliance.model.resources import AgentRef, Clone, Group, Op, Primitive, Resource, walk
from appliance.model.status import encode_params
from appliance.model.values import INFINITY, ModelError, is_true, parse_role, parse_score
from appliance.scheduler import utilization
from appliance.scheduler.failures import interval_seconds
from appliance.scheduler.working import WRsc

REMOTE_AGENT = AgentRef("ocf", "remote", "pacemaker")
_FALSE_WORDS = ("false", "no", "off", "n", "0")


@dataclass
class Options:
    stonith_enabled: bool = True
    symmetric: bool = True
    no_quorum_policy: str = "stop"
    have_quorum: bool = True
    maintenance_mode: bool = False
    stop_all: bool = False
    start_failure_is_fatal: bool = True
    startup_fencing: bool = True
    stop_orphan_resources: bool = True
    have_stonith_resource: bool = False
    placement_strategy: str = "default"
    cluster_options: Attributes = field(default_factory=Attributes)     # as they hold now (node health, ...)
    unfencing: bool = False          # a resource (or rsc_defaults) says provides= or requires=unfencing
    shutdown_lock: bool = False      # what ran on a host shut down cleanly waits for it (shutdown-lock)
    shutdown_lock_limit_s: int = 0   # ... at most this long (shutdown-lock-limit; 0: until it is back)

    @property
    def quorate(self) -> bool:
        """Quorum, or a policy that acts as if there were (no-quorum-policy=ignore)."""
        return self.have_quorum or self.no_quorum_policy == "ignore"



def _flag(options: Attributes, name: str, default: bool) -> bool:
    value = options.get(name)
    if value is None:
        return default
    return value.strip().lower() not in _FALSE_WORDS if default else is_true(value)


def options_of(cib: Cib, now: datetime | None = None) -> Options:
    configuration = cib.configuration
    o = rule_sets.conditional(configuration.rule_sets, configuration.cluster_options, rule_sets.CLUSTER,
                              "cluster_property_set", rule_sets.Context(now=now))
    stonith = _flag(o, "stonith-enabled", True)
    return Options(stonith_enabled=stonith, symmetric=_flag(o, "symmetric-cluster", True),
                   no_quorum_policy=_no_quorum_policy(o.get("no-quorum-policy"), stonith, cib),
                   have_quorum=cib.have_quorum,
                   maintenance_mode=_flag(o, "maintenance-mode", False), stop_all=_flag(o, "stop-all-resources", False),
                   start_failure_is_fatal=_flag(o, "start-failure-is-fatal", True),
                   startup_fencing=_flag(o, "startup-fencing", True),
                   stop_orphan_resources=_flag(o, "stop-orphan-resources", True),
                   placement_strategy=_strategy(o.get("placement-strategy")), cluster_options=o,
                   unfencing=_unfencing_enabled(configuration), shutdown_lock=_flag(o, "shutdown-lock", False),
                   shutdown_lock_limit_s=interval_seconds(o.get("shutdown-lock-limit")))


def _no_quorum_policy(value: str | None, stonith: bool, cib: Cib) -> str:
    """suicide needs fencing, and a cluster that has had quorum (or the CIB's no-quorum-panic): else stop, as
    Pacemaker resets it."""
    policy = (value or "stop").lower()
    if policy == "suicide" and not (stonith and (cib.have_quorum or cib.extra.get("no-quorum-panic") == "1")):
        return "stop"
    return policy


def _unfencing_enabled(configuration: Configuration) -> bool:
    """Pacemaker's pe_flag_enable_unfencing: a meta attribute provides or requires set to unfencing, on any
    resource or template or in rsc_defaults."""
    metas = [r.meta for r in walk(configuration.resources)] + [t.meta for t in configuration.templates] + \
        [configuration.rsc_defaults]
    return any(meta.get(name) == "unfencing" for meta in metas for name in ("provides", "requires"))


def _strategy(text: str | None) -> str:
    strategy = (text or "default").lower()
    return strategy if strategy in utilization.STRATEGIES else "default"


_LEADING_INTEGER = re.compile(r"\s*[+-]?\d+")


def _score(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return parse_score(value)
    except ModelError:
        # char2score reads the leading integer of what follows ("1.0" is 1)
        leading = _LEADING_INTEGER.match(value)
        return max(-INFINITY, min(INFINITY, int(leading[0]))) if leading and len(leading[0]) < 19 else default


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


# -- resources -------------------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, cib: Cib, options: Options, node_count: int, now: datetime | None = None):
        self.defaults = cib.configuration.rsc_defaults
        self.rule_sets = cib.configuration.rule_sets
        self.now = now
        self.options = options
        self.node_count = node_count

    def meta(self, own: Attributes, parent: WRsc | None, rid: str | None = None,
             agent: AgentRef | None = None) -> dict[str, str]:
        context = rule_sets.Context(now=self.now, agent=agent)
        merged = dict(rule_sets.conditional(self.rule_sets, self.defaults, rule_sets.RSC_DEFAULTS, "meta_attributes",
                                            context).items)
        if parent is not None:
            merged.update(parent.meta)
        if rid is not None:
            own = rule_sets.conditional(self.rule_sets, own, rule_sets.resource_owner(rid), "meta_attributes", context)
        merged.update(own.items)
        return merged

    def configure(self, rsc: WRsc) -> None:
        meta = rsc.meta
        rsc.priority = _score(meta.get("priority"), 0)
        rsc.stickiness = _score(meta.get("resource-stickiness"), 0)
        rsc.migration_threshold = _score(meta.get("migration-threshold"), INFINITY)
        rsc.managed = is_true(meta.get("is-managed", "true")) and not is_true(meta.get("maintenance", "false")) \
            and not self.options.maintenance_mode
        role = meta.get("target-role")
        try:
            rsc.target_role = parse_role(role) if role else None
        except ModelError:
            rsc.target_role = None
        rsc.critical = is_true(meta.get("critical", "true"))
        rsc.failure_timeout_s = interval_seconds(meta.get("failure-timeout"))
        rsc.allow_migrate = is_true(meta.get("allow-migrate", "false"))

    def primitive(self, config: Primitive, parent: WRsc | None, rid: str | None = None) -> WRsc:
        rsc = WRsc(rid or config.id, "primitive", parent, agent=config.agent,
                   meta=self.meta(config.meta, parent, config.id, config.agent), ops=config.ops)
        self.configure(rsc)
        rsc.is_remote_connection = config.agent.is_remote_connection
        if rsc.is_remote_connection:
            # Pacemaker: remote nodes float between hosts without stopping what runs on them, unless told not to
            rsc.allow_migrate = is_true(rsc.meta.get("allow-migrate", "true"))
            # Pacemaker: a reconnect delay works as the connection's failure timeout (it overrides failure-timeout)
            rsc.reconnect_interval_s = interval_seconds(config.params.get("reconnect_interval"))
            rsc.failure_timeout_s = rsc.reconnect_interval_s or rsc.failure_timeout_s
        rsc.params = encode_params(config.params.items)
        rsc.param_values = dict(config.params.items)
        owner = rule_sets.resource_owner(config.id)
        needs = rule_sets.conditional(self.rule_sets, config.utilization, owner, "utilization",
                                      rule_sets.Context(now=self.now))
        rsc.utilization = {name: utilization.value(text) for name, text in needs}
        # parameters that depend on the node: compared per node (unpack._apply_history), see WRsc.params_on
        rsc.param_rules = tuple(rule_sets.sets_of(self.rule_sets, owner, "instance_attributes"))
        rsc.guest_node = config.guest_node if parent is None or parent.variant == "group" else None
        if config.agent.standard == "stonith":
            self.options.have_stonith_resource = True
        requires = rsc.meta.get("requires")
        device = config.agent.standard == "stonith"
        if requires == "unfencing" and (device or not self.options.stonith_enabled):
            requires = "quorum"          # (Pacemaker resets it so: devices and clusters without fencing)
        # Pacemaker's unpack_requires defaults: quorum for fencing devices (and VMs of guest nodes), unfencing
        # where a device provides it, fencing where fencing is enabled
        rsc.requires = requires if requires in ("nothing", "quorum", "fencing", "unfencing") else \
            "quorum" if device else \
            "unfencing" if self.options.unfencing and self.options.stonith_enabled and not config.guest_node else \
            "fencing" if self.options.stonith_enabled else \
            "nothing" if self.options.no_quorum_policy == "ignore" else "quorum"
        return rsc

    def group(self, config: Group, parent: WRsc | None, suffix: str = "") -> WRsc:
        rsc = WRsc(config.id + suffix, "group", parent, meta=self.meta(config.meta, parent, config.id))
        self.configure(rsc)
        rsc.children = [self.primitive(m, rsc, m.id + suffix) for m in config.members]
        return rsc

    def clone(self, config: Clone, inherited: dict[str, str] | None = None) -> WRsc:
        rsc = WRsc(config.id, "clone", None, meta=self.meta(config.meta, None, config.id))
        if inherited:
            rsc.meta = {**self.meta(Attributes(), None), **inherited, **dict(config.meta.items)}
        if "resource-stickiness" not in rsc.meta:
            rsc.meta["resource-stickiness"] = "1"     # Pacemaker's default for clones
        self.configure(rsc)
        rsc.promotable = config.promotable
        rsc.unique = is_true(rsc.meta.get("globally-unique"))
        rsc.clone_max = _int(rsc.meta.get("clone-max"), self.node_count)
        rsc.clone_node_max = _int(rsc.meta.get("clone-node-max"), 1)
        rsc.promoted_max = _int(rsc.meta.get("promoted-max", rsc.meta.get("master-max")), 1)
        rsc.promoted_node_max = _int(rsc.meta.get("promoted-node-max", rsc.meta.get("master-node-max")), 1)
        rsc.interleave = is_true(rsc.meta.get("interleave"))
        for number in range(max(rsc.clone_max, 0)):
            rsc.children.append(self.instance(rsc, config.child, number))
        return rsc

    def instance(self, clone: WRsc, child: Primitive | Group, number: int) -> WRsc:
        suffix = f":{number}"
        instance = self.primitive(child, clone, child.id + suffix) if isinstance(child, Primitive) \
            else self.group(child, clone, suffix)
        instance.instance_number = number
        return instance

    def bundle(self, config: Bundle) -> list[WRsc]:
        """A bundle as Pacemaker unpacks it: its containers (each with its IP, the pair placed as one replica)
        assigned like anonymous clone instances, replicas-per-host per node; and the wrapped primitive cloned
        (`<id>-clone`/`<id>-master`), one instance per replica, each in a replica's guest node."""
        rsc = WRsc(config.id, "clone", None, meta=self.meta(config.meta, None, config.id))
        self.configure(rsc)
        rsc.bundle = True
        rsc.image = config.runtime_options.get("image")
        rsc.clone_max = config.replicas
        rsc.clone_node_max = config.replicas_per_host
        for replica in config.replica_list():
            group = WRsc(f"{config.id}-replica-{replica.number}", "group", rsc, meta=dict(rsc.meta))
            self.configure(group)
            group.instance_number = replica.number
            container = self._implicit(replica.container, AgentRef("ocf", config.runtime, "heartbeat"), group)
            container.guest_node = replica.guest_node
            if config.manages_child and config.primitive is not None:
                # Pacemaker: what the wrapped primitive needs of a node is its container's need
                needs = rule_sets.conditional(self.rule_sets, config.primitive.utilization,
                                              rule_sets.resource_owner(config.primitive.id), "utilization",
                                              rule_sets.Context(now=self.now))
                container.utilization = {name: utilization.value(text) for name, text in needs}
            group.children.append(container)
            if replica.ip_id is not None:
                group.children.append(self._implicit(replica.ip_id, AgentRef("ocf", "IPaddr2", "heartbeat"), group))
            rsc.children.append(group)
        built = [rsc]
        if config.manages_child and config.primitive is not None:
            clone_meta = {"clone-max": str(config.replicas), "clone-node-max": str(config.replicas_per_host),
                          "globally-unique": "true" if config.replicas_per_host > 1 else "false", "ordered": "true"}
            if config.promoted_max:
                clone_meta.update({"promotable": "true", "promoted-max": str(config.promoted_max)})
            child = self.clone(Clone(config.child_clone_id, config.primitive, Attributes.of(clone_meta)),
                               inherited=rsc.meta)
            child.bundled_in = config.id
            for instance in child.primitives():
                instance.utilization = {}
            built.append(child)
        return built

    def _implicit(self, rid: str, agent: AgentRef, parent: WRsc) -> WRsc:
        """A resource the bundle makes: its parameters are Pacemaker's own, so no digest is compared."""
        rsc = WRsc(rid, "primitive", parent, agent=agent, meta=dict(parent.meta),
                   ops=(Op(f"{rid}-monitor-interval-60s", "monitor", 60_000),))
        self.configure(rsc)
        rsc.requires = "fencing" if self.options.stonith_enabled else \
            "nothing" if self.options.no_quorum_policy == "ignore" else "quorum"
        return rsc

    def build(self, config: Resource) -> WRsc:
        if isinstance(config, Primitive):
            return self.primitive(config, None)
        if isinstance(config, Group):
            return self.group(config, None)
        return self.clone(config)


