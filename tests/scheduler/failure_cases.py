"""Write the failure-expiry (and operation-in-flight) golden cases (tests/scheduler/failures/) with real
Pacemaker's results.

    python -m tests.scheduler.failure_cases [OUT_DIR]

Each case is a small CIB around the walk-through (node1, vm-guest1 hosting
guest1, webserver in it, or a remote node), with failures far in the past
(always expired where a failure-timeout applies) or far in the future (never
expired), so the expected results do not depend on when they are replayed.
expected.json comes from crm_simulate (tests/scheduler/oracle.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.golden import write_all

OUT = Path(__file__).resolve().parent / "failures"
PAST, FUTURE = 1_500_000_000, 4_000_000_000      # 2017 and 2096


def _op(rid: str, op_id: str, task: str, rc: int, status: int, when: int, call: int, interval: int = 0,
        target: int = 0) -> str:
    key = f"{task}_{interval}" if task != "monitor" or interval else "monitor_0"
    return (f'<lrm_rsc_op id="{op_id}" operation_key="{rid}_{key}" operation="{task}" call-id="{call}" '
            f'rc-code="{rc}" op-status="{status}" interval="{interval}" last-rc-change="{when}" '
            f'transition-key="0:0:{target}:d4c0de00-0000-4000-8000-000000000000" '
            f'transition-magic="{status}:{rc};0:0:{target}:d4c0de00-0000-4000-8000-000000000000"/>')


def _fail(node: str, rid: str, key: str, count: str, when: int) -> str:
    return (f'<nvpair id="{node}-fc-{rid}-{key}" name="fail-count-{rid}#{key}" value="{count}"/>'
            f'<nvpair id="{node}-lf-{rid}-{key}" name="last-failure-{rid}#{key}" value="{when}"/>')


def _cib(resources: str, constraints: str, lrm: str, attrs: str, extra_states: str = "",
         defaults: str = "", nodes: str = '<node id="1" uname="node1"/>') -> str:
    return f"""<cib validate-with="pacemaker-3.7" crm_feature_set="3.16.1" epoch="3" num_updates="1" admin_epoch="0"
 have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opts-stonith-enabled" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes>{nodes}</nodes>
    <resources>{resources}</resources>
    <constraints>{constraints}</constraints>
    {defaults}
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="status-1">{attrs}</instance_attributes>
      </transient_attributes>
      <lrm id="1"><lrm_resources>{lrm}</lrm_resources></lrm>
    </node_state>
    {extra_states}
  </status>
</cib>
"""


VM = """<primitive id="vm-guest1" class="ocf" provider="heartbeat" type="VirtualDomain">
  <instance_attributes id="vm-ia"><nvpair id="vm-ia-config" name="config" value="/etc/drover/vm-guest1.xml"/>
  </instance_attributes>
  <meta_attributes id="vm-ma"><nvpair id="vm-ma-rn" name="remote-node" value="guest1"/></meta_attributes>
  <operations><op id="vm-mon" name="monitor" interval="10s"/></operations>
</primitive>"""
WEB = """<primitive id="webserver" class="ocf" provider="heartbeat" type="Dummy">
  <meta_attributes id="web-ma">{meta}</meta_attributes>
  <operations><op id="web-mon" name="monitor" interval="30s"/></operations>
