"""corosync.conf as `drover cluster setup` writes it (checked by real corosync's `corosync -t`), as it reads one
it did not write, and `drover cluster setup|node add|node remove|destroy` on a private root."""

from __future__ import annotations

import fcntl
import stat
import subprocess
from pathlib import Path

import pytest

from appliance.cluster import corosync_conf as cc
from tests.conftest import run_source

pytestmark = pytest.mark.timeout(60)

PCS_WRITTEN = """totem {
    version: 2
    cluster_name: prod
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    cluster_uuid: 9f1e0d6c7b5a4e3f8a2b1c0d9e8f7a6b
}

nodelist {
    node {
        ring0_addr: 10.0.0.1
        ring1_addr: 10.1.0.1
        name: node1
        nodeid: 1
    }

    node {
        ring0_addr: 10.0.0.2
        ring1_addr: 10.1.0.2
        name: node2
        nodeid: 2
    }
}

# comments and sections drover does not use are fine
quorum {
    provider: corosync_votequorum
    two_node: 1
}

logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: yes
    timestamp: on
}
"""


def corosync_accepts(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    key = tmp_path / "authkey"
    key.write_bytes(b"k" * 256)
    key.chmod(0o400)
    (tmp_path / "log").mkdir(exist_ok=True)
    conf = tmp_path / "corosync.conf"
    conf.write_text(text)
    return subprocess.run(["corosync", "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)


# corosync -t wants one host to be this one: 127.0.0.0/8 is all local
@pytest.mark.parametrize("hosts", [["node1", "addr=127.0.0.1"], ["node1", "addr=127.0.0.1", "node2", "addr=127.0.0.2"],
                                   ["a", "addr=127.0.0.1", "addr=127.0.1.1", "b", "addr=127.0.0.2", "addr=127.0.1.2",
                                    "c", "addr=127.0.0.3", "addr=127.0.1.3"]])
def test_what_setup_writes_real_corosync_accepts_and_drover_reads_back(tmp_path: Path, hosts: list[str]):
    conf = cc.conf_for("prod", cc.hosts_from_args(hosts))
    text = cc.render(conf, str(tmp_path / "authkey"), str(tmp_path / "log/corosync.log"))
    checked = corosync_accepts(tmp_path, text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = cc.parse(text, "corosync.conf")
    assert (again.cluster_name, again.hosts) == (conf.cluster_name, conf.hosts)
    assert cc.render(again, str(tmp_path / "authkey"), str(tmp_path / "log/corosync.log")) == text
    assert ("two_node: 1" in text) == (len(conf.hosts) == 2)


def test_a_file_pcs_wrote_is_read_and_what_drover_does_not_use_is_kept():
    conf = cc.parse(PCS_WRITTEN, "corosync.conf")
    assert conf.cluster_name == "prod"
    assert conf.hosts == (cc.Host("node1", 1, ("10.0.0.1", "10.1.0.1")), cc.Host("node2", 2, ("10.0.0.2", "10.1.0.2")))
    grown = cc.with_host(conf, ["node3", "addr=10.0.0.3", "addr=10.1.0.3"])
    text = cc.render(grown)
    assert "cluster_uuid: 9f1e0d6c7b5a4e3f8a2b1c0d9e8f7a6b" in text and "two_node" not in text
    assert grown.host("node3") == cc.Host("node3", 3, ("10.0.0.3", "10.1.0.3"))
    assert "two_node: 1" in cc.render(cc.without_host(grown, "node3"))


@pytest.mark.parametrize(("hosts", "message"), [
    (["node1", "ring0=1.2.3.4"], "unknown host option 'ring0=1.2.3.4': only addr=ADDRESS is known"),
    (["addr=10.0.0.1", "node1"], "'addr=10.0.0.1' must follow the host it belongs to"),
    (["node1", "addr=10.0.0.1", "addr=10.1.0.1", "node2", "addr=10.0.0.2"],
     "every host needs the same number of addresses (one per knet link): node1 has 2, node2 has 1"),
    (["n", *(f"addr=10.0.0.{i}" for i in range(1, 10))], "at most 8 addresses (knet links) per host"),
    (["node1", "node1"], "host name node1 is given twice"),
    (["node1", "addr=10.0.0.1", "node2", "addr=10.0.0.1"], "address 10.0.0.1 is given twice"),
    (["bad host"], "invalid host name 'bad host'"),
    (["node1", "addr=10.0.0.300"], "invalid address '10.0.0.300': an IPv4 or IPv6 address or a host name"),
    ([], "a cluster needs at least one host"),
])
def test_bad_host_lists_are_refused_clearly(hosts: list[str], message: str):
    with pytest.raises(cc.ConfError) as refused:
        cc.conf_for("prod", cc.hosts_from_args(hosts))
    assert message in refused.value.message


@pytest.mark.parametrize(("text", "message"), [
    ("totem {\n cluster_name: a\n", "section 'totem' opened at line 1 is never closed"),
    ("}\n", "corosync.conf:1: '}' closes nothing"),
    ("totem {\n  what is this\n}\n", "corosync.conf:2: 'what is this' is neither 'key: value' nor a section"),
    ("totem {\n version: 2\n}\n", "no totem.cluster_name"),
    ("totem {\n cluster_name: a\n}\n", "no nodelist with nodes"),
    ("totem {\n cluster_name: a\n}\nnodelist {\n node {\n  ring0_addr: x\n }\n}\n",
     "corosync.conf:5: a node without name and nodeid"),
    ("totem {\n cluster_name: a\n}\nnodelist {\n node {\n  name: x\n  nodeid: one\n }\n}\n",
     "corosync.conf:7: nodeid 'one' is not a number"),
    ("totem {\n cluster_name: a\n}\nnodelist {\n node {\n  name: x\n  nodeid: 1\n }\n}\n",
     "quorum.provider is 'not set': drover needs corosync_votequorum"),
])
def test_a_corosync_conf_drover_cannot_use_says_why_and_where(text: str, message: str):
    with pytest.raises(cc.ConfError) as refused:
        cc.parse(text, "corosync.conf")
    assert message in refused.value.message


def drover(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_source("drover", *args, root=root)


def test_cluster_setup_node_add_remove_and_destroy(tmp_path: Path):
    root = tmp_path / "root"
    conf_path, key_path = root / "etc/corosync/corosync.conf", root / "etc/corosync/authkey"
    made = drover(root, "cluster", "setup", "prod", "node1", "addr=127.0.0.1", "node2", "addr=127.0.0.2")
    assert made.returncode == 0, made.stderr
    assert f"copy {conf_path}, {key_path}, {root}/etc/pacemaker/authkey to every host" in made.stdout
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o400 and key_path.stat().st_size == 256
    checked = subprocess.run(["corosync", "-t", "-c", str(conf_path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    key = key_path.read_bytes()

    again = drover(root, "cluster", "setup", "prod", "node1")
    assert again.returncode == 1 and "already exists (a cluster is set up); pass --force" in again.stderr
    added = drover(root, "cluster", "node", "add", "node3", "addr=127.0.0.3")
    assert added.returncode == 0 and "added node3 (node id 3, 127.0.0.3)" in added.stdout
    assert "two_node" not in conf_path.read_text()
    assert key_path.read_bytes() == key                          # the cluster keeps its key
    missing = drover(root, "cluster", "node", "remove", "node9")
    assert missing.returncode == 1
    assert "host 'node9' is not in the cluster; hosts: node1, node2, node3" in missing.stderr
    assert drover(root, "cluster", "node", "remove", "node3").returncode == 0
    assert "two_node: 1" in conf_path.read_text()

    lock = root / "var/lib/drover/controller.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "ab") as held:                                # as a running drover daemon holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = drover(root, "cluster", "destroy")
    assert busy.returncode == 1 and "drover daemon is running on this host" in busy.stderr
    gone = drover(root, "cluster", "destroy")
    assert gone.returncode == 0 and not conf_path.exists() and not key_path.exists()


def test_destroy_leaves_a_corosync_conf_drover_did_not_write_unless_forced(tmp_path: Path):
    root = tmp_path / "root"
    conf_path = root / "etc/corosync/corosync.conf"
    conf_path.parent.mkdir(parents=True)
    conf_path.write_text(PCS_WRITTEN)
    kept = drover(root, "cluster", "destroy")
    assert kept.returncode == 1 and "was not written by drover; pass --force" in kept.stderr and conf_path.exists()
    assert drover(root, "cluster", "destroy", "--force").returncode == 0 and not conf_path.exists()
    added = drover(root, "cluster", "node", "add", "node3")
    assert added.returncode == 1 and f"{conf_path} does not exist: set the cluster up with" in added.stderr
