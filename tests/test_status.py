"""`drover status` against real crm_mon on the committed corpus, and its text layout.

crm_mon reads each corpus CIB (CIB_file=...) and prints XML; drover's status
XML for the same CIB must give the same placement, node states and failed
actions (compared with the oracle's own crm_mon XML reader).
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from appliance.cli.status_cmd import readable_interval, render_text, render_xml
from appliance.cli.status_view import build
from appliance.model.cib_read import read_cib
from appliance.model.nodes import node_name_key
from tests.scheduler.oracle import placement_from_crm_mon_xml

CORPUS = Path(__file__).parent / "scheduler" / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "cib.xml").exists())
BUNDLES = Path(__file__).parent / "scheduler" / "bundles"
BUNDLE_CASES = sorted(p.name for p in BUNDLES.iterdir() if (p / "cib.xml").exists())


def crm_mon_xml(cib: Path) -> str:
    result = subprocess.run(["crm_mon", "-1", "--inactive", "--output-as=xml"], capture_output=True, text=True,
                            env=dict(os.environ, CIB_file=str(cib)), timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def failures(xml: str) -> list[tuple]:
    return sorted((f.get("op_key"), f.get("node"), f.get("exitcode"), f.get("status"), f.get("task"),
                   f.get("interval")) for f in ET.fromstring(xml).iter("failure"))


def view_of(case: str):
    path = CORPUS / case / "cib.xml"
    return build(read_cib(path.read_bytes(), str(path)), "drover", None, "0.1.0")


@pytest.mark.parametrize("case", CASES)
def test_status_xml_says_what_crm_mon_says(case: str):
    theirs = crm_mon_xml(CORPUS / case / "cib.xml")
    ours = render_xml(view_of(case), 0)
    assert placement_from_crm_mon_xml(ours) == placement_from_crm_mon_xml(theirs)
    assert failures(ours) == failures(theirs)


def _body(text: str) -> list[str]:
    """The status text without what differs by nature (stack, DC, times) or is only spacing."""
    moving = ("  * Stack:", "  * Current DC:", "  * Last updated:", "  * Last change:")
    return [line for line in text.splitlines() if line.strip() and not line.startswith(moving)]


@pytest.mark.parametrize("case", CASES)
def test_status_text_is_what_crm_mon_prints(case: str):
    """`drover status` is `crm_mon -1 -r` line for line: node lists (Online, OFFLINE, RemoteOnline,
    RemoteOFFLINE, GuestOnline, nodes in a special state), resources in priority order, clones' instance
    lists and written-out instances, counts with DISABLED and BLOCKED, failed actions."""
    cib = CORPUS / case / "cib.xml"
    theirs = subprocess.run(["crm_mon", "-1", "-r"], capture_output=True, text=True,
                            env=dict(os.environ, CIB_file=str(cib)), timeout=60)
    assert theirs.returncode == 0, theirs.stderr
    assert _body(render_text(view_of(case), 0)) == _body(theirs.stdout)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", BUNDLE_CASES)
@pytest.mark.parametrize("after", [False, True], ids=["configured", "running"])
def test_bundles_are_shown_as_crm_mon_shows_them(case: str, after: bool, tmp_path: Path):
    """Bundles as configured, and running as crm_simulate leaves them (its -O output): the replica lines, the
    instance count, and in XML each replica's IP, instance, container and connection."""
    cib = BUNDLES / case / "cib.xml"
    if after:
        subprocess.run(["crm_simulate", "-x", str(cib), "-S", "-O", str(tmp_path / "after.xml")], check=True,
                       capture_output=True, timeout=60)
        cib = tmp_path / "after.xml"
    view = build(read_cib(cib.read_bytes(), str(cib)), "drover", None, "0.1.0")
    theirs = subprocess.run(["crm_mon", "-1", "-r"], capture_output=True, text=True,
                            env=dict(os.environ, CIB_file=str(cib)), timeout=60)
    assert _body(render_text(view, 0)) == _body(theirs.stdout)
    ours = ET.fromstring(render_xml(view, 0)).find("resources")
    theirs_xml = ET.fromstring(crm_mon_xml(cib)).find("resources")
    for side in (ours, theirs_xml):
        for element in side.iter():
            element.tail = element.text = None
    assert [ET.tostring(b) for b in ours.iter("bundle")] == [ET.tostring(b) for b in theirs_xml.iter("bundle")]


def test_node_names_sort_as_pacemaker_sorts_them():
    # digit runs by value, a shorter run first when equal (9 before 09), letters case-insensitively
    names = ["node10", "Node9", "remotenode9", "node9a", "node09", "alpha"]
    assert sorted(names, key=node_name_key) == ["alpha", "Node9", "node9a", "node09", "node10", "remotenode9"]


def test_text_layout_follows_crm_mon():
    case = next(c for c in CASES if failures(crm_mon_xml(CORPUS / c / "cib.xml")))
    text = render_text(view_of(case), 0)
    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections == ["Cluster Summary:", "Node List:", "Full List of Resources:", "Failed Resource Actions:"]
    assert "  * Current DC: NONE" in text                   # no controller holds the lock
    failed = text.split("Failed Resource Actions:\n")[1].splitlines()
    assert all(" on " in line and (" returned '" in line or " could not be executed (" in line) for line in failed)


def test_intervals_read_like_pacemaker():
    # pcmk__readable_interval 2.1.5: a unit only above it, seconds with their milliseconds
    assert [readable_interval(ms) for ms in (0, 500, 1000, 1500, 30000, 60000, 90000, 3_600_000, 86_400_000 + 1500)] \
        == ["0s", "500ms", "1000ms", "1.500s", "30s", "60s", "1m30s", "60m", "1d1.500s"]
