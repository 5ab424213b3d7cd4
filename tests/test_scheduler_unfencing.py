"""Unfencing as Pacemaker 2.1.5 schedules it, on the committed cases of tests/scheduler/unfencing/ (written by
unfencing_cases.py): each probe of a host comes after its unfencing in the graph. (The hosts unfenced and why,
"Fence (on) HOST 'required by RSC TASK'", are compared with crm_simulate's by tests/test_simulate_fencing.py.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from appliance.cli.simulate_cmd import effective_date
from appliance.cli.simulate_graph import graph_xml
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import schedule
from tests.scheduler.unfencing_cases import OUT

pytestmark = pytest.mark.timeout(120)


def test_a_host_is_probed_only_after_its_unfencing():
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
