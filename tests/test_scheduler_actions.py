"""The transition's resource actions against crm_simulate's, on the committed corpus.

The placement conformance test checks where everything ends up; this one checks
what drover's controller would do to get there: the set of start, stop, promote,
demote, migrate_to and migrate_from actions per resource (clone instances by their base id) and node, and the
start-up probes and recurring monitors it then runs (`drover simulate --save-graph` writes them), must equal the
resource actions crm_simulate executes (pseudo actions aside); the bundle and monitor cases
(tests/scheduler/bundles/, monitors/) too. Cases listed in known_action_differences.txt must still differ
(t4-0017's monitors too: crm_simulate schedules a monitor in the guest after stopping the resource there).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from appliance.cli.simulate_cmd import effective_date
from appliance.cli.simulate_graph import graph_xml
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import schedule

CORPUS = Path(__file__).parent / "scheduler" / "corpus"
KNOWN = {line.split()[0] for line in (Path(__file__).parent / "scheduler" / "known_action_differences.txt")
         .read_text().splitlines() if line.strip() and not line.startswith("#")}
GENERATED = ("bundles", "monitors", "unfencing", "remotes", "multiple_active", "node_states",
             "blocked")  # each by its *_cases.py
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "cib.xml").exists()) + \
    sorted(f"{kind}/{p.name}" for kind in GENERATED for p in (CORPUS.parent / kind).iterdir()
           if (p / "cib.xml").exists())
ACTION = re.compile(r"Resource action: (\S+)\s+(start|stop|promote|demote|migrate_to|migrate_from|reload-agent|"
                    r"monitor=\d+|monitor)"
                    r" on (\S+)")


def base(resource: str) -> str:
    head, sep, tail = resource.rpartition(":")
    return head if sep and tail.isdigit() else resource


def pacemaker_actions(cib: Path) -> set[tuple[str, str, str]]:
    out = subprocess.run(["crm_simulate", "-x", str(cib), "-S"], capture_output=True, text=True, timeout=120).stdout
    executed = out.split("Executing Cluster Transition:")[1].split("Revised Cluster Status:")[0]
    return {(m.group(2), base(m.group(1)), m.group(3)) for m in ACTION.finditer(executed)}


@pytest.mark.parametrize("case", CASES)
def test_resource_actions_match_crm_simulate(case: str):
    cib = (CORPUS.parent / case if "/" in case else CORPUS / case) / "cib.xml"
    parsed = read_cib(cib.read_bytes(), str(cib))
    result = schedule(parsed)
    ours = {(a.task, base(a.resource), a.node) for a in result.actions if a.task != "fence"} | \
        {(f"monitor={m.interval_ms}", base(m.resource), m.node) for m in result.monitors} | \
        {("monitor", base(resource), node) for resource, node in result.probes}
    theirs = pacemaker_actions(cib)
    if case in KNOWN:
        assert ours != theirs, f"{case} now matches: remove it from known_action_differences.txt"
    else:
        assert ours == theirs, f"missing {sorted(theirs - ours)}, extra {sorted(ours - theirs)}"


def test_every_monitor_case_of_the_generator_is_committed():
    from tests.scheduler.monitor_cases import OUT, cases
    assert sorted(cases()) == sorted(p.name for p in OUT.iterdir() if (p / "cib.xml").exists())


def _stonith_events(root: ET.Element) -> list[tuple[str, str | None]]:
    return sorted({(e.tag, e.get("operation_key")) for e in root.iter()
                   if e.get("operation") == "stonith" and e.tag in ("crm_event", "pseudo_event")})


@pytest.mark.parametrize("case", [c for c in CASES if "/" not in c])
def test_fencing_in_the_saved_graph_is_crm_simulates(case: str, tmp_path: Path):
    """Hosts are fenced by a crm_event; a guest node by a pseudo event (its container's recovery fences it)."""
    cib_path = CORPUS / case / "cib.xml"
    cib = read_cib(cib_path.read_bytes(), str(cib_path), SIMULATED)
    ours = _stonith_events(ET.fromstring(graph_xml(cib, schedule(cib, effective_date(cib)))))
    subprocess.run(["crm_simulate", "-x", str(cib_path), "-S", "-G", str(tmp_path / "graph.xml")],
                   capture_output=True, timeout=120, check=True)
    assert ours == _stonith_events(ET.parse(tmp_path / "graph.xml").getroot())
