"""`drover status` (and `crm_mon -1`): the cluster at a glance, in crm_mon's layout, XML elements and as JSON.

Rules: reads one snapshot of the state database (never waits for the daemon:
SQLite WAL readers do not block on its writes); the controller counts as the
DC while it holds its lock file; text is what `crm_mon -1 -r` 2.1.5 prints for
the same state (Cluster Summary, Node List with its Online/RemoteOnline/
GuestOnline lines, Full List of Resources, Failed Resource Actions; see
status_text.py), checked line by line against crm_mon on the scheduler corpus.
"""

from __future__ import annotations

import dataclasses
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from appliance.cli import state, status_fencing, ticket_cmd
from appliance.cli.status_view import FailureView, PrimitiveView, StatusView, build
from appliance.store.held_status import read_marker
from appliance.store.lock import lock_held
from guest.common.cli import Command, Context
from guest.common.version import VERSION

USAGE = """
Usage:
  drover status [--inactive] [--tickets] [--output-as=FORMAT]

Shows nodes, resources and failed actions like `crm_mon -1`.

Options:
  --inactive            Accepted for crm_mon compatibility: inactive resources are always listed.
  --tickets             Also the tickets, granted or not (crm_mon --tickets).
  --output-as=FORMAT    text (default), xml (crm_mon's elements) or json.
"""


def _time(seconds: int | None) -> str:
    """pcmk__epoch2str: ctime's layout (the day padded with a space)."""
    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(seconds)) if seconds else ""


def _xml_time(seconds: int | None) -> str:
    """crm_time_as_string with date, time of day and zone, as crm_mon's XML gives a failure's last-rc-change."""
    if not seconds:
        return ""
    local = time.localtime(seconds)
    offset = local.tm_gmtoff // 60
    zone = "Z" if offset == 0 else f"{'+' if offset > 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return time.strftime("%Y-%m-%d %H:%M:%S", local) + zone


def readable_interval(ms: int) -> str:
    """Pacemaker 2.1.5's pcmk__readable_interval, quirks included: a unit is used only when the interval is
    strictly greater than it (60000 is "60s", 1000 is "1000ms") and seconds keep their milliseconds (1.500s)."""
    text = ""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms > size:
            text += f"{ms // size}{unit}"
            ms %= size
    if ms > 1000:
        text += f"{ms // 1000}" + (f".{ms % 1000:03d}" if ms % 1000 else "") + "s"
    elif ms > 0:
        text += f"{ms}ms"
    return text or "0s"


def _failure_line(failure: FailureView) -> str:
    """crm_mon 2.1's wording: 'web 30s-interval monitor on guest1 returned 'not running' (reason) at TIME'."""
    resource = failure.op_key[: -len(f"_{failure.task}_{failure.interval_ms}")]
    task = "probe" if failure.task == "monitor" and not failure.interval_ms else failure.task
    interval = f"{readable_interval(failure.interval_ms)}-interval " if failure.interval_ms else ""
    line = f"  * {resource} {interval}{task} on {failure.node}"
    if failure.status == 0:
        line += f" returned '{failure.rc_name}'" + (f" ({failure.exit_reason})" if failure.exit_reason else "")
    else:
        line += f" could not be executed ({failure.status_name}" + \
            (f": {failure.exit_reason}" if failure.exit_reason else "") + ")"
    if failure.last_rc_change:
        line += f" at {_time(failure.last_rc_change)}"
    if failure.exec_ms > 0:
        line += f" after {readable_interval(failure.exec_ms)}"
    return line


def _counts(view: StatusView) -> str:
    notes = ([f"{view.disabled} DISABLED"] if view.disabled else []) + \
        ([f"{view.blocked} BLOCKED from further action due to failure"] if view.blocked else [])
    return f" ({', '.join(notes)})" if notes else ""


def render_text(view: StatusView, now: float) -> str:
    quorum = "partition with quorum" if view.have_quorum else "partition WITHOUT quorum"
    dc = f"{view.dc} (version {view.version}) - {quorum}" if view.dc else "NONE"
    lines = ["Cluster Summary:", f"  * Stack: {view.stack}", f"  * Current DC: {dc}",
             f"  * Last updated: {_time(int(now))}",
             f"  * Last change:  {view.last_change or 'never'} by root via drover on {view.dc or 'NONE'}",
             f"  * {len(view.nodes)} node{'s' if len(view.nodes) != 1 else ''} configured",
             f"  * {view.instances_configured} resource instance{'s' if view.instances_configured != 1 else ''} "
             f"configured" + _counts(view),
             *(f"  * WARNING: {warning}" for warning in view.warnings),
             "", "Node List:"]
    lines += view.node_lines
    lines += ["", "Full List of Resources:", *(view.resource_lines or ["  * No resources"])]
    if view.failures:
        lines += ["", "Failed Resource Actions:", *(_failure_line(f) for f in view.failures)]
    lines += status_fencing.text_sections(*status_fencing.shown_events(view.fencing))
    return "\n".join(lines)


