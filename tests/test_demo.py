"""`make demo` runs the whole walk-through and ends with the status the user expects."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import TOP, clean_environment


def test_demo_ends_with_the_web_server_in_guest1():
    result = subprocess.run([sys.executable, "-m", "appliance.demo"], cwd=TOP,
                            env=clean_environment(PYTHONPATH=str(TOP)),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "wrote 4096-byte authkey" in out
    assert "$ drover resource create vm-guest1 VirtualDomain hypervisor=test:///default" in out
    status = out.split("$ drover status\n", 1)[1]
    assert status.startswith("Cluster Summary:\n")
    assert "  * Current DC: node1 (version" in status
    assert "  * Online: [ node1 ]\n  * GuestOnline: [ guest1 ]\n" in status
    assert "  * vm-guest1\t(ocf:heartbeat:VirtualDomain):\t Started node1\n" in status
    assert status.rstrip().endswith(":\t Started guest1")          # the web server, in the guest