</primitive>"""
PREFERS_GUEST = '<rsc_location id="web-guest1" rsc="webserver" node="guest1" score="INFINITY"/>'
VM_RUNNING = ('<lrm_resource id="vm-guest1" class="ocf" provider="heartbeat" type="VirtualDomain">'
              + _op("vm-guest1", "vm-guest1_last_0", "start", 0, 0, PAST, 2) + "</lrm_resource>")
WEB_STOPPED = ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
               + _op("webserver", "webserver_last_0", "monitor", 7, 0, PAST, 1, target=7) + "</lrm_resource>")


def _connection_failed(when: int) -> str:
    return ('<lrm_resource id="guest1" class="ocf" provider="pacemaker" type="remote" container="vm-guest1">'
            + _op("guest1", "guest1_last_failure_0", "start", 1, 2, when, 3)
            + _op("guest1", "guest1_last_0", "stop", 0, 0, when, 4) + "</lrm_resource>")


GUEST_DOWN = '<node_state id="guest1" uname="guest1" in_ccm="false" crmd="offline" remote_node="true"/>'
TIMEOUT_DEFAULTS = ('<rsc_defaults><meta_attributes id="rsc-options">'
                    '<nvpair id="rsc-options-ft" name="failure-timeout" value="60s"/></meta_attributes></rsc_defaults>')


def _web_failed_monitor(when: int, rc: int = 7, status: int = 0) -> str:
    return ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
            + _op("webserver", "webserver_last_0", "start", 0, 0, PAST, 2)
            + _op("webserver", "webserver_last_failure_0", "monitor", rc, status, when, 3, interval=30000)
            + _op("webserver", "webserver_monitor_30000", "monitor", rc, status, when, 3, interval=30000)
            + "</lrm_resource>")


START_IN_FLIGHT = ('<lrm id="2"><lrm_resources><lrm_resource id="webserver" class="ocf" provider="heartbeat" '
                   'type="Dummy">' + _op("webserver", "webserver_last_0", "start", 193, -1, PAST, -1)
                   + "</lrm_resource></lrm_resources></lrm>")
TWO_NODES = '<node id="1" uname="node1"/><node id="2" uname="node2"/>'
NODE2 = '<node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>'
REMOTE = """<primitive id="remote1" class="ocf" provider="pacemaker" type="remote">
  <instance_attributes id="r1-ia">{params}</instance_attributes>
  <operations><op id="r1-mon" name="monitor" interval="30s"/></operations>
</primitive>"""


PREFERS_NODE1 = '<rsc_location id="web-node1" rsc="webserver" node="node1" score="100"/>'
GUEST_CONNECTED = ('<lrm_resource id="guest1" class="ocf" provider="pacemaker" type="remote" container="vm-guest1">'
                   + _op("guest1", "guest1_last_0", "start", 0, 0, PAST, 3) + "</lrm_resource>")
GUEST_UP = ('<node_state id="guest1" uname="guest1" remote_node="true" in_ccm="true" crmd="online">'
            '<lrm id="guest1"><lrm_resources>{lrm}</lrm_resources></lrm></node_state>')


def _web_probe(rc: int) -> str:
    return ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
            + _op("webserver", "webserver_last_failure_0", "monitor", rc, 0, PAST, 1, target=7) + "</lrm_resource>")


STICKY = '<nvpair id="web-stickiness" name="resource-stickiness" value="100"/>'
EXCLUSIVE_NODE2 = ('<rsc_location id="web-only-node2" rsc="webserver" node="node2" score="10" '
                   'resource-discovery="exclusive"/>')
EXCLUSIVE_GUESTS = ('<rsc_location id="web-only-guests" rsc="webserver" resource-discovery="exclusive">'
                    '<rule id="web-only-guests-rule" score="0"><expression id="web-only-guests-kind" '
                    'attribute="#kind" operation="eq" value="container"/></rule></rsc_location>')


IGNORING_WEB = """<primitive id="webserver" class="ocf" provider="heartbeat" type="Dummy">
  <operations><op id="web-mon" name="monitor" interval="30s" on-fail="ignore"/></operations>