def _b(value: bool) -> str:
    return "true" if value else "false"


def render_xml(view: StatusView, now: float) -> str:
    root = ET.Element("pacemaker-result", {"api-version": "2.25", "request": "drover status --output-as=xml"})
    summary = ET.SubElement(root, "summary")
    ET.SubElement(summary, "stack", {"type": view.stack})
    if view.dc:
        ET.SubElement(summary, "current_dc", {"present": "true", "version": view.version, "name": view.dc,
                                              "id": "1", "with_quorum": _b(view.have_quorum)})
    else:
        ET.SubElement(summary, "current_dc", {"present": "false"})
    ET.SubElement(summary, "last_update", {"time": _time(int(now))})
    ET.SubElement(summary, "last_change", {"time": view.last_change, "user": "root", "client": "drover",
                                           "origin": view.dc or ""})
    ET.SubElement(summary, "nodes_configured", {"number": str(len(view.nodes))})
    ET.SubElement(summary, "resources_configured", {"number": str(view.instances_configured),
                                                    "disabled": str(view.disabled), "blocked": str(view.blocked)})
    options = view.options
    ET.SubElement(summary, "cluster_options", {
        "stonith-enabled": options.get("stonith-enabled", "true"),
        "symmetric-cluster": options.get("symmetric-cluster", "true"),
        "no-quorum-policy": options.get("no-quorum-policy", "stop"),
        "maintenance-mode": options.get("maintenance-mode", "false"),
        "stop-all-resources": options.get("stop-all-resources", "false")})
    nodes = ET.SubElement(root, "nodes")
    for node in view.nodes:
        attrs = {"name": node.name, "id": node.id, "online": _b(node.state in ("online", "standby", "maintenance")),
                 "standby": _b(node.state == "standby"), "standby_onfail": "false",
                 "maintenance": _b(node.state == "maintenance"), "pending": "false",
                 "unclean": _b(node.state == "unclean"), "shutdown": "false", "expected_up": _b(node.kind == "member"),
                 "is_dc": _b(node.is_dc), "resources_running": str(node.resources_running), "type": node.kind}
        if node.container:
            attrs["id_as_resource"] = node.container
        ET.SubElement(nodes, "node", attrs)
    resources = ET.SubElement(root, "resources")
    for resource in view.resources:
        if resource.kind == "primitive":
            for member in resource.members:
                _resource_xml(resources, member, view)
            continue
        if resource.kind == "bundle":
            bundle = ET.SubElement(resources, "bundle", {
                "id": resource.id, "type": resource.runtime, "image": resource.image, "unique": _b(resource.unique),
                "managed": _b(all(m.managed for m in resource.members)),
                "failed": _b(any(m.failed for m in resource.members))})
            members = iter(resource.members)
            for number, size in enumerate(resource.replica_sizes):
                replica = ET.SubElement(bundle, "replica", {"id": str(number)})
                for _ in range(size):
                    _resource_xml(replica, next(members), view)
            continue
        if resource.kind == "group":
            parent = ET.SubElement(resources, "group", {"id": resource.id,
                                                        "number_resources": str(len(resource.members)),
                                                        "managed": "true", "disabled": "false"})
        else:
            parent = ET.SubElement(resources, "clone", {
                "id": resource.id, "multi_state": _b(resource.promotable), "unique": _b(resource.unique),
                "managed": "true", "disabled": "false", "failed": _b(any(m.failed for m in resource.members)),
                "failure_ignored": "false"})
        for member in resource.members:
            _resource_xml(parent, member, view)
    if view.failures:
        failures = ET.SubElement(root, "failures")
        for failure in view.failures:
            ET.SubElement(failures, "failure", {
                "op_key": failure.op_key, "node": failure.node, "exitstatus": failure.rc_name,
                "exitreason": failure.exit_reason, "exitcode": str(failure.rc), "call": str(failure.call),
                "status": failure.status_name, "last-rc-change": _xml_time(failure.last_rc_change),
                "queued": str(failure.queue_ms),
                "exec": str(failure.exec_ms), "interval": str(failure.interval_ms), "task": failure.task})
    ET.SubElement(root, "status", {"code": "0", "message": "OK"})
    ET.indent(root, "  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")


