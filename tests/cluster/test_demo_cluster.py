"""`make demo-cluster` works on a fresh machine: three hosts, one guest, the web server in it, all cleaned up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import TOP, clean_environment


@pytest.mark.timeout(240)
def test_demo_cluster_ends_with_every_host_and_the_guest_online():
    done = subprocess.run([sys.executable, "-m", "appliance.demo_cluster"], cwd=TOP, capture_output=True, text=True,
                          env=clean_environment(PYTHONPATH=str(TOP)), timeout=200)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Stack: corosync" in done.stdout
    assert "partition with quorum" in done.stdout
    assert "  * Online: [ h1 h2 h3 ]\n  * GuestOnline: [ guest1 ]\n" in done.stdout
    assert "Started guest1" in done.stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    assert "drvdemo" not in namespaces
