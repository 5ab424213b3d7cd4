"""The Node List and resource lines of `drover status`, written as crm_mon 2.1.5 writes them with -r (pure).

Rules: input is the unpacked state (appliance.scheduler.unpack), the same one crm_mon formats; output is
lines, nothing else. Node lists are sorted as Pacemaker sorts node names (case-insensitive, digit runs by
value); a node in a special state (standby, maintenance, unclean, pending) gets a line of its own; online
nodes go to Online / RemoteOnline / GuestOnline, offline ones to OFFLINE / RemoteOFFLINE (an offline guest
is not listed). Resources come in priority order (higher first, configuration order otherwise), orphans that
are not running and implicit guest connections are left out. An anonymous clone lists its instances by node
(Promoted, Started/Unpromoted, Stopped) and writes out in full those that are failed, orphaned, unmanaged or
only partly active; a unique clone writes out every instance.
"""

from __future__ import annotations

from appliance.cli.render import agent_text
from appliance.model.history import RC_NAMES, base_id
from appliance.model.nodes import node_name_key
from appliance.model.status import Status
from appliance.scheduler.unpack import Working
from appliance.scheduler.working import WNode, WRsc

_ROLE_RANK = {"Unknown": 0, "Stopped": 1, "Started": 2, "Unpromoted": 3, "Promoted": 4}




def _is_guest(node: WNode) -> bool:
    return node.kind == "guest"


def _node_status(node: WNode, running: int) -> str:
    if node.unclean:
        return "UNCLEAN (online)" if node.online else "UNCLEAN (pending)" if node.pending else "UNCLEAN (offline)"
    if node.pending:
        return "pending"
    if node.standby:
        if node.online:
            return "standby (with active resources)" if running else "standby"
        return "OFFLINE (standby)"
    if node.maintenance:
        return "maintenance" if node.online else "OFFLINE (maintenance)"
    return "online" if node.online else "OFFLINE"


def node_lines(working: Working) -> list[str]:
    running: dict[str, int] = {}
    for primitive in working.all_primitives:
        for node in primitive.running_on:
            running[node.name] = running.get(node.name, 0) + 1
    lines: list[str] = []
    lists: dict[str, list[str]] = {}
    for node in sorted(working.nodes, key=lambda n: node_name_key(n.name)):
        if node.unclean or node.pending or node.standby or node.maintenance:
            kind = "GuestNode" if _is_guest(node) else "RemoteNode" if node.kind == "remote" else "Node"
            lines.append(f"  * {kind} {node.name}: {_node_status(node, running.get(node.name, 0))}")
        elif node.online:
            lists.setdefault("GuestOnline" if _is_guest(node) else "RemoteOnline" if node.kind == "remote"
                             else "Online", []).append(node.name)
        elif node.kind == "remote":
            lists.setdefault("RemoteOFFLINE", []).append(node.name)
        elif node.kind == "cluster":
            lists.setdefault("OFFLINE", []).append(node.name)
    for title in ("Online", "OFFLINE", "RemoteOnline", "RemoteOFFLINE", "GuestOnline"):
        if lists.get(title):
            lines.append(f"  * {title}: [ {' '.join(lists[title])} ]")
    return lines


