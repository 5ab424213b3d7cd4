"""Pacemaker's op-digests in an imported history, against real crm_simulate: a resource whose recorded start digest
no longer matches its parameters is restarted, one whose digest matches is left alone, and a recurring monitor
whose digest (parameters and timeout) changed is scheduled again. The history here is written the way Pacemaker
writes it (no drover-params), so only the digest can tell."""

from __future__ import annotations

import pytest

from appliance.model.cib_read import read_cib
from appliance.model.status import pacemaker_digest
from appliance.scheduler.schedule import schedule
from tests.test_scheduler_actions import base, pacemaker_actions

OP = ('<lrm_rsc_op id="r_{key}" operation_key="r_{op}_{interval}" operation="{op}" crm-debug-origin="test" '
      'crm_feature_set="3.16.1" transition-key="{call}:-1:0:x" transition-magic="0:0;{call}:-1:0:x" call-id="{call}" '
      'rc-code="{rc}" op-status="0" interval="{interval}" last-rc-change="1795561600" exec-time="0" queue-time="0" '
      'op-digest="{digest}"/>')


def cib(start_params: dict[str, str], monitor_timeout_ms: int) -> str:
    monitor_params = {"fake": "new", "CRM_meta_timeout": str(monitor_timeout_ms)}
    started = OP.format(key="last_0", op="start", interval=0, call=2, rc=0, digest=pacemaker_digest(start_params))
    monitor = OP.format(key="monitor_10000", op="monitor", interval=10000, call=3, rc=0,
                        digest=pacemaker_digest(monitor_params))
    probe = OP.format(key="last_0", op="monitor", interval=0, call=1, rc=7, digest=pacemaker_digest({"fake": "new"}))
    return f"""<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <primitive id="r" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="r-ia"><nvpair id="r-fake" name="fake" value="new"/></instance_attributes>
        <operations><op id="r-mon" name="monitor" interval="10s" timeout="30s"/></operations>
      </primitive>
    </resources>
    <constraints><rsc_location id="pin" rsc="r" node="node1" score="100"/></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources><lrm_resource id="r" class="ocf" provider="heartbeat" type="Dummy">
        {started}
        {monitor}
      </lrm_resource></lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="2"><lrm_resources><lrm_resource id="r" class="ocf" provider="heartbeat" type="Dummy">
        {probe}
      </lrm_resource></lrm_resources></lrm>
    </node_state>
  </status>
</cib>
"""


def drover_actions(text: str) -> set[tuple[str, str, str]]:
    result = schedule(read_cib(text.encode(), "digests"))
    return {(a.task, base(a.resource), a.node) for a in result.actions} | \
        {(f"monitor={m.interval_ms}", base(m.resource), m.node) for m in result.monitors} | \
        {("monitor", base(resource), node) for resource, node in result.probes}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("start_params", "monitor_timeout_ms", "expected"), [
    ({"fake": "new"}, 30000, set()),
    ({"fake": "old"}, 30000, {("stop", "r", "node1"), ("start", "r", "node1"), ("monitor=10000", "r", "node1")}),
    ({"fake": "new"}, 20000, {("monitor=10000", "r", "node1")}),
], ids=["digest-unchanged", "parameters-changed", "monitor-timeout-changed"])
def test_recorded_digests_decide_restarts_as_crm_simulate(tmp_path, start_params, monitor_timeout_ms, expected):
    path = tmp_path / "cib.xml"
    path.write_text(cib(start_params, monitor_timeout_ms))
    theirs = pacemaker_actions(path)
    assert theirs == expected, "the case no longer says what it should of Pacemaker"
    assert drover_actions(path.read_text()) == theirs


SECRET_OP = ('<lrm_rsc_op id="r_{key}" operation_key="r_{op}_{interval}" operation="{op}" crm-debug-origin="test" '
             'crm_feature_set="3.16.1" transition-key="{call}:-1:0:x" transition-magic="0:0;{call}:-1:0:x" '
             'call-id="{call}" rc-code="0" op-status="0" interval="{interval}" last-rc-change="1795561600" '
             'exec-time="0" queue-time="0" op-digest="{digest}" op-secure-params=" passwd " '
             'op-secure-digest="{secure}"/>')


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("shown", "expected"), [
    ("****", set()),
    ("changed", {("stop", "r", "node1"), ("start", "r", "node1"), ("monitor=10000", "r", "node1")}),
], ids=["masked-secret", "changed-parameter"])
def test_a_masked_secret_is_no_change_as_crm_simulate_assumes(tmp_path, shown, expected):
    """Saved inputs have their secrets masked: where only the secure parameters differ (op-secure-digest still
    matches) nothing restarts; another parameter changed does restart."""
    real = {"fake": "new", "passwd": "s3cret"}
    monitor = {**real, "CRM_meta_timeout": "30000"}
    ops = SECRET_OP.format(key="last_0", op="start", interval=0, call=2, digest=pacemaker_digest(real),
                           secure=pacemaker_digest({"fake": "new"})) + \
        SECRET_OP.format(key="monitor_10000", op="monitor", interval=10000, call=3,
                         digest=pacemaker_digest(monitor),
                         secure=pacemaker_digest({"fake": "new"}))
    text = cib({"fake": "new"}, 30000).replace(
        '<nvpair id="r-fake" name="fake" value="new"/>',
        '<nvpair id="r-fake" name="fake" value="{}"/><nvpair id="r-passwd" name="passwd" value="****"/>'.format(
            "new" if shown == "****" else shown))
    started = text.index('<lrm_rsc_op id="r_last_0" operation_key="r_start_0"')
    end = text.index("</lrm_resource>", started)
    text = text[:started] + ops + text[end:]
    path = tmp_path / "cib.xml"
    path.write_text(text)
    theirs = pacemaker_actions(path)
    assert theirs == expected, "the case no longer says what it should of Pacemaker"
    assert drover_actions(text) == theirs
