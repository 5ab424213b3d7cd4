"""drover's pcs commands beside the real pcs (Debian's 0.11, `pcs -f CIB-FILE`) on the same configuration: the same
commands, one after another, must leave the same resources (as `resource config` prints them, compared line for
line) and the same constraints, and a command pcs refuses must be refused with pcs's message, changing nothing."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import clean_environment
from tests.test_config_cli import Drover, drover  # noqa: F401  (the in-process CLI fixture)

pytestmark = pytest.mark.timeout(300)

SETUP = [
    ("resource", "create", "d1", "ocf:pacemaker:Dummy", "fake=a b", "op", "monitor", "interval=10s",
     "OCF_CHECK_LEVEL=10", "meta", "priority=5"),
    ("resource", "create", "d2", "ocf:pacemaker:Dummy"),
    ("resource", "create", "s", "ocf:pacemaker:Stateful", "promotable", "promoted-max=1"),
    ("resource", "create", "m1", "ocf:pacemaker:Dummy", "--group", "g"),
    ("resource", "create", "m2", "ocf:pacemaker:Dummy", "--group", "g"),
    ("resource", "create", "m3", "ocf:pacemaker:Dummy", "--group", "g"),
]
STEPS = [
    ("resource", "create", "d3", "ocf:pacemaker:Dummy", "op", "monitor", "interval=20s", "timeout=30s"),
    ("constraint", "location", "d1", "prefers", "node1"),
    ("constraint", "colocation", "add", "d2", "with", "d1"),
    ("constraint", "order", "d1", "then", "d2"),
    ("constraint", "location", "g", "prefers", "node1=50"),
    ("resource", "group", "add", "g2", "d1", "m1"),
    ("resource", "group", "add", "g2", "d3", "--before", "d1"),
    ("resource", "group", "add", "g2", "d3", "--after", "m1"),
    ("resource", "group", "add", "g2", "nope"),
    ("resource", "group", "add", "g2", "m2", "m2"),
    ("resource", "group", "add", "g2", "s"),
    ("resource", "group", "add", "g2", "s-clone"),
    ("resource", "group", "add", "g", "m2", "--after", "d2"),
    ("resource", "ungroup", "g2", "d1"),
    ("resource", "clone", "d1", "interleave=true"),
    ("resource", "clone", "d1"),
    ("resource", "clone", "g"),
    ("resource", "ungroup", "g"),
    ("resource", "ungroup", "g", "m2"),
    ("resource", "unclone", "d1-clone"),
    ("resource", "unclone", "d2"),
    ("resource", "promotable", "d2", "d2-ms", "promoted-max=1"),
    ("resource", "unclone", "d2"),
    ("resource", "group", "remove", "g2"),
    ("resource", "group", "delete", "nope"),
]


def pcs(cib: Path, *argv: str) -> subprocess.CompletedProcess:
    if shutil.which("pcs") is None:
        pytest.fail("pcs is missing: run `make deps` (packaging/bootstrap-debian.sh installs it)")
    return subprocess.run(["pcs", "-f", str(cib), *argv], capture_output=True, text=True, timeout=120,
                          env=clean_environment(LC_ALL="C.UTF-8"))


def constraints(xml: str) -> list[tuple[str, ...]]:
    section = ET.fromstring(xml).find("configuration/constraints")
    return sorted((c.tag, c.get("id", ""), *(c.get(k, "") for k in ("rsc", "with-rsc", "first", "then", "node",
                                                                       "score")))
                  for c in section)


def test_the_same_commands_leave_the_same_configuration_as_pcs(drover: Drover, tmp_path: Path):  # noqa: F811
    for command in SETUP:
        drover.ok(*command)
    theirs = tmp_path / "cib.xml"
    theirs.write_text(drover.ok("cib", "export"))
    compared = 0
    for command in STEPS:
        expected = pcs(theirs, *command)
        before = drover.state_bytes()
        ours = drover(*command)
        if expected.returncode != 0:
            first_error = next(line for line in expected.stderr.splitlines() if line.startswith("Error: "))
            assert ours.code != 0 and ours.err.startswith("drover: " + first_error.removeprefix("Error: ")), \
                (command, expected.stderr, ours.err)
            assert drover.state_bytes() == before, command
        else:
            assert ours.code == 0, (command, ours.err)
        config = pcs(theirs, "resource", "config")
        assert drover.ok("resource", "config") == config.stdout, command
        assert constraints(drover.ok("cib", "export")) == constraints(theirs.read_text()), command
        compared += 1
    assert compared == len(STEPS)
