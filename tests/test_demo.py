"""`make demo` runs end to end: authkey, config, a real guest daemon, Dummy started over TLS."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import TOP, clean_environment


def test_demo_runs_the_walk_through_so_far():
    result = subprocess.run([sys.executable, "-m", "appliance.demo"], cwd=TOP,
                            env=clean_environment(PYTHONPATH=str(TOP)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrote 4096-byte authkey" in result.stdout
    assert "connected to guest1: drover-guest" in result.stdout
    assert "webserver (ocf:heartbeat:Dummy) probe: done rc=7\n" in result.stdout
    assert "webserver (ocf:heartbeat:Dummy) start: done rc=0\n" in result.stdout
    assert "webserver (ocf:heartbeat:Dummy) monitor interval=30s: done rc=0\n" in result.stdout
