"""Unfencing as Pacemaker 2.1.5 schedules it, on the committed cases of tests/scheduler/unfencing/ (written by
unfencing_cases.py): the hosts unfenced and why ("Fence (on) HOST 'required by RSC TASK'" in the transition
summary, in crm_simulate's order), and each probe of a host after its unfencing in the graph."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from appliance.cli.simulate_cmd import effective_date, summary
from appliance.cli.simulate_graph import graph_xml
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import schedule
from tests.conftest import clean_environment
from tests.scheduler.golden import committed
from tests.scheduler.unfencing_cases import OUT

pytestmark = pytest.mark.timeout(120)
CASES = [case.name for case in committed(OUT)]
FENCE = re.compile(r"^\s*\* Fence \((\w+)\) (\S+)(?: '([^']*)')?", re.MULTILINE)


def _fencing(text: str) -> list[tuple[str, str, str]]:
    block = text.split("Transition Summary:", 1)[1].split("\n\n", 1)[0]
    return [(m.group(1), m.group(2), m.group(3) or "") for m in FENCE.finditer(block)]


@pytest.mark.parametrize("case", CASES)
def test_hosts_are_unfenced_as_crm_simulate_unfences_them(case: str):
    path = OUT / case / "cib.xml"
    theirs = subprocess.run(["crm_simulate", "-x", str(path), "-S"], capture_output=True, text=True, timeout=60,
                            env=clean_environment())
    assert theirs.returncode == 0, theirs.stderr
    cib = read_cib(path.read_bytes(), str(path), SIMULATED)
    assert _fencing(summary(cib, effective_date(cib))) == _fencing(theirs.stdout)


def test_a_host_is_probed_only_after_its_unfencing(tmp_path: Path):
    path = OUT / "every-host-unfenced-first" / "cib.xml"
    cib = read_cib(path.read_bytes(), str(path), SIMULATED)
    root = ET.fromstring(graph_xml(cib, schedule(cib, effective_date(cib))))
    probes = 0
    for synapse in root.iter("synapse"):
        action = synapse.find("action_set")[0]
        if action.get("operation") == "monitor" and action.get("operation_key").endswith("_monitor_0"):
            probes += 1
            triggers = [trigger[0] for trigger in synapse.find("inputs")]
            assert [(t.get("operation"), t.get("on_node")) for t in triggers] == \
                [("stonith", action.get("on_node"))]
    assert probes == 6
