"""Three (or more) drover hosts on one machine: the corosync harness's namespaces, each host with its own
DROVER_ROOT, corosync and `drover daemon` (make cluster-test).

Each host's daemon runs in its namespace with a private /run (as its corosync), so the test agent's state
files (under /run) are per host, as on separate machines; its CLI runs from the root namespace (the daemon's
change socket is a file under the host's DROVER_ROOT). Resources use `ocf:test:hostlocal`, which logs every
start and stop with the host's name to one shared log: that log is what the tests count restarts with.

Rules: every wait is bounded; `close()` kills every daemon and corosync started here and removes it all.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from appliance.store import replicated
from appliance.store.cib_store import CibStore
from tests.agents import LOGGING_AGENT
from tests.cluster import bmc
from tests.conftest import TOP, clean_environment, run_source
from tests.corosync_harness import CorosyncCluster, Host
from tests.guestd import GuestDaemon
from tests.ipmi_sim import IpmiSim

HOSTLOCAL = LOGGING_AGENT % {
    "name": "hostlocal", "shortdesc": "a per-host test resource",
    "state": "/run/drover-test-${OCF_RESOURCE_INSTANCE}.state",
    "start": '"start ${OCF_RESOURCE_INSTANCE} ${DROVER_TEST_HOST}"',
    "stop": '"stop ${OCF_RESOURCE_INSTANCE} ${DROVER_TEST_HOST}"',
    "about": "# A resource whose state is a file under /run (private per test host); logs \"ACTION RESOURCE HOST\"."}

WAIT_S = 40.0


class DroverCluster(CorosyncCluster):
    GUEST_ADDRESS = "10.214.0.20"

    def __init__(self, directory: Path, size: int = 3, authkey: bytes | None = None, bmcs: bool = False) -> None:
        """`bmcs`: every host gets a BMC on a management network (tests/cluster/bmc.py) whose power-off kills
        the host's corosync and daemon."""
        super().__init__(directory, size)
        self.authkey = authkey or secrets.token_bytes(64)
        self.daemons: dict[str, subprocess.Popen] = {}
        self.with_bmcs = bmcs
        self.bmcs: dict[str, IpmiSim] = {}
        self.ocf_root = directory / "ocf"
        self.log = directory / "actions.log"

    def build(self) -> None:
        super().build()
        agent = self.ocf_root / "resource.d/test/hostlocal"
        agent.parent.mkdir(parents=True)
        agent.write_text(HOSTLOCAL)
        agent.chmod(0o755)
        for provider in ("heartbeat", "pacemaker"):                # the real agents too
            (self.ocf_root / "resource.d" / provider).symlink_to(Path("/usr/lib/ocf/resource.d") / provider)
        (self.ocf_root / "lib").symlink_to("/usr/lib/ocf/lib")
        self.log.touch()
        if self.with_bmcs:
            bmc.build_network(self.bridge_namespace, self.hosts)
            for host in self.hosts:
                self.bmcs[host.name] = bmc.start_bmc(self.bridge_namespace, host, self.log)
        key = self.authkey
        for host in self.hosts:
            root = self.root(host)
            (root / "etc/drover").mkdir(parents=True)
            (root / "etc/drover/drover.conf").write_text(
                f"[cluster]\nnode_name = {host.name}\n[agents]\nocf_root = {self.ocf_root}\n[log]\nlevel = debug\n")
            (root / "etc/pacemaker").mkdir(parents=True)
            (root / "etc/pacemaker/authkey").write_bytes(key)
            (root / "etc/pacemaker/authkey").chmod(0o600)
            (root / "etc/corosync").mkdir(parents=True)
            shutil.copy(host.directory / "corosync.conf", root / "etc/corosync/corosync.conf")

    def add_guest_namespace(self) -> str:
        """A namespace on the bridge for a guest (GUEST_ADDRESS): as a VM's network would be, reachable from every
        host. Its processes are started by the caller (`ip netns exec NAME ...`)."""
        name = f"{self.tag}-g1"
        self._add_namespace(name)
        from tests.corosync_harness import run
        run("ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "g1", "netns",
            self.bridge_namespace)
        run("ip", "-n", name, "addr", "add", f"{self.GUEST_ADDRESS}/24", "dev", "eth0")
        run("ip", "-n", name, "link", "set", "eth0", "up")
        run("ip", "-n", self.bridge_namespace, "link", "set", "g1", "master", "br0")
        run("ip", "-n", self.bridge_namespace, "link", "set", "g1", "up")
        return name

    def start_guest(self, base: Path) -> GuestDaemon:
        """guest1's drover-guest daemon in a namespace of its own on the bridge (GUEST_ADDRESS), with the
        cluster's authkey; the caller stops it."""
        namespace = self.add_guest_namespace()
        guest = GuestDaemon(base, address=self.GUEST_ADDRESS,
                            command=["ip", "netns", "exec", namespace, sys.executable, "-m", "guest"])
        guest.key_path.parent.mkdir(parents=True, exist_ok=True)
        guest.key_path.write_bytes(self.authkey)
        return guest.start()

    @staticmethod
    def root(host: Host) -> Path:
        return host.directory / "root"

    # -- daemons ------------------------------------------------------------------------------------------

    def start_daemon(self, host: Host) -> None:
        assert host.name not in self.daemons or self.daemons[host.name].poll() is not None
        environment = clean_environment(PYTHONPATH=str(TOP), DROVER_ROOT=str(self.root(host)),
                                        DROVER_TEST_HOST=host.name)
        with open(host.directory / "drover.log", "ab") as output:
            self.daemons[host.name] = subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, "sh", "-c",
                 'mount --bind "$1" /run && exec "$2" -m appliance daemon', "sh", str(host.directory / "run"),
                 sys.executable], cwd=TOP, env=environment, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True)
        bmc.powered_off_mark(host).unlink(missing_ok=True)
        self._machine_pids(host)

    def start(self, host: Host) -> None:
        super().start(host)
        self._machine_pids(host)

    def _machine_pids(self, host: Host) -> None:
        """What the host's power cut kills: its corosync and its daemon (each its own process group)."""
        processes = [host.corosync, self.daemons.get(host.name)]
        bmc.machine_pids(host).write_text(" ".join(str(p.pid) for p in processes if p is not None and
                                                   p.poll() is None))

    def powered_off(self, host: Host) -> bool:
        return bmc.powered_off_mark(host).exists()

    def stop_daemon(self, host: Host, signum: int = signal.SIGTERM) -> None:
        process = self.daemons.pop(host.name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signum)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(f"{host.name}: drover daemon did not stop within 20 s") from None

    def exited(self, host: Host, timeout: float = 10.0) -> int:
        """The exit code of a daemon that is expected to end by itself (it is no longer watched)."""
        return self.daemons.pop(host.name).wait(timeout=timeout)

    def close(self) -> None:
        for sim in self.bmcs.values():
            with contextlib.suppress(Exception):
                sim.close()
        for process in self.daemons.values():
            with contextlib.suppress(Exception):
                process.kill()
                process.wait(timeout=10)
        self.daemons.clear()
        subprocess.run(["sh", "-c", f"rm -f {self.directory}/h*/run/drover-test-*.state"], check=False)
        super().close()

    # -- looking --------------------------------------------------------------------------------------------

    def drover(self, host: Host, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = run_source("drover", *args, root=self.root(host))
        if check and result.returncode != 0:
            raise AssertionError(f"{host.name}: drover {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def status(self, host: Host) -> dict:
        return json.loads(self.drover(host, "status", "--output-as=json").stdout)

    def placement(self, host: Host) -> dict[str, list[str]]:
        return {r["id"]: sorted(n for m in r["members"] for n in m["nodes"] if m["role"] != "Stopped")
                for r in self.status(host)["resources"]}

    def version(self, host: Host) -> tuple:
        store = CibStore.open(self.root(host) / "var/lib/drover/state.db")
        try:
            return replicated.version(store), store.configuration()
        finally:
            store.close()

    def actions(self) -> list[str]:
        return self.log.read_text().splitlines()

    def daemon_log(self, host: Host, lines: int = 60) -> str:
        text = (host.directory / "drover.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait(self, predicate: Callable[[], object], what: str, timeout: float = WAIT_S) -> object:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            dead = [name for name, process in self.daemons.items() if process.poll() is not None
                    and not self.powered_off(next(h for h in self.hosts if h.name == name))]
            if dead:
                host = next(h for h in self.hosts if h.name == dead[0])
                raise AssertionError(f"{dead[0]}: drover daemon exited ({self.daemons[dead[0]].returncode}) "
                                     f"while waiting for {what}:\n{self.daemon_log(host)}")
            try:
                value = predicate()
                if value:
                    return value
            except (AssertionError, ValueError, KeyError, OSError) as error:
                last_error = error
            time.sleep(0.3)
        logs = "\n".join(f"--- {h.name} ---\n{self.daemon_log(h)}\n--- {h.name}'s corosync membership ---\n"
                         f"{h.membership_log()}" for h in self.hosts)
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last error: {last_error})\n{logs}")
