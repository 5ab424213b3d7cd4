"""`make demo` runs the whole walk-through and ends with the status the user expects."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import TOP, clean_environment


@pytest.mark.timeout(240)
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
    # the seed's web server: Debian's Apache (make deps installs apache2-bin) run by ocf:heartbeat:apache in guest1,
    # and the demo ends by fetching the page it serves
    assert "  * webserver\t(ocf:heartbeat:apache):\t Started guest1\n" in status
    assert status.split("$ curl http://127.0.0.1:", 1)[1].split("\n", 1)[1] == \
        "<html><body><h1>drover demo: served by Apache in guest1</h1></body></html>\n"
    left = subprocess.run(["pgrep", "-f", "drover-demo-.*apache.conf"], capture_output=True, text=True)
    assert left.stdout == "", "the demo's Apache outlived the demo"