class _Writer:
    """crm_mon's resource messages over one unpacked state."""

    def __init__(self, working: Working, status: Status) -> None:
        self.working = working
        self.masked_probes = {(base_id(entry.resource), entry.node): op.rc_code for entry in status.history
                              for op in entry.ops if op.operation == "monitor" and op.interval_ms == 0
                              and (op.rc_code in (2, 5) or op.op_status == 7)}

    # -- activity, as rsc->fns->active(rsc, all) --------------------------------------------------------

    def active(self, rsc: WRsc, every: bool) -> bool:
        if rsc.variant == "primitive":     # native_active: an offline node's resources count only if unmanaged
            return any(n.unclean or n.online or not rsc.managed for n in rsc.running_on)
        children = [self.active(child, every) for child in rsc.children]
        return all(children) if every and children else any(children)

    def failed(self, rsc: WRsc) -> bool:
        """Failed, or running on a guest node that is down (Pacemaker marks those failed: the guest is reset)."""
        return rsc.failed or (rsc.managed and any(n.kind == "guest" and not n.online and not n.maintenance
                                                  for n in rsc.running_on))

    def _meta_target_role(self, rsc: WRsc) -> str | None:
        while rsc is not None:
            if rsc.meta.get("target-role"):
                return rsc.meta["target-role"]
            rsc = rsc.parent
        return None

    def _promotable(self, rsc: WRsc) -> bool:
        return rsc.top().variant == "clone" and rsc.top().promotable

    def _disabled(self, rsc: WRsc) -> bool:
        role = (rsc.meta.get("target-role") or "").capitalize()
        return role == "Stopped" or (role in ("Unpromoted", "Slave") and self._promotable(rsc))

    # -- primitives -------------------------------------------------------------------------------------

    def _printable_id(self, rsc: WRsc) -> str:
        clone = rsc.clone_parent()
        return base_id(rsc.id) if clone is not None and not clone.unique else rsc.id

    def primitive(self, rsc: WRsc, indent: str, show_only: bool = False, name: str | None = None,
                  where: WNode | None = None) -> list[str]:
        """`name` and `where`: a bundle replica's, shown for its instance or container (the container's node)."""
        node = rsc.running_on[0] if rsc.running_on else rsc.pending_node or rsc.lock_node
        if name is not None:
            node = where
        elif show_only or len(rsc.running_on) > 1:
            node = None
        role = rsc.role
        if role == "Started" and self._promotable(rsc):
            role = "Unpromoted"
        text = f"{name or self._printable_id(rsc)}\t({agent_text(rsc.agent) if rsc.agent else 'unknown'}):\t"
        if rsc.orphan:
            text += " ORPHANED"
        if self.failed(rsc):
            text += " FAILED" + (" Promoted" if role == "Promoted" else "")
        else:
            text += f" {role}"
        if node is not None:
            text += f" {node.name}"
        if role == "Stopped":
            probe = self._failed_probe([rsc], node.name if node is not None else None)
            if probe is not None:
                text += f" ({RC_NAMES.get(probe, 'unknown')}) "
        flags = []
        if node is not None and not node.online and node.unclean:
            flags.append("UNCLEAN")
        if node is not None and node is rsc.lock_node:
            flags.append("LOCKED")
        target_role = self._meta_target_role(rsc)
        if target_role is not None:
            if target_role.capitalize() == "Stopped":
                flags.append("disabled")
            elif target_role.capitalize() in ("Unpromoted", "Slave") and self._promotable(rsc):
                flags.append(f"target-role:{target_role}")
        if rsc.blocked:
            flags.append("blocked")
        elif not rsc.managed:
            flags.append("unmanaged")
        if rsc.failure_ignored:
            flags.append("failure ignored")
        if flags:
            text += f" ({', '.join(flags)})"
        if len(rsc.running_on) > 1:
            text += f" [ {' '.join(n.name for n in rsc.running_on)} ]"
        return [f"{indent}* {text}"]

    def _failed_probe(self, resources: list[WRsc], node: str | None) -> int | None:
        """The rc of a masked probe failure of any of `resources` on `node` (None: on any node)."""
        wanted = {base_id(rsc.id) for rsc in resources}
        return next((rc for (resource, where), rc in self.masked_probes.items()
                     if resource in wanted and (node is None or where == node)), None)

    # -- groups and clones ------------------------------------------------------------------------------

    def group(self, rsc: WRsc, indent: str) -> list[str]:
        flags = [flag for flag, on in (("unmanaged", not rsc.managed), ("disabled", self._disabled(rsc))) if on]
        header = f"{indent}* Resource Group: {rsc.id}" + (f" ({', '.join(flags)})" if flags else "") + ":"
        return [header, *(line for child in rsc.children for line in self.any(child, indent + "  "))]

    def clone(self, rsc: WRsc, indent: str) -> list[str]:
        flags = [flag for flag, on in (("promotable", rsc.promotable), ("unique", rsc.unique),
                                       ("unmanaged", not rsc.managed), ("disabled", self._disabled(rsc))) if on]
        child_id = base_id(rsc.children[0].id) if rsc.children else rsc.id
        lines = [f"{indent}* Clone Set: {rsc.id} [{child_id}]" + (f" ({', '.join(flags)})" if flags else "") + ":"]
        inner = indent + "  "
        promoted: list[str] = []
        started: list[str] = []
        for child in rsc.children:
            partly = self.active(child, False)
            full = False
            if rsc.unique:
                full = partly or not rsc.orphan
            elif not partly:
                continue
            elif any(p.orphan or not p.managed or self.failed(p) for p in child.primitives()):
                full = True
            elif self.active(child, True):
                where = {n.name: n for p in child.primitives() for n in p.running_on}
                if len(where) != 1:
                    full = True
                else:
                    node = next(iter(where.values()))
                    role = max((p.role for p in child.primitives()), key=lambda r: _ROLE_RANK.get(r, 0))
                    if not node.online and node.unclean:
                        full = True
                    elif role == "Promoted":
                        promoted.append(node.name)
                    else:
                        started.append(node.name)
            else:
                full = True
            if full:
                lines += self.any(child, inner)
        if promoted:
            lines.append(f"{inner}* Promoted: [ {' '.join(sorted(promoted, key=node_name_key))} ]")
        if started:
            title = "Started"
            if rsc.promotable:
                title = "Unpromoted (target-role)" if self._configured_role(rsc) in ("Unpromoted", "Slave") \
                    else "Unpromoted"
            lines.append(f"{inner}* {title}: [ {' '.join(sorted(started, key=node_name_key))} ]")
        active_instances = len(promoted) + len(started)
        if not rsc.unique and rsc.clone_max > active_instances:
            lines += self._stopped(rsc, inner)
        return lines if len(lines) > 1 else []

    def _configured_role(self, rsc: WRsc) -> str:
        role = rsc.meta.get("target-role")
        if not role and rsc.children:
            role = rsc.children[0].meta.get("target-role")
        return (role or "").capitalize()

    def _stopped(self, rsc: WRsc, indent: str) -> list[str]:
        if self.working.options.symmetric:
            candidates = [n.name for n in self.working.nodes]
        else:
            # no allowed nodes before scheduling: the nodes where any of its history was found (known_on)
            candidates = sorted({node for p in rsc.primitives()
                                 for node in self.working.known_on.get(base_id(p.id), set())})
        candidates = [name for name in candidates if name not in self.working.bundle_nodes]   # theirs only
        running = {n.name for p in rsc.primitives() for n in p.running_on}
        disabled = self._configured_role(rsc) == "Stopped"
        states: dict[str, str] = {}
        for name in candidates:
            if name in running:
                continue
            probe = self._failed_probe(rsc.primitives(), name)
            states[name] = f"Stopped ({RC_NAMES.get(probe, 'unknown')})" if probe is not None \
                else "Stopped (disabled)" if disabled else "Stopped"
        lines = []
        for state in sorted(set(states.values())):
            names = sorted((name for name, shown in states.items() if shown == state), key=node_name_key)
            lines.append(f"{indent}* {state}: [ {' '.join(names)} ]")
        return lines

    def bundle(self, rsc: WRsc, indent: str) -> list[str]:
        """pe__bundle_text: one line per replica, named by its guest node (or container) and IP, showing the
        wrapped primitive's instance (or the container) on the container's node."""
        flags = (" (unique)" if rsc.clone_node_max > 1 else "") + ("" if rsc.managed else " (unmanaged)")
        lines = [f"{indent}* Container bundle{' set' if len(rsc.children) > 1 else ''}: {rsc.id} "
                 f"[{rsc.image}]{flags}:"]
        child_clone = next((r for r in self.working.resources if r.bundled_in == rsc.id), None)
        for number, replica in enumerate(rsc.children):
            container = replica.children[0]
            ip = replica.children[1] if len(replica.children) > 1 else None
            name = container.guest_node or container.id
            if ip is not None:
                name += f" ({ip.id.rpartition('-ip-')[2]})"
            shown = container
            if child_clone is not None and container.guest_node:
                found = self.working.by_id.get(
                    bundle_instance(self.working, child_clone.id, container.guest_node, number) or "")
                shown = found or container
            lines += self.primitive(shown, indent + "  ", name=name, where=container.current)
        return lines

    def any(self, rsc: WRsc, indent: str) -> list[str]:
        if rsc.bundle:
            return self.bundle(rsc, indent)
        if rsc.variant == "group":
            return self.group(rsc, indent)
        if rsc.variant == "clone":
            return self.clone(rsc, indent)
        return self.primitive(rsc, indent)



