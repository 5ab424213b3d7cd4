"""Several corosync hosts on one machine, each in its own network namespace, for tests against a real corosync.

Layout: a bridge namespace `drvcs<pid>-br` holds a Linux bridge `br0`; host N
is the namespace `drvcs<pid>-hN` with `eth0` = 10.214.0.N/24, joined to the
bridge by a veth pair whose other end `hN` sits in the bridge namespace (so the
root namespace's netfilter, bridge-nf-call-iptables, never sees the traffic,
and cutting a host off is `hN` down). corosync's IPC is abstract unix sockets,
which belong to a network namespace, so a client started in a host's namespace
reaches that host's corosync only; the shared /dev/shm is safe because libqb
names its rings by server and client pid. corosync's lock file
/run/corosync.pid is not configurable, so each corosync gets a private /run
(a bind mount in the mount namespace `ip netns exec` creates).

Rules: every wait is bounded; `close()` (also run by `with`) kills every
process this harness started, by its pid, deletes the namespaces (which takes
the veths and the bridge with them) and removes the files. Namespaces left by
an earlier run whose pytest died are removed first.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import TOP, clean_environment

PREFIX = "drvcs"
SUBNET = "10.214.0"
CLUSTER_NAME = "drover-test"
STOP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 15.0
COMMAND_TIMEOUT_S = 10.0


def run(*command: str) -> str:
    """Run a setup command; fail loudly with its stderr."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def corosync_conf(host: Host, hosts: list[Host], keyfile: Path | None = None) -> str:
    nodes = "".join(f"    node {{\n        nodeid: {other.nodeid}\n        name: {other.name}\n"
                    f"        ring0_addr: {other.address}\n    }}\n" for other in hosts)
    two_node = "    two_node: 1\n" if len(hosts) == 2 else ""
    # token 1000 ms (default 3000) makes membership changes quick; sched_rr off so a test machine's
    # few cores are not taken by real-time corosyncs.
    return (f"totem {{\n    version: 2\n    cluster_name: {CLUSTER_NAME}\n    transport: knet\n"
            + (f"    crypto_cipher: aes256\n    crypto_hash: sha256\n    keyfile: {keyfile}\n" if keyfile else
               "    crypto_cipher: none\n    crypto_hash: none\n")
            + "    token: 1000\n}\n"
            f"nodelist {{\n{nodes}}}\n"
            f"quorum {{\n    provider: corosync_votequorum\n{two_node}}}\n"
            f"logging {{\n    to_logfile: yes\n    logfile: {host.directory / 'corosync.log'}\n"
            f"    to_stderr: no\n    to_syslog: no\n    timestamp: on\n}}\n"
            f"system {{\n    state_dir: {host.directory}\n    sched_rr: no\n    move_to_root_cgroup: no\n}}\n")


@dataclass
class Host:
    index: int
    tag: str
    directory: Path
    corosync: subprocess.Popen | None = None

    @property
    def nodeid(self) -> int:
        return self.index

    @property
    def name(self) -> str:
        return f"h{self.index}"

    @property
    def namespace(self) -> str:
        return f"{self.tag}-h{self.index}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.index}"

    @property
    def bridge_port(self) -> str:
        return f"h{self.index}"

    def log_tail(self, lines: int = 30) -> str:
        log = self.directory / "corosync.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"

    def membership_log(self, lines: int = 20) -> str:
        """corosync's membership changes and token losses: whether a failure coincided with a membership flap."""
        log = self.directory / "corosync.log"
        if not log.exists():
            return "(no log)"
        marks = ("A new membership", "Members[", "Token has not been received", "Failed to receive the leave")
        changes = [line for line in log.read_text(errors="replace").splitlines() if any(m in line for m in marks)]
        return "\n".join(changes[-lines:]) or "(no membership change)"


@dataclass
class Client:
    """`python -m tests.corosync_client` in a host's namespace: JSON commands in, JSON events out."""
    host: Host
    process: subprocess.Popen
    stderr_path: Path
    events: list[dict] = field(default_factory=list)
    _arrived: queue.Queue = field(default_factory=queue.Queue)

    def start_reading(self) -> None:
        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                with contextlib.suppress(ValueError):
                    self._arrived.put(json.loads(line))
            self._arrived.put({"event": "exit"})
        threading.Thread(target=read, name=f"client-{self.host.name}", daemon=True).start()

    def command(self, op: str, **arguments: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()

    def mark(self) -> int:
        """A position in the event stream: `wait_for(..., after=mark)` looks only at later events."""
        while True:
            try:
                self.events.append(self._arrived.get_nowait())
            except queue.Empty:
                return len(self.events)

    def wait_for(self, predicate: Callable[[dict], bool], what: str, timeout_s: float = 20.0, after: int = 0) -> dict:
        """The first event from position `after` on (already seen or arriving within `timeout_s`) that
        satisfies `predicate`."""
        for event in self.events[after:]:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._arrived.get(timeout=left)
            except queue.Empty:
                break
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"{self.host.name}: no {what} within {timeout_s}s; last events {self.events[-5:]}; "
                             f"stderr: {self.stderr_path.read_text()[-2000:]}\ncorosync log:\n{self.host.log_tail()}")

    def of_kind(self, kind: str) -> list[dict]:
        return [event for event in self.events if event["event"] == kind]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)


