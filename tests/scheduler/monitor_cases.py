"""Write the golden cases of recurring monitors over a history (tests/scheduler/monitors/) with real Pacemaker's
results; tests/test_scheduler_actions.py compares the whole transition, monitors included, with crm_simulate's.

    python -m tests.scheduler.monitor_cases [OUT_DIR]

A degraded monitor result (OCF 190) is success; a Stopped-role monitor that finds the resource active has it
stopped and runs again after the stop; an unmanaged resource active on two nodes is monitored where it is
assigned only; a changed monitor is re-scheduled, but not on a standby host; a host out of the membership gets no
monitor.
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.model.status import pacemaker_digest
from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "monitors"

_OP = ('<lrm_rsc_op id="{rid}_{key}" operation_key="{rid}_{op}_{interval}" operation="{op}" '
       'crm-debug-origin="test" crm_feature_set="3.16.1" transition-key="{call}:-1:{target}:x" '
       'transition-magic="0:{rc};{call}:-1:{target}:x" call-id="{call}" rc-code="{rc}" op-status="{status}" '
       'interval="{interval}" last-rc-change="1795561600" exec-time="0" queue-time="0" op-digest="{digest}"{extra}/>')
# Dummy's parameters a change of which needs a restart (Pacemaker records them with a start)
FORCE_RESTART = "  envfile op_sleep passwd state  "


def op(rid: str, key: str, name: str, call: int, rc: int = 0, interval: int = 0, target: int = 0,
       timeout_ms: int = 20000, digest: str | None = None, params: dict[str, str] | None = None,
       status: int = 0) -> str:
    """`params`: a start's parameters, recorded with the restart digest as Pacemaker records an agent that can
    reload the others."""
    extra = ""
    if params is not None:
        restart = {name: value for name, value in params.items() if name in FORCE_RESTART.split()}
        extra = f' op-force-restart="{FORCE_RESTART}" op-restart-digest="{pacemaker_digest(restart)}"'
        digest = digest or pacemaker_digest(params)
    timeout = {"CRM_meta_timeout": str(timeout_ms)} if interval else {}
    return _OP.format(rid=rid, key=key, op=name, interval=interval, call=call, rc=rc, target=target,
                      digest=digest or pacemaker_digest(timeout), extra=extra, status=status)


def _history(node: int, rid: str, *ops: str) -> str:
    return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy">{"".join(ops)}'
            '</lrm_resource>')


def _cib(resources: str, histories: dict[int, str], options: str = "", states: dict[int, str] | None = None,
         standby: int | None = None, constraints: str = "", attrs: dict[int, str] | None = None) -> str:
    """`attrs`: each node's transient attributes (nvpairs)."""
    states, attrs = states or {}, attrs or {}
    nodes = "".join(f'<node id="{n}" uname="node{n}">' + (
        f'<instance_attributes id="node{n}-ia">{_nv(f"node{n}", "standby", "on")}</instance_attributes>'
        if n == standby else "") + "</node>" for n in (1, 2))
    status = "".join(
        f'<node_state id="{n}" uname="node{n}" '
        + states.get(n, 'in_ccm="true" crmd="online" join="member" expected="member"')
        + ">" + (f'<transient_attributes id="{n}"><instance_attributes id="status-{n}">{attrs[n]}'
                 "</instance_attributes></transient_attributes>" if n in attrs else "")
        + f'<lrm id="{n}"><lrm_resources>{histories.get(n, "")}</lrm_resources></lrm></node_state>'
        for n in (1, 2))
    return document(nodes, resources, constraints, status, options)


def _dummy(rid: str, ops: str, meta: str = "", params: dict[str, str] | None = None) -> str:
    meta_block = f'<meta_attributes id="{rid}-meta">{meta}</meta_attributes>' if meta else ""
    param_block = (f'<instance_attributes id="{rid}-ia">'
                   + "".join(_nv(rid, name, value) for name, value in params.items()) + "</instance_attributes>"
                   ) if params else ""
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy">{param_block}{meta_block}'
            f'<operations>{ops}</operations></primitive>')


MONITOR = '<op id="{rid}-monitor" name="monitor" interval="10s"/>'
STOPPED = '<op id="{rid}-monitor-stopped" name="monitor" interval="20s" role="Stopped"/>'


def _nv(owner: str, name: str, value: str) -> str:
    return f'<nvpair id="{owner}-{name}" name="{name}" value="{value}"/>'


