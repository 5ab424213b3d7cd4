"""Two libvirt hosts on one machine, each a libvirtd in its own network namespace, for live-migration tests.

Layout: a bridge namespace `drvlm<pid>x<n>-br` holds a Linux bridge `br0`
(address SUBNET.254: where a test reaches the guests from, see `fetch`); host N
is the namespace `drvlm<pid>x<n>-hN` with its own bridge `br0` =
SUBNET.N/24, whose port `eth0` is a veth to the port `hN` of the central
bridge. A guest NIC of type bridge, source `br0`, thus lands on the same L2
segment whichever host the guest runs on. Each libvirtd also gets a private
mount and UTS namespace (`unshare`): its own /etc/libvirt (libvirtd.conf with
a distinct host_uuid, which libvirt needs to tell the hosts apart, and the
qemu.conf of tests/system/libvirtd.sh), /run/libvirt, /var/lib/libvirt,
/var/log/libvirt and /var/cache/libvirt, bound from the host's directory; an
/etc/hosts where hK is SUBNET.K (K = 1..9: the names of absent hosts resolve
to addresses where nothing answers, a host that is down); and the host name
hN, so libvirt's default migration URI names a resolvable host. Everything
else (the kernel, initrd and console files of a domain) is shared, so paths
in a domain's XML are valid on both hosts. libvirtd listens on TCP
(SUBNET.N:16509, no auth) for the peer-to-peer migration and on its unix
socket, reached from the root namespace through `uri`.

Rules: the caller is root (the libvirt-qemu user and kvm group are made if
missing, and so are the empty mount points, e.g. /run/libvirt); needs
libvirtd, qemu and curl (`fetch`; Debian 12's busybox-static wget crashes
with -T). Every wait is bounded; `close()` (also run by `with`) kills every
process in the harness's namespaces (libvirtd and the qemus it started) by
pid, then deletes the namespaces (which takes the veths and bridges with
them). Namespaces of an earlier run whose pytest process is gone are removed
first. Files stay in `directory` (logs: hN/log/libvirtd.log and
hN/log/qemu/NAME.log) for pytest's tmp_path to expire.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import libvirt

PREFIX = "drvlm"
SUBNET = "10.216.0"
CLIENT_ADDRESS = f"{SUBNET}.254"
GUEST_BRIDGE = "br0"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 10.0
# the directories each libvirtd gets for its own, and the name of each one's source under the host's directory
PRIVATE_DIRS = {"/etc/libvirt": "etc", "/run/libvirt": "run", "/var/lib/libvirt": "lib",
                "/var/log/libvirt": "log", "/var/cache/libvirt": "cache"}
QEMU_CONF = """# drover's tests/libvirt_pair.py (as tests/system/libvirtd.sh): no systemd, cgroups or security driver
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
stdio_handler = "file"
"""
_tags = itertools.count(1)


def run(*command: str) -> str:
    """Run a setup command; fail loudly with its stderr."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def namespace_pids(namespace: str) -> list[int]:
    listing = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True,
                             timeout=COMMAND_TIMEOUT_S)
    return [int(pid) for pid in listing.stdout.split() if pid.isdigit()]


def kill_namespace(namespace: str) -> None:
    """SIGKILL every process in `namespace` and delete it (bounded: a few rounds, for processes just forked)."""
    for _ in range(5):
        pids = namespace_pids(namespace)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=COMMAND_TIMEOUT_S)


@dataclass
class LibvirtHost:
    index: int
    tag: str
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        """The host's name (its node name): what %n stands for in VirtualDomain's remoteuri and migrateuri."""
        return f"h{self.index}"

    @property
    def namespace(self) -> str:
        return f"{self.tag}-h{self.index}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.index}"

    @property
    def uri(self) -> str:
        """This libvirtd from the root namespace, through its unix socket."""
        return f"qemu+unix:///system?socket={self.directory / 'run' / 'libvirt-sock'}"

    @property
    def tcp_uri(self) -> str:
        """This libvirtd from the other host (what the peer-to-peer migration connects to)."""
        return f"qemu+tcp://{self.address}/system"

    def open(self) -> libvirt.virConnect:
        return libvirt.open(self.uri)

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for log in [self.directory / "log/libvirtd.log", *sorted((self.directory / "log/qemu").glob("*.log"))]:
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {self.name}: {log.name}\n" + "\n".join(tail))
        return "\n".join(parts) or f"--- {self.name}: no logs"

    def write_config(self, hosts: str) -> None:
        for source in PRIVATE_DIRS.values():
            (self.directory / source).mkdir(parents=True, exist_ok=True)
        for sub in ("lib/qemu", "log/qemu", "cache/qemu", "run/qemu"):
            (self.directory / sub).mkdir(exist_ok=True)
        (self.directory / "etc/libvirtd.conf").write_text(
            'listen_tls = 0\nlisten_tcp = 1\n'
            f'listen_addr = "{self.address}"\nauth_tcp = "none"\n'
            'unix_sock_group = "root"\nunix_sock_rw_perms = "0700"\n'
            f'host_uuid = "{uuid.uuid4()}"\n'
            f'log_outputs = "3:file:{self.directory / "log/libvirtd.log"}"\n')
        (self.directory / "etc/qemu.conf").write_text(QEMU_CONF)
        (self.directory / "hosts").write_text(hosts)

    def start(self) -> None:
        mounts = " && ".join(f'mount --bind "{self.directory / source}" {target}'
                             for target, source in PRIVATE_DIRS.items())
        script = (f'{mounts} && mount --bind "{self.directory / "hosts"}" /etc/hosts && hostname {self.name} && '
                  'exec libvirtd --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid')
        with open(self.directory / "libvirtd.out", "ab") as output:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, "unshare", "--mount", "--uts", "--propagation", "private",
                 "sh", "-c", script],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_started(self, deadline: float) -> None:
        """Until libvirtd answers and has probed qemu (seconds of CPU that would otherwise land in the first
        domain operation, e.g. the first migration to this host)."""
        assert self.process is not None
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(libvirt.libvirtError):
                connection = self.open()
                try:
                    connection.getCapabilities()
                finally:
                    connection.close()
                return
            time.sleep(0.2)
        output = (self.directory / "libvirtd.out").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name}: libvirtd did not start (exit {self.process.poll()}):\n{output}\n"
                           f"{self.log_tail()}")


