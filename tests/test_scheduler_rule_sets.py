"""Attribute sets with rules (by date, resource agent, operation, node) against real Pacemaker: scheduled alike,
kept through import, storage and export (the exported CIB gives crm_simulate the same result), and in the
controller's hands: parameters per node, operation defaults per operation. The cases in
tests/scheduler/rule_sets/ come from tests/scheduler/rule_set_cases.py with crm_simulate's results."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import pytest

from appliance.engine.resolve import on_node, resolve, timeout_ms
from appliance.model import edits
from appliance.model.cib_read import read_cib
from appliance.model.cib_write import write_cib
from appliance.model.resources import AgentRef
from appliance.model.status import PARAMS_EXTRA, OpRecord, ResourceHistory, Status, encode_params
from appliance.scheduler.schedule import schedule
from tests.scheduler import oracle
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.golden import committed
from tests.scheduler.golden import stored as stored_cib
from tests.scheduler.rule_set_cases import OUT, cases

CASES = committed(OUT)


def test_every_case_of_the_generator_is_committed():
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_sets_are_scheduled_as_pacemaker_schedules_them(case: Path) -> None:
    assert_placement_is_pacemakers(case)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_import_keeps_rule_sets_and_the_export_means_the_same_to_pacemaker(case: Path, tmp_path: Path) -> None:
    original = read_cib((case / "cib.xml").read_bytes(), case.name)
    assert original.configuration.rule_sets
    stored = stored_cib(original, tmp_path)
    assert stored.configuration == original.configuration
    exported = tmp_path / "exported.xml"
    exported.write_text(write_cib(dataclasses.replace(stored, extra=original.extra)))     # its execution-date
    assert read_cib(exported.read_bytes(), "exported").configuration == original.configuration
    with tempfile.TemporaryDirectory() as scratch:
        stdout, _ = oracle.run_crm_simulate(str(exported), str(Path(scratch) / "out.xml"))
    expected = json.loads((case / "expected.json").read_text())
    assert oracle.placement_from_simulate_xml(stdout)["resources"] == expected["resources"]


PER_NODE = """<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources><primitive id="ip" class="ocf" provider="heartbeat" type="Dummy">
      <instance_attributes id="ip-params"><nvpair id="ip-nic" name="nic" value="eth0"/></instance_attributes>
      <instance_attributes id="ip-params-node2" score="1"><rule id="ip-on-node2" score="0">
        <expression id="ip-on-node2-expr" attribute="#uname" operation="eq" value="node2"/></rule>
        <nvpair id="ip-nic-node2" name="nic" value="eth7"/></instance_attributes>
      <operations><op id="ip-mon" name="monitor" interval="10s"/></operations>
    </primitive></resources>
    <constraints><rsc_location id="ip-node2" rsc="ip" node="node2" score="100"/></constraints>
    <op_defaults><meta_attributes id="op-defaults"><nvpair id="op-t" name="timeout" value="20s"/>
      </meta_attributes>
      <meta_attributes id="monitor-defaults"><rule id="monitor-rule" score="INFINITY">
        <op_expression id="monitor-expr" name="monitor" interval="10s"/></rule>
        <nvpair id="monitor-t" name="timeout" value="7s"/></meta_attributes></op_defaults>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"""


def _running_on_node2_with(params: dict[str, str]):
    cib = read_cib(PER_NODE.encode(), "per-node.xml")
    start = OpRecord("ip_last_0", "start", 0, 3, 0, 0, extra=dataclasses.replace(
        OpRecord("x", "start", 0, 0, 0, 0).extra).set(PARAMS_EXTRA, encode_params(tuple(params.items()))))
    history = ResourceHistory("node2", "ip", AgentRef("ocf", "Dummy", "heartbeat"), (start,))
    return dataclasses.replace(cib, status=dataclasses.replace(cib.status, history=(history,)))


def test_the_agent_gets_the_parameters_of_the_node_it_runs_on_and_its_operation_defaults() -> None:
    cib = read_cib(PER_NODE.encode(), "per-node.xml")
    runnable = resolve(cib.configuration, Status(), "ip")
    assert runnable.params == {"nic": "eth0"}
    assert on_node(cib, runnable, "node1").params == {"nic": "eth0"}
    assert on_node(cib, runnable, "node2").params == {"nic": "eth7"}
    assert timeout_ms(cib.configuration, runnable, "monitor", 10_000) == 7_000      # op_expression monitor 10s
    assert timeout_ms(cib.configuration, runnable, "start") == 20_000


def test_a_resource_running_with_its_nodes_parameters_is_not_restarted_and_with_others_it_is() -> None:
    kept = schedule(_running_on_node2_with({"nic": "eth7"}))
    assert not [a for a in kept.actions if a.resource == "ip" and a.task in ("stop", "start")]
    changed = schedule(_running_on_node2_with({"nic": "eth0"}))
    assert {a.task for a in changed.actions if a.resource == "ip"} >= {"stop", "start"}


def test_deleting_a_resource_takes_its_rule_sets_with_it() -> None:
    configuration = read_cib(PER_NODE.encode(), "per-node.xml").configuration
    assert [s.id for s in configuration.rule_sets] == ["ip-params-node2", "monitor-defaults"]
    configuration, _removed = edits.delete_resource(configuration, "ip")
    assert [s.id for s in configuration.rule_sets] == ["monitor-defaults"]