def cases() -> dict[str, str]:
    running = (op("web", "last_0", "start", 2), op("web", "monitor_10000", "monitor", 3, interval=10000))
    probe = op("web", "last_0", "monitor", 1, rc=7, target=7)
    return {
        # the 10s monitor reported degraded (190) after it ran fine: not a failure, nothing to do
        "degraded-monitor-is-success": _cib(
            _dummy("web", MONITOR.format(rid="web")),
            {1: _history(1, "web", *running, op("web", "last_failure_0", "monitor", 3, rc=190, interval=10000)),
             2: _history(2, "web", probe)}),
        # a Stopped-role monitor finds the (disabled) resource active on node1: stopped, and the monitor again
        "stopped-monitor-finds-it-active": _cib(
            _dummy("web", MONITOR.format(rid="web") + STOPPED.format(rid="web"), _nv("web", "target-role", "Stopped")),
            {1: _history(1, "web", probe, op("web", "monitor_20000", "monitor", 2, rc=0, interval=20000, target=7)),
             2: _history(2, "web", probe, op("web", "monitor_20000", "monitor", 2, rc=7, interval=20000, target=7))}),
        # its monitor's result was reported as an error with the rc it expected (Pacemaker remaps it to done):
        # it runs, nothing to schedule again
        "monitor-reported-as-error-with-its-expected-rc-runs-on": _cib(
            _dummy("web", MONITOR.format(rid="web")),
            {1: _history(1, "web", op("web", "last_0", "start", 2),
                         op("web", "monitor_10000", "monitor", 3, interval=10000, status=4)),
             2: _history(2, "web", probe)}),
        # a probe still in flight when the history was written tells nothing: it is probed again there
        "a-probe-in-flight-is-probed-again": _cib(
            _dummy("web", MONITOR.format(rid="web")),
            {1: _history(1, "web", *running),
             2: _history(2, "web", op("web", "last_0", "monitor", -1, rc=-1, target=7, status=-1))}),
        # unmanaged and active on both nodes: monitored on the one it is assigned to only
        "unmanaged-active-twice": _cib(
            _dummy("web", MONITOR.format(rid="web") + STOPPED.format(rid="web"), _nv("web", "is-managed", "false")),
            {1: _history(1, "web", probe, *running),
             2: _history(2, "web", probe, op("web", "monitor_20000", "monitor", 2, rc=0, interval=20000, target=7))}),
        # unmanaged, its monitor recorded with another timeout: re-scheduled all the same
        "unmanaged-monitor-digest": _cib(
            _dummy("web", MONITOR.format(rid="web"), _nv("web", "is-managed", "false")),
            {1: _history(1, "web", op("web", "last_0", "start", 2),
                         op("web", "monitor_10000", "monitor", 3, interval=10000, timeout_ms=40000)),
             2: _history(2, "web", probe)}),
        # the same on a standby host: definitions are checked on available hosts only
        "no-digest-check-on-a-standby-host": _cib(
            _dummy("web", MONITOR.format(rid="web"), _nv("web", "is-managed", "false")),
            {1: _history(1, "web", op("web", "last_0", "start", 2),
                         op("web", "monitor_10000", "monitor", 3, interval=10000, timeout_ms=40000)),
             2: _history(2, "web", probe)}, standby=1),
        # node2 left the membership (no fencing here): its resource is not monitored there any more
        "no-monitor-on-a-host-that-left": _cib(
            _dummy("web", MONITOR.format(rid="web"), _nv("web", "is-managed", "false")),
            {1: _history(1, "web", probe), 2: _history(2, "web", *running)},
            states={2: 'in_ccm="false" crmd="offline" join="down" expected="down"'}),
        # only a parameter the agent can reload changed: reload-agent where it runs, its monitor again after
        "reloadable-parameter-reloads": _cib(
            _dummy("web", MONITOR.format(rid="web"), params={"fake": "new"}),
            {1: _history(1, "web", op("web", "last_0", "start", 2, params={"fake": "old"}),
                         op("web", "monitor_10000", "monitor", 3, interval=10000)),
             2: _history(2, "web", probe)}),
        # a parameter that needs a restart changed: restarted, no reload
        "restart-parameter-restarts": _cib(
            _dummy("web", MONITOR.format(rid="web"), params={"fake": "new", "state": "/run/web-new"}),
            {1: _history(1, "web", op("web", "last_0", "start", 2, params={"fake": "old", "state": "/run/web"}),
                         op("web", "monitor_10000", "monitor", 3, interval=10000)),
             2: _history(2, "web", probe)}),
        # a demotion failed: the instance counts as Unpromoted (Pacemaker: staying Promoted would loop), so it
        # is recovered with a stop and a start, and promoted again, with no second demotion
        "failed-demote-recovered-without-demoting": _cib(
            '<clone id="db-clone"><meta_attributes id="db-clone-meta">'
            + _nv("db-clone", "promotable", "true") + "</meta_attributes>"
            + '<primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/></clone>',
            {1: '<lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">'
                + op("db", "last_0", "demote", 4, rc=1) + op("db", "last_failure_0", "demote", 4, rc=1)
                + "</lrm_resource>",
             2: '<lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">'
                + op("db", "last_0", "start", 2) + "</lrm_resource>"},
            attrs={1: _nv("status-1", "master-db", "10")}),
        # a reload pending, but what it is ordered after starts: restarted instead (Pacemaker's "reload
        # becomes restart")
        "reload-becomes-restart-after-a-start": _cib(
            _dummy("db", MONITOR.format(rid="db"))
            + _dummy("web", MONITOR.format(rid="web"), params={"fake": "new"}),
            {1: _history(1, "web", op("web", "last_0", "start", 2, params={"fake": "old"}),
                         op("web", "monitor_10000", "monitor", 3, interval=10000))
             + _history(1, "db", op("db", "last_0", "monitor", 1, rc=7, target=7)),
             2: _history(2, "web", probe) + _history(2, "db", op("db", "last_0", "monitor", 1, rc=7, target=7))},
            constraints='<rsc_order id="db-then-web" first="db" then="web"/>'
                        '<rsc_location id="db-on-node1" rsc="db" node="node1" score="100"/>'
                        '<rsc_location id="web-on-node1" rsc="web" node="node1" score="100"/>'),
    }


def main() -> int:
    return write_all(cases(), OUT, "monitors", "monitor_cases.py")


if __name__ == "__main__":
    sys.exit(main())
