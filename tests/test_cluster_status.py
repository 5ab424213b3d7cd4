"""`drover cluster status` inside real corosync hosts (network namespaces, tests/corosync_harness.py): quorum,
votes and each host's state as corosync sees them, from both sides of a cut; clear answers without corosync."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MODULES, TOP, clean_environment, run_source
from tests.corosync_harness import CLUSTER_NAME, CorosyncCluster, Host

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("corosync") is None,
                       reason="needs root (network namespaces) and corosync"),
]


def status_on(host: Host) -> subprocess.CompletedProcess:
    root = host.directory / "drover-root"
    conf = root / "etc/corosync/corosync.conf"
    if not conf.exists():
        conf.parent.mkdir(parents=True)
        shutil.copy(host.directory / "corosync.conf", conf)
    return subprocess.run(["ip", "netns", "exec", host.namespace, sys.executable, "-m", MODULES["drover"],
                           "cluster", "status"], cwd=TOP, capture_output=True, text=True, timeout=30,
                          env=clean_environment(PYTHONPATH=str(TOP), DROVER_ROOT=str(root)))


def wait_status(host: Host, wanted: list[str], timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = status_on(host)
        if shown.returncode == 0 and all(line in shown.stdout for line in wanted):
            return shown.stdout
        if time.monotonic() > deadline:
            raise AssertionError(f"{host.name}: {wanted} not shown within {timeout_s}s:\n{shown.stdout}{shown.stderr}")
        time.sleep(0.3)


def test_status_shows_quorum_and_each_host_from_both_sides_of_a_cut(tmp_path: Path):
    with CorosyncCluster(tmp_path / "cluster", 3) as cluster:
        cluster.start_all()
        first, _, third = cluster.hosts
        shown = wait_status(first, ["Quorum: partition with quorum (votes 3, expected 3, 2 needed)",
                                    "  * h3 (node id 3, 10.214.0.3): member"])
        assert shown.startswith(f"Cluster name: {CLUSTER_NAME}\n")
        assert "  * h1 (node id 1, 10.214.0.1): member (this host)" in shown
        cluster.cut(third)
        wait_status(first, ["Quorum: partition with quorum (votes 2, expected 3, 2 needed)",
                            "  * h3 (node id 3, 10.214.0.3): OFFLINE"])
        alone = wait_status(third, ["Quorum: partition WITHOUT quorum (votes 1, expected 3, 2 needed)"])
        assert "  * h3 (node id 3, 10.214.0.3): member (this host)" in alone
        assert "  * h1 (node id 1, 10.214.0.1): OFFLINE" in alone
        cluster.stop(third)
        stopped = status_on(third)
        assert stopped.returncode == 3 and "corosync is not running on this host" in stopped.stderr


def test_a_host_with_another_corosync_authkey_is_offline_and_the_status_names_the_key(tmp_path: Path):
    keys = [b"k" * 128, b"k" * 128, b"other" * 26]
    with CorosyncCluster(tmp_path / "cluster", 3, corosync_keys=keys) as cluster:
        cluster.start_all()
        first, _, third = cluster.hosts
        shown = wait_status(first, ["Quorum: partition with quorum (votes 2, expected 3, 2 needed)",
                                    "  * h2 (node id 2, 10.214.0.2): member"])
        assert "  * h3 (node id 3, 10.214.0.3): OFFLINE (no knet link up to it: it is down or unreachable, or its " \
               "/etc/corosync/authkey differs from this host's (corosync then logs \"Digest does not match\"" in shown
        alone = wait_status(third, ["Quorum: partition WITHOUT quorum (votes 1, expected 3, 2 needed)"])
        assert "  * h1 (node id 1, 10.214.0.1): OFFLINE (no knet link up" in alone
        deadline = time.monotonic() + 20
        while "Digest does not match" not in third.log_tail() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert "Check crypto key and configuration" in third.log_tail()


def test_a_host_without_corosync_conf_runs_alone(tmp_path: Path):
    lone = run_source("drover", "cluster", "status", root=tmp_path / "root")
    assert lone.returncode == 0 and lone.stdout.startswith("not in a cluster (")