def bundle_instance(working: Working, clone_id: str, guest: str | None, number: int) -> str | None:
    """The instance of a bundle's wrapped primitive that is replica `number`'s: the one active in its guest
    node, else one active nowhere (the replica's own number first)."""
    clone = working.by_id.get(clone_id)
    if clone is None or guest is None:
        return None
    instances = clone.children
    here = next((i for i in instances if any(n.name == guest for n in i.running_on)), None)
    if here is not None:
        return here.id
    idle = [i for i in instances if not i.running_on]
    chosen = next((i for i in idle if i.instance_number == number), None) or next(iter(idle), None)
    return chosen.id if chosen is not None else None


def resource_lines(working: Working, status: Status) -> list[str]:
    writer = _Writer(working, status)
    # guest nodes' implicit connections are crm_mon's internal resources: not shown
    implicit = {rsc.guest_node for rsc in working.all_primitives if rsc.guest_node}
    configured = [r for r in working.resources if not r.orphan]
    orphans = [r for r in working.resources if r.orphan]
    ordered = sorted(configured, key=lambda r: -r.priority) + orphans
    lines: list[str] = []
    for rsc in ordered:
        if rsc.id in implicit or rsc.bundled_in or (rsc.orphan and not writer.active(rsc, True)):
            continue
        lines += writer.any(rsc, "  ")
    return lines