</primitive>"""


def _web_monitor_failed(rc: int, status: int) -> str:
    return ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
            + _op("webserver", "webserver_last_0", "start", 0, 0, PAST, 2)
            + _op("webserver", "webserver_monitor_30000", "monitor", 0, 0, PAST, 3, interval=30000)
            + _op("webserver", "webserver_last_failure_0", "monitor", rc, status, PAST, 3, interval=30000)
            + "</lrm_resource>")


def _legacy_fail_count() -> str:
    return _cib(WEB.format(meta='<nvpair id="web-mt" name="migration-threshold" value="1"/>'), "", _web_started(),
                '<nvpair id="status-1-fc" name="fail-count-webserver" value="1"/>', NODE2, nodes=TWO_NODES)


def _web_started() -> str:
    return ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
            + _op("webserver", "webserver_last_0", "start", 0, 0, PAST, 2) + "</lrm_resource>")


def _web_stop_failed() -> str:
    return ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
            + _op("webserver", "webserver_last_0", "stop", 1, 0, PAST, 4)
            + _op("webserver", "webserver_last_failure_0", "stop", 1, 0, PAST, 4) + "</lrm_resource>")


VM_STOP_FAILED = ('<lrm_resource id="vm-guest1" class="ocf" provider="heartbeat" type="VirtualDomain">'
                  + _op("vm-guest1", "vm-guest1_last_0", "stop", 5, 0, PAST, 4)
                  + _op("vm-guest1", "vm-guest1_last_failure_0", "stop", 5, 0, PAST, 4) + "</lrm_resource>")


def cases() -> dict[str, str]:
    guest = VM + WEB.format(meta="")
    web_moves = WEB.format(meta='<nvpair id="web-mt" name="migration-threshold" value="1"/>'
                                '<nvpair id="web-ft" name="failure-timeout" value="120s"/>')
    remote_lrm = ('<lrm_resource id="remote1" class="ocf" provider="pacemaker" type="remote">'
                  + _op("remote1", "remote1_last_failure_0", "start", 1, 2, PAST, 3)
                  + _op("remote1", "remote1_last_0", "stop", 0, 0, PAST, 4) + "</lrm_resource>")
    remote_down = '<node_state id="remote1" uname="remote1" in_ccm="false" crmd="offline" remote_node="true"/>'
    return {
        # a guest whose connection could not start: its VM is kept off the node too (the container's fail count
        # includes its guest's connection), and the guest stays down until cleanup ...
        "guest-connection-failed": _cib(guest, PREFERS_GUEST, VM_RUNNING + WEB_STOPPED + _connection_failed(PAST),
                                        _fail("1", "guest1", "start_0", "INFINITY", PAST), GUEST_DOWN),
        # ... or until a failure-timeout (from rsc_defaults, which the implicit connection takes) has passed
        "guest-connection-failure-expired": _cib(
            guest, PREFERS_GUEST, VM_RUNNING + WEB_STOPPED + _connection_failed(PAST),
            _fail("1", "guest1", "start_0", "INFINITY", PAST), GUEST_DOWN, TIMEOUT_DEFAULTS),
        "guest-connection-failure-not-yet-expired": _cib(
            guest, PREFERS_GUEST, VM_RUNNING + WEB_STOPPED + _connection_failed(FUTURE),
            _fail("1", "guest1", "start_0", "INFINITY", FUTURE), GUEST_DOWN, TIMEOUT_DEFAULTS),
        # migration-threshold=1 moves a failed resource away unless its failure has expired
        "monitor-failure-expired": _cib(web_moves, "", _web_failed_monitor(PAST),
                                        _fail("1", "webserver", "monitor_30000", "1", PAST), NODE2, nodes=TWO_NODES),
        "monitor-failure-not-yet-expired": _cib(web_moves, "", _web_failed_monitor(FUTURE),
                                                _fail("1", "webserver", "monitor_30000", "1", FUTURE), NODE2,
                                                nodes=TWO_NODES),
        # a monitor with on-fail=ignore failed (fail count at migration-threshold): the failure is ignored, and
        # so is the threshold, so it stays ("failure ignored")
        "ignored-failure-ignores-the-threshold": _cib(
            WEB.format(meta='<nvpair id="web-mt" name="migration-threshold" value="1"/>').replace(
                'interval="30s"/>', 'interval="30s" on-fail="ignore"/>'),
            "", _web_failed_monitor(FUTURE), _fail("1", "webserver", "monitor_30000", "1", FUTURE), NODE2,
            nodes=TWO_NODES),
        # a connection (reconnect_interval=60s) whose monitor failed was stopped 30s ago: it stays down, failed,
        # until the interval has passed (scheduled as of the CIB's execution-date)
        "remote-connection-waits-its-reconnect-interval": _cib(
            REMOTE.format(params='<nvpair id="r1-ri" name="reconnect_interval" value="60s"/>'), "",
            '<lrm_resource id="remote1" class="ocf" provider="pacemaker" type="remote">'
            + _op("remote1", "remote1_last_0", "stop", 0, 0, PAST + 2, 4)
            + _op("remote1", "remote1_monitor_30000", "monitor", 1, 4, PAST, 3, interval=30000)
            + _op("remote1", "remote1_last_failure_0", "monitor", 1, 4, PAST, 3, interval=30000) + "</lrm_resource>",
            _fail("1", "remote1", "monitor_30000", "1", PAST),
            f'<node_state id="remote1" uname="remote1" in_ccm="false" remote_node="true" node_fenced="{PAST + 2}"/>'
            ).replace('have-quorum="1">', f'have-quorum="1" execution-date="{PAST + 30}">'),
        # on-fail=ignore also ignores a hard error (the agent said "not installed") ...
        "ignored-hard-failure": _cib(
            WEB.format(meta="").replace('interval="30s"/>', 'interval="30s" on-fail="ignore"/>'),
            "", _web_failed_monitor(FUTURE, rc=5), _fail("1", "webserver", "monitor_30000", "1", FUTURE), NODE2,
            nodes=TWO_NODES),
        # ... but not a missing agent (exec status "not installed"): it is recovered elsewhere
        "missing-agent-failure-is-not-ignored": _cib(
            WEB.format(meta="").replace('interval="30s"/>', 'interval="30s" on-fail="ignore"/>'),
            "", _web_failed_monitor(FUTURE, rc=5, status=7), _fail("1", "webserver", "monitor_30000", "1", FUTURE),
            NODE2, nodes=TWO_NODES),
        # a remote node's reconnect_interval works as its connection's failure timeout
        "remote-reconnect-interval-passed": _cib(
            REMOTE.format(params='<nvpair id="r1-ri" name="reconnect_interval" value="60s"/>'), "", remote_lrm,
            _fail("1", "remote1", "start_0", "INFINITY", PAST), remote_down),
        "remote-without-reconnect-interval": _cib(REMOTE.format(params=""), "", remote_lrm,
                                                  _fail("1", "remote1", "start_0", "INFINITY", PAST), remote_down),
        # a probe that finds the agent not installed (or its parameters invalid) masks as "not running" and bans
        # the resource from that node (Pacemaker 2.1.5): it starts elsewhere, nothing is stopped there
        "probe-not-installed-bans-the-node": _cib(WEB.format(meta=""), PREFERS_NODE1, _web_probe(5), "",
                                                  NODE2, nodes=TWO_NODES),
        # ... unless that failure has expired (failure-timeout): it is probed there again and may start there
        "expired-not-installed-probe-is-probed-again": _cib(
            WEB.format(meta='<nvpair id="web-ft" name="failure-timeout" value="10s"/>'), PREFERS_NODE1,
            _web_probe(5), "", NODE2, nodes=TWO_NODES),
        "probe-invalid-parameters-bans-the-node": _cib(WEB.format(meta=""), PREFERS_NODE1, _web_probe(2), "",
                                                       NODE2, nodes=TWO_NODES),
        # in a guest that lacks the agent: the resource runs on the host instead of failing in the guest
        "probe-not-installed-in-a-guest": _cib(guest, PREFERS_GUEST, VM_RUNNING + WEB_STOPPED + GUEST_CONNECTED, "",
                                               GUEST_UP.format(lrm=_web_probe(5))),
        # a stop that failed in a guest (stonith enabled): the guest is reset by recovering its VM, as Pacemaker
        # fences a guest node, and the resource starts again
        "stop-failure-in-a-guest-resets-it": _cib(
            guest, PREFERS_GUEST, VM_RUNNING + WEB_STOPPED + GUEST_CONNECTED, "",
            GUEST_UP.format(lrm=_web_stop_failed())).replace('name="stonith-enabled" value="false"',
                                                               'name="stonith-enabled" value="true"'),
        # the VM's stop failed and nothing can fence (stonith-enabled=false): the VM is blocked where it is, its
        # guest is "fenced" (off: the VM will not start again) and neither the guest nor what runs in it starts
        "vm-stop-failure-blocks-its-guest": _cib(guest, PREFERS_GUEST, VM_STOP_FAILED + WEB_STOPPED, "", GUEST_DOWN),
        # resource-discovery=exclusive: the resource runs only on the nodes of its exclusive locations, even against
        # its stickiness where it runs now, and whether they name a node or match a rule (#kind: guests only)
        "exclusive-discovery-moves-it-to-its-nodes": _cib(WEB.format(meta=STICKY), EXCLUSIVE_NODE2,
                                                           _web_started(), "", NODE2, nodes=TWO_NODES),
        "exclusive-discovery-by-rule-in-a-guest": _cib(guest, EXCLUSIVE_GUESTS, VM_RUNNING + WEB_STOPPED
                                                        + GUEST_CONNECTED, "", GUEST_UP.format(lrm="")),
        # hard errors (agent not installed, invalid parameters, ...) ban the resource from that node, fatal ones
        # (not configured) from every node, whatever on-fail says
        "hard-error-moves-it-despite-on-fail-ignore": _cib(IGNORING_WEB, "", _web_monitor_failed(5, 7), "", NODE2,
                                                            nodes=TWO_NODES),
        "fatal-error-stops-it-everywhere": _cib(WEB.format(meta=""), "", _web_monitor_failed(6, 0), "", NODE2,
                                                nodes=TWO_NODES),
        # Pacemaker 1.x's per-resource fail count (fail-count-RSC, no #OP_INTERVAL): 2.1.5 counts it in a CIB of
        # feature set before 3.0.13, and not in a newer one
        "legacy-fail-count-reaches-migration-threshold": _legacy_fail_count().replace(
            'crm_feature_set="3.16.1"', 'crm_feature_set="3.0.7"'),
        "legacy-fail-count-ignored-in-a-new-cib": _legacy_fail_count(),
        # a start still in flight (record-pending) counts as started there: it is not started anywhere else
        "start-in-flight-elsewhere": _cib(WEB.format(meta=""), "", WEB_STOPPED, "",
                                          NODE2.replace("/>", ">") + START_IN_FLIGHT + "</node_state>",
                                          nodes=TWO_NODES),
        # a group member with critical=false that failed too often stops alone: its group does not follow it
        "non-critical-group-member-stops-alone": _cib(_non_critical_group(), "", _site_started(),
                                                      _fail("node1", "webserver", "monitor_30000", "1", FUTURE),
                                                      NODE2, nodes=TWO_NODES),
    }


def _non_critical_group() -> str:
    web = WEB.format(meta='<nvpair id="web-mt" name="migration-threshold" value="1"/>'
                          '<nvpair id="web-critical" name="critical" value="false"/>')
    return ('<group id="site"><meta_attributes id="site-ma">'
            '<nvpair id="site-stickiness" name="resource-stickiness" value="10"/></meta_attributes>'
            '<primitive id="vip" class="ocf" provider="heartbeat" type="Dummy"/>' + web + "</group>")


def _site_started() -> str:
    return ('<lrm_resource id="vip" class="ocf" provider="heartbeat" type="Dummy">'
            + _op("vip", "vip_last_0", "start", 0, 0, PAST, 1) + "</lrm_resource>" + _web_started())


def main() -> int:
    return write_all(cases(), OUT, "failures", "failure_cases.py")

if __name__ == "__main__":
    sys.exit(main())