class LibvirtPair:
    """Two (or `size`) libvirt hosts on one bridge; started by `with` (or `build`), all gone after `close`."""

    def __init__(self, directory: Path, size: int = 2) -> None:
        assert 1 <= size <= 9
        self.tag = f"{PREFIX}{os.getpid()}x{next(_tags)}"
        self.directory = directory
        self.bridge_namespace = f"{self.tag}-br"
        self.hosts = [LibvirtHost(index, self.tag, directory / f"h{index}") for index in range(1, size + 1)]
        self._namespaces: list[str] = []

    def __enter__(self) -> LibvirtPair:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __getitem__(self, index: int) -> LibvirtHost:
        return self.hosts[index]

    def build(self) -> None:
        libvirt.registerErrorHandler(lambda _context, _error: None, None)    # failed probes are not printed
        remove_stale_namespaces()
        ensure_qemu_user()
        for target in PRIVATE_DIRS:
            Path(target).mkdir(parents=True, exist_ok=True)        # mount points for the private copies
        self._add_namespace(self.bridge_namespace)
        run("ip", "-n", self.bridge_namespace, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.bridge_namespace, "addr", "add", f"{CLIENT_ADDRESS}/24", "dev", "br0")
        run("ip", "-n", self.bridge_namespace, "link", "set", "br0", "up")
        hosts = "127.0.0.1 localhost\n" + "".join(f"{SUBNET}.{k} h{k}\n" for k in range(1, 10))
        for host in self.hosts:
            port = f"h{host.index}"
            self._add_namespace(host.namespace)
            run("ip", "-n", host.namespace, "link", "add", GUEST_BRIDGE, "type", "bridge")
            run("ip", "-n", host.namespace, "link", "add", "eth0", "type", "veth",
                "peer", "name", port, "netns", self.bridge_namespace)
            run("ip", "-n", host.namespace, "link", "set", "eth0", "master", GUEST_BRIDGE)
            run("ip", "-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", GUEST_BRIDGE)
            for link in ("eth0", GUEST_BRIDGE):
                run("ip", "-n", host.namespace, "link", "set", link, "up")
            run("ip", "-n", self.bridge_namespace, "link", "set", port, "master", "br0")
            run("ip", "-n", self.bridge_namespace, "link", "set", port, "up")
            host.write_config(hosts)
        for host in self.hosts:          # together: each spends seconds probing qemu's capabilities
            host.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for host in self.hosts:
            host.wait_started(deadline)

    def _add_namespace(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self._namespaces.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def fetch(self, url: str, timeout_s: float = 1.0) -> str | None:
        """GET `url` from the bridge namespace (SUBNET.254) with curl: the body, or None."""
        try:
            done = subprocess.run(["ip", "netns", "exec", self.bridge_namespace, "curl", "-sf", "--max-time",
                                   str(timeout_s), url],
                                  capture_output=True, text=True, timeout=timeout_s + COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None
        return done.stdout if done.returncode == 0 else None

    def logs(self) -> str:
        return "\n".join(host.log_tail() for host in self.hosts)

    def close(self) -> None:
        """Stop the libvirtds (SIGTERM, bounded), kill whatever else runs in the namespaces, delete them."""
        running = [host.process for host in self.hosts if host.process is not None and host.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=STOP_TIMEOUT_S)
        for name in reversed(self._namespaces):
            with contextlib.suppress(Exception):
                kill_namespace(name)            # the qemus libvirtd leaves running, and anything else
        self._namespaces.clear()


def ensure_qemu_user() -> None:
    """The user and groups libvirt's qemu driver expects (as tests/system/libvirtd.sh makes them)."""
    if subprocess.run(["getent", "group", "libvirt-qemu"], capture_output=True).returncode != 0:
        run("groupadd", "-r", "libvirt-qemu")
    if subprocess.run(["getent", "passwd", "libvirt-qemu"], capture_output=True).returncode != 0:
        run("useradd", "-r", "-g", "libvirt-qemu", "-d", "/var/lib/libvirt", "-s", "/usr/sbin/nologin", "libvirt-qemu")
    if subprocess.run(["getent", "group", "kvm"], capture_output=True).returncode != 0:
        run("groupadd", "-r", "kvm")


def remove_stale_namespaces() -> None:
    """Namespaces of this harness whose pytest process is gone, and the processes still in them."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        owner = name[len(PREFIX):].split("x")[0]
        if not (name.startswith(PREFIX) and owner.isdigit()) or Path(f"/proc/{owner}").exists():
            continue
        kill_namespace(name)
