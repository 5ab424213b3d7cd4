"""`drover simulate --op-fail` and `--save-output` against crm_simulate 2.1.5: the transition runs as its
executor runs it and stops at the failed action; the revised status equals crm_simulate's on the committed cases
(tests/scheduler/op_fail/, written by op_fail_cases.py); the saved CIB reads back as the state the transition
left, for drover and for crm_simulate alike."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC
from pathlib import Path

import pytest

from appliance.cli.simulate_cmd import effective_date, summary
from appliance.cli.simulate_execute import execute
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import current_state, schedule
from tests.conftest import clean_environment, run_source
from tests.scheduler import oracle
from tests.scheduler.golden import committed
from tests.scheduler.op_fail_cases import OUT

pytestmark = pytest.mark.timeout(120)
CASES = [case.name for case in committed(OUT)]


def _ours(cib_path: Path, specs: tuple[str, ...]) -> dict:
    cib = read_cib(cib_path.read_bytes(), str(cib_path), SIMULATED)
    now = effective_date(cib)
    result = schedule(cib, now)
    executed = execute(cib, result, specs, int(now.replace(tzinfo=UTC).timestamp()))
    resources, nodes = current_state(executed.cib, now)
    return oracle.normalize({"resources": {rid: [list(place) for place in places]
                                           for rid, places in resources.items()}, "nodes": nodes})


def test_every_case_is_committed():
    assert len(CASES) >= 9


@pytest.mark.parametrize("case", CASES)
def test_a_failed_action_leaves_the_cluster_as_crm_simulate_leaves_it(case: str):
    directory = OUT / case
    specs = tuple(json.loads((directory / "meta.json").read_text())["op_fail"])
    expected = oracle.normalize(json.loads((directory / "expected.json").read_text()))
    assert _ours(directory / "cib.xml", specs) == expected


def test_the_text_shows_what_ran_until_the_failure_and_the_failure():
    cib_path = OUT / "group-member-start-fails" / "cib.xml"
    cib = read_cib(cib_path.read_bytes(), str(cib_path), SIMULATED)
    text = summary(cib, effective_date(cib), fail_specs=("web_start_0@node1=1",))
    ran = text.split("Executing Cluster Transition:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    starts = [line for line in ran if " start on " in line]
    assert [line.split()[3] for line in starts] == ["vip", "web"]             # mail never starts
    assert any(line.startswith("  * Pretending action ") and line.endswith("failed with rc=1") for line in ran)
    assert "fail-count-web#start_0=value++" in text
    revised = text.split("Revised Cluster Status:", 1)[1]
    assert "web\t(ocf:pacemaker:Dummy):\t FAILED node1" in revised
    assert "mail\t(ocf:pacemaker:Dummy):\t Stopped" in revised


def test_the_saved_output_is_the_state_the_transition_left(tmp_path: Path):
    case = OUT / "start-after-a-move-fails"
    saved = tmp_path / "after.xml"
    first = run_source("drover", "simulate", "--xml-file", str(case / "cib.xml"), "--op-fail=db_start_0@node2=1",
                       f"--save-output={saved}", "--output-as=json")
    assert first.returncode == 0, first.stderr
    assert oracle.normalize(json.loads(first.stdout)) == oracle.normalize(
        json.loads((case / "expected.json").read_text()))
    # drover reads it back as that state, and crm_simulate takes it too and plans the same recovery
    again = read_cib(saved.read_bytes(), str(saved), SIMULATED)
    resources, _nodes = current_state(again, effective_date(again))
    assert resources["db"] == [("node2", "Started")]
    assert "FAILED node2" in summary(again, effective_date(again)).split("Revised Cluster Status:")[0]
    verify = subprocess.run(["crm_verify", "--xml-file", str(saved)], capture_output=True, text=True, timeout=60,
                            env=clean_environment())
    assert verify.returncode == 0, verify.stderr
    theirs = subprocess.run(["crm_simulate", "-x", str(saved), "-S", "-G", str(tmp_path / "theirs.xml")],
                            capture_output=True, text=True, timeout=60, env=clean_environment())
    assert theirs.returncode == 0, theirs.stderr
    ours = run_source("drover", "simulate", "--xml-file", str(saved), f"--save-graph={tmp_path / 'ours.xml'}")
    assert ours.returncode == 0, ours.stderr

    def changes(graph: Path) -> set[tuple[str, str]]:
        return {(op.get("operation_key"), op.get("on_node")) for op in ET.parse(graph).getroot().iter("rsc_op")
                if op.get("operation") in ("start", "stop")}
    assert changes(tmp_path / "ours.xml") == changes(tmp_path / "theirs.xml") != set()


def test_a_whole_transition_saved_needs_nothing_more(tmp_path: Path):
    case = OUT / "unmatched-action-runs-everything"
    saved = tmp_path / "after.xml"
    result = run_source("drover", "simulate", "--xml-file", str(case / "cib.xml"), f"--save-output={saved}")
    assert result.returncode == 0, result.stderr
    again = read_cib(saved.read_bytes(), str(saved), SIMULATED)
    assert schedule(again, effective_date(again)).actions == ()


@pytest.mark.parametrize("spec", ["web_start@node1=1", "web_start_0@node1", "web_start_0@node1=x", "nonsense"])
def test_a_bad_spec_is_refused_and_nothing_is_written(spec: str, tmp_path: Path):
    saved = tmp_path / "after.xml"
    result = run_source("drover", "simulate", "--xml-file", str(OUT / "group-member-start-fails" / "cib.xml"),
                        f"--op-fail={spec}", f"--save-output={saved}")
    assert result.returncode == 64
    assert f"Invalid failed operation '{spec}'" in result.stderr
    assert not saved.exists()