def _resource_xml(parent: ET.Element, member: PrimitiveView, view: StatusView) -> None:
    attributes = {"id": member.id, "resource_agent": member.agent,
                  "role": member.role if member.nodes else "Stopped"}
    if member.disabled:
        attributes["target_role"] = "Stopped"
    attributes.update({"active": _b(bool(member.nodes)), "orphaned": _b(member.orphaned), "blocked": "false",
                       "managed": _b(member.managed), "failed": _b(member.failed), "failure_ignored": "false",
                       "nodes_running_on": str(len(member.nodes))})
    element = ET.SubElement(parent, "resource", attributes)
    ids = {n.name: n.id for n in view.nodes}
    for node in member.nodes:
        ET.SubElement(element, "node", {"name": node, "id": ids.get(node, node), "cached": "true"})


def as_json(view: StatusView, now: float) -> dict:
    return {
        "summary": {"stack": view.stack, "current_dc": view.dc, "version": view.version,
                    "with_quorum": view.have_quorum, "last_update": _time(int(now)),
                    "last_change": view.last_change, "nodes_configured": len(view.nodes),
                    "resources_configured": view.instances_configured, "disabled": view.disabled,
                    "warnings": list(view.warnings)},
        "nodes": [{"name": n.name, "id": n.id, "type": n.kind, "state": n.state,
                   "resources_running": n.resources_running, "container": n.container, "is_dc": n.is_dc}
                  for n in view.nodes],
        "resources": [{"id": r.id, "type": r.kind, "promotable": r.promotable, "implicit": r.implicit,
                       "members": [{"id": m.id, "agent": m.agent, "role": m.role if m.nodes else "Stopped",
                                    "nodes": list(m.nodes), "failed": m.failed, "managed": m.managed,
                                    "disabled": m.disabled} for m in r.members]}
                      for r in view.resources],
        "failures": [{"op_key": f.op_key, "node": f.node, "task": f.task, "interval_ms": f.interval_ms,
                      "rc": f.rc, "rc_text": f.rc_name, "status": f.status_name, "call": f.call,
                      "exit_reason": f.exit_reason, "last_rc_change": f.last_rc_change} for f in view.failures],
        "fencing": [{"target": e.target, "action": e.action, "state": e.state, "delegate": e.delegate,
                     "origin": e.origin, "client": e.client, "device": e.device, "requested": e.requested,
                     "completed": e.completed, "exit_reason": e.exit_reason} for e in view.fencing],
    }


def run(args: dict, context: Context) -> int:
    output = state.output_format(args)
    loaded = state.load_config(context, tolerant=True)          # a broken drop-in must not stop status
    settings = state.settings(context, loaded=loaded)
    with state.open_store(settings) as store:
        cib = store.read()
    running = lock_held(settings.state_db)
    dc = settings.local_node if running else None
    cluster_name, stack, warnings = loaded["cluster.cluster_name"], "drover", ()
    if settings.clustered:
        from appliance.cluster import view as cluster_view
        seen = cluster_view.read(context.paths.run_dir) if running else None
        stack, dc = "corosync", seen.dc_name if seen is not None else None
        cluster_name = seen.cluster_name if seen is not None else cluster_name
        cib = dataclasses.replace(cib, have_quorum=seen is not None and seen.quorate)
        if seen is None:
            warnings = (f"drover is not running on {settings.local_node}: this is its last copy of the cluster "
                        "state, which may be behind",)
        warnings += status_fencing.warnings(cib)
    now = time.time()
    view = build(cib, cluster_name, dc, VERSION, datetime.fromtimestamp(now, UTC).replace(tzinfo=None))
    view = dataclasses.replace(view, stack=stack, warnings=warnings)
    unwritable = read_marker(context.paths.run_dir) if dc else None
    if unwritable:
        view = dataclasses.replace(view, warnings=(*view.warnings,
            f"{dc} cannot write its state ({unwritable}): results are held in memory, nothing new is started, "
            "and what is shown here may be behind",))
    if output == "json":
        state.print_json({**as_json(view, now), **({"tickets": ticket_cmd.status_json(cib)}
                                                  if args["--tickets"] else {})})
    elif output == "xml":
        print(render_xml(view, now))
    else:
        print("\n".join([render_text(view, now), *(ticket_cmd.status_lines(cib) if args["--tickets"] else [])]))
    return 0


COMMAND = Command(USAGE, run)
