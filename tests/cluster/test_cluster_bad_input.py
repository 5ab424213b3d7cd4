"""Bad input on a cluster host: a stopped corosync, a host name corosync does not know, a peer of another
drover version. Each is a clear error or log line naming the cause, and no state is lost or diverged."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from appliance.cluster import admin_socket
from tests.cluster.harness import DroverCluster
from tests.cluster.test_cluster import one_state, start

pytestmark = pytest.mark.timeout(240)


def test_a_daemon_without_corosync_or_under_another_name_refuses_to_start_and_says_why(tmp_path: Path):
    with DroverCluster(tmp_path / "c", size=1) as cluster:
        (h1,) = cluster.hosts
        cluster.start_daemon(h1)                          # corosync.conf exists, corosync is not running
        assert cluster.exited(h1, timeout=30) == 1
        assert "corosync does not answer" in cluster.daemon_log(h1)
        assert "start corosync first" in cluster.daemon_log(h1)
        cluster.start(h1)
        conf = cluster.root(h1) / "etc/drover/drover.conf"
        conf.write_text(conf.read_text().replace("node_name = h1", "node_name = elsewhere"))
        cluster.start_daemon(h1)
        assert cluster.exited(h1, timeout=30) == 1
        assert "corosync names this host 'h1' (node id 1) but drover calls it 'elsewhere'" in cluster.daemon_log(h1)
        # a CLI change on a cluster host without a daemon is refused, and nothing is written
        refused = cluster.drover(h1, "resource", "create", "r1", "ocf:test:hostlocal", f"log={cluster.log}",
                                 check=False)
        assert refused.returncode == 1
        assert "drover is not running on this host" in refused.stderr
        _version, configuration = cluster.version(h1)
        assert configuration.resources == ()
        # a daemon that takes the change and ends before answering (killed meanwhile): the outcome is unknown
        socket_file = cluster.root(h1) / "run/drover" / admin_socket.SOCKET_NAME
        socket_file.parent.mkdir(parents=True, exist_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(socket_file))
            listener.listen()
            def take_and_end() -> None:
                connection = listener.accept()[0]
                connection.recv(1 << 20)                 # the request arrived; no answer follows
                connection.close()
            taker = threading.Thread(target=take_and_end, daemon=True)
            taker.start()
            unknown = cluster.drover(h1, "resource", "create", "r1", "ocf:test:hostlocal", f"log={cluster.log}",
                                     check=False)
            taker.join(timeout=10)
        socket_file.unlink()
        assert unknown.returncode == 1
        assert "the change's outcome is unknown" in unknown.stderr
        assert "look (drover config) before running it again" in unknown.stderr


def test_a_peer_of_another_version_is_named_and_ignored(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        start(cluster)
        h1, h2, h3 = cluster.hosts
        cluster.drover(h2, "resource", "create", "r1", "ocf:test:hostlocal", f"log={cluster.log}")
        # a second process on a host that has a daemon: not counted
        intruder = cluster.client(h2, "drover-cib")
        intruder.wait_for(lambda e: e["event"] == "confchg", "the intruder to join")
        intruder.command("send", payload="not json at all")
        cluster.wait(lambda: "on node 2 joined drover-cib; ignored" in cluster.daemon_log(h1, 400), "h1 to say so")
        # a host whose daemon speaks another protocol version: named, and left out of the sync and the DC choice
        cluster.stop_daemon(h3)
        stranger = cluster.client(h3, "drover-cib")
        stranger.wait_for(lambda e: e["event"] == "confchg", "the stranger to join")
        stranger.command("send", payload=json.dumps({"protocol": 99, "software": "drover 9.9", "kind": "hello",
                                                     "version": [9, 9, 9], "members": [1, 2, 3]}))
        stranger.command("send", payload=json.dumps({"protocol": 99, "kind": "full", "dump": {}}))
        cluster.wait(lambda: "node 3 runs drover 9.9, cluster protocol 99" in cluster.daemon_log(h1, 400),
                     "h1 to name it")
        cluster.drover(h1, "resource", "create", "r2", "ocf:test:hostlocal", f"log={cluster.log}")
        assert cluster.status(h2)["summary"]["current_dc"] == "h1"
        stranger.command("quit")
        cluster.start_daemon(h3)
        one_state(cluster)
        _version, configuration = cluster.version(h3)
        assert [r.id for r in configuration.resources] == ["r1", "r2"]
        time.sleep(1)
        assert all(cluster.daemons[h.name].poll() is None for h in cluster.hosts)


def test_a_host_whose_disk_is_full_leaves_instead_of_diverging_and_catches_up_once_it_has_room(tmp_path: Path):
    with DroverCluster(tmp_path / "c") as cluster:
        h1, h2, h3 = cluster.hosts
        state_dir = cluster.root(h3) / "var/lib/drover"
        state_dir.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "drover-test-full", str(state_dir)], check=True)
        try:
            start(cluster)
            cluster.drover(h2, "resource", "create", "r1", "ocf:test:hostlocal", f"log={cluster.log}")
            one_state(cluster)
            filler = state_dir / "filler"
            # (the daemon's own writes may fill it first: then even creating the filler fails, as wanted)
            with contextlib.suppress(OSError), open(filler, "wb") as stuffing:
                while True:
                    stuffing.write(b"\0" * 65536)
                    stuffing.flush()
            # a change made elsewhere that h3 cannot write: it leaves rather than fall behind unseen
            cluster.drover(h1, "resource", "create", "r2", "ocf:test:hostlocal", f"log={cluster.log}")
            assert cluster.exited(h3, timeout=30) == 1
            log = cluster.daemon_log(h3, 400)
            assert "cannot apply a cluster change to" in log and "this host leaves the cluster" in log
            assert "the disk is full" in log, log
            assert [r.id for r in cluster.version(h1)[1].resources] == ["r1", "r2"]
            assert cluster.status(h2)["summary"]["current_dc"] == "h1"
            filler.unlink()                              # room again: the restarted daemon takes a full copy
            cluster.start_daemon(h3)
            one_state(cluster, "h3 to catch up")
            assert [r.id for r in cluster.version(h3)[1].resources] == ["r1", "r2"]
        finally:
            cluster.close()                              # the daemons first: then the file system is free
            subprocess.run(["umount", "-l", str(state_dir)], check=False)
