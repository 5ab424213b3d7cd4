"""Hosts' membership states against real Pacemaker: the committed cases (tests/scheduler/node_states/, from
node_state_cases.py with crm_simulate's results) give crm_simulate's placement and node states; the transitions
and fencing lines are compared by test_scheduler_actions.py and test_simulate_fencing.py."""

from pathlib import Path

import pytest

from appliance.cli.status_view import build
from appliance.model.cib_read import SIMULATED, read_cib
from tests.scheduler.conformance import assert_placement_is_pacemakers

pytestmark = pytest.mark.timeout(60)
CASES = sorted(p for p in (Path(__file__).parent / "scheduler" / "node_states").iterdir() if (p / "cib.xml").is_file())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_node_states_are_read_as_pacemaker_reads_them(case: Path) -> None:
    assert_placement_is_pacemakers(case)


def test_a_joining_host_is_shown_pending() -> None:
    path = Path(__file__).parent / "scheduler" / "node_states" / "joining-host-runs-nothing" / "cib.xml"
    view = build(read_cib(path.read_bytes(), str(path), SIMULATED), "", None, "")
    assert {node.name: node.state for node in view.nodes}["node3"] == "pending"