class CorosyncCluster:
    """`size` hosts with their namespaces, network and corosync.conf; corosyncs started by `start`."""

    def __init__(self, directory: Path, size: int, corosync_keys: list[bytes] | None = None) -> None:
        """`corosync_keys`: one authkey per host (knet then encrypts with aes256/sha256); none: no crypto."""
        self.corosync_keys = corosync_keys
        self.tag = f"{PREFIX}{os.getpid()}"
        self.directory = directory
        self.bridge_namespace = f"{self.tag}-br"
        self.hosts = [Host(index, self.tag, directory / f"h{index}") for index in range(1, size + 1)]
        self.clients: list[Client] = []
        self._namespaces: list[str] = []

    def __enter__(self) -> CorosyncCluster:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def build(self) -> None:
        remove_stale_namespaces()
        self._add_namespace(self.bridge_namespace)
        run("ip", "-n", self.bridge_namespace, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.bridge_namespace, "link", "set", "br0", "up")
        for host in self.hosts:
            host.directory.mkdir(parents=True)
            (host.directory / "run").mkdir()
            self._add_namespace(host.namespace)
            run("ip", "-n", host.namespace, "link", "add", "eth0", "type", "veth",
                "peer", "name", host.bridge_port, "netns", self.bridge_namespace)
            run("ip", "-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            run("ip", "-n", host.namespace, "link", "set", "eth0", "up")
            run("ip", "-n", self.bridge_namespace, "link", "set", host.bridge_port, "master", "br0")
            run("ip", "-n", self.bridge_namespace, "link", "set", host.bridge_port, "up")
            keyfile = None
            if self.corosync_keys:
                keyfile = host.directory / "authkey"
                keyfile.write_bytes(self.corosync_keys[host.index - 1])
                keyfile.chmod(0o400)
            (host.directory / "corosync.conf").write_text(corosync_conf(host, self.hosts, keyfile))

    def _add_namespace(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self._namespaces.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def start(self, host: Host) -> None:
        """Start `host`'s corosync and wait until it answers on its IPC."""
        assert host.corosync is None or host.corosync.poll() is not None, f"{host.name}: corosync is running"
        conf, private_run = host.directory / "corosync.conf", host.directory / "run"
        with open(host.directory / "corosync.out", "ab") as output:
            host.corosync = subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, "sh", "-c",
                 'mount --bind "$1" /run && exec corosync -f -c "$2"', "sh", str(private_run), str(conf)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if host.corosync.poll() is not None:
                break
            probe = subprocess.run(["ip", "netns", "exec", host.namespace, "corosync-cmapctl", "-g",
                                    "totem.cluster_name"], capture_output=True, timeout=COMMAND_TIMEOUT_S)
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{host.name}: corosync did not start (exit {host.corosync.poll()}):\n{host.log_tail()}\n"
                           f"{(host.directory / 'corosync.out').read_text(errors='replace')[-2000:]}")

    def start_all(self) -> None:
        for host in self.hosts:
            self.start(host)

    def stop(self, host: Host) -> None:
        """Stop `host`'s corosync (SIGTERM, then SIGKILL after STOP_TIMEOUT_S)."""
        process, host.corosync = host.corosync, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def cut(self, host: Host) -> None:
        """Take `host` off the network (its bridge port down): it and the others each see the other side fail."""
        run("ip", "-n", self.bridge_namespace, "link", "set", host.bridge_port, "down")

    def heal(self, host: Host) -> None:
        run("ip", "-n", self.bridge_namespace, "link", "set", host.bridge_port, "up")

    def client(self, host: Host, *arguments: str, module: str = "tests.corosync_client") -> Client:
        """A `module` process (by default tests.corosync_client) in `host`'s namespace, reading its events."""
        stderr_path = host.directory / f"client-{len(self.clients)}.err"
        with open(stderr_path, "w") as stderr:
            process = subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, sys.executable, "-m", module, *arguments],
                cwd=TOP, env=clean_environment(PYTHONPATH=str(TOP)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=stderr, text=True, start_new_session=True)
        client = Client(host, process, stderr_path)
        self.clients.append(client)
        client.start_reading()
        return client

    def close(self) -> None:
        """Kill every client and corosync started here, delete the namespaces, remove the files."""
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.kill()
        running = [host.corosync for host in self.hosts if host.corosync is not None and host.corosync.poll() is None]
        for process in running:     # all at once: each corosync takes about a second to shut down
            process.send_signal(signal.SIGTERM)
        for host in self.hosts:
            with contextlib.suppress(Exception):
                self.stop(host)
        for name in reversed(self._namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=COMMAND_TIMEOUT_S)
        self._namespaces.clear()
        if not os.environ.get("DROVER_KEEP_COROSYNC_FILES"):
            shutil.rmtree(self.directory, ignore_errors=True)


def remove_stale_namespaces() -> None:
    """Namespaces of this harness whose pytest process is gone, and the processes still in them."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        owner = name[len(PREFIX):].split("-")[0]
        if not (name.startswith(PREFIX) and owner.isdigit()) or Path(f"/proc/{owner}").exists():
            continue
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=COMMAND_TIMEOUT_S)
