"""`drover simulate`'s fencing lines against crm_simulate 2.1.5's on every committed case (tests/scheduler/*/):
"* Fence (ACTION) NODE [(resource: CONTAINER)] 'REASON'" with Pacemaker's reason (the first found: the peer left
the cluster, its controller is gone, a resource failed there, a ticket was lost, a guest is unclean, a remote
connection cannot be recovered, unfencing required by a resource), newest first as crm_simulate lists them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from appliance.cli.simulate_cmd import effective_date, summary
from appliance.model.cib_read import SIMULATED, read_cib
from tests.conftest import clean_environment

pytestmark = pytest.mark.timeout(120)
SCHEDULER = Path(__file__).parent / "scheduler"
CASES = sorted(str(p.parent.relative_to(SCHEDULER)) for p in SCHEDULER.glob("*/*/cib.xml"))
FENCE = re.compile(r"^\s*\* Fence .*$", re.MULTILINE)


def _fencing(text: str) -> list[str]:
    if "Transition Summary:" not in text:
        return []
    return [line.strip() for line in FENCE.findall(text.split("Transition Summary:", 1)[1].split("\n\n", 1)[0])]


def test_a_lost_host_and_an_unrecoverable_remote_node_give_their_reasons():
    path = SCHEDULER / "remotes" / "connection-nowhere-fences-the-remote-node" / "cib.xml"
    cib = read_cib(path.read_bytes(), str(path), SIMULATED)
    assert _fencing(summary(cib, effective_date(cib))) == [
        "* Fence (reboot) remote1 'resources are active but connection is unrecoverable'",
        "* Fence (reboot) node1 'peer is no longer part of the cluster'"]


@pytest.mark.parametrize("case", CASES)
def test_fencing_is_listed_as_crm_simulate_lists_it(case: str):
    path = SCHEDULER / case / "cib.xml"
    theirs = subprocess.run(["crm_simulate", "-x", str(path), "-S"], capture_output=True, text=True, timeout=60,
                            env=clean_environment())
    assert theirs.returncode == 0, theirs.stderr
    cib = read_cib(path.read_bytes(), str(path), SIMULATED)
    assert _fencing(summary(cib, effective_date(cib))) == _fencing(theirs.stdout)
