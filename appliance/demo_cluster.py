"""`make demo-cluster`: the walk-through on three hypervisors, each a network namespace of this machine.

h1, h2 and h3 are namespaces on one bridge (10.215.0.0/24), each with its own DROVER_ROOT, a real corosync
(knet, the corosync.conf and authkey `drover cluster setup` wrote on h1, copied to the others) and a `drover
daemon`; guest1 is a drover-guest in a fourth namespace (10.215.0.20), its "VM" a libvirt test:///default
domain of whichever host runs it. It ends with `drover status` on h2 showing every host and the guest, then
removes everything it made. Needs root (namespaces) and corosync (packaging/bootstrap-debian.sh installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.demo import drover, placement, stop_apache, wait_until, webserver_agent

TAG = f"drvdemo{os.getpid()}"
SUBNET = "10.215.0"
HOSTS = ("h1", "h2", "h3")
GUEST_ADDRESS = f"{SUBNET}.20"
GUEST_PORT = 3121


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise SystemExit(f"demo: {' '.join(command)} failed: {done.stderr.strip()}")


class Machine:
    def __init__(self, base: Path):
        self.base = base
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen] = []

    def network(self) -> None:
        bridge = self.namespace("br")
        run("ip", "-n", bridge, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", bridge, "link", "set", "br0", "up")
        for index, name in [*((i, h) for i, h in enumerate(HOSTS, 1)), (20, "guest1")]:
            namespace = self.namespace(name)
            run("ip", "-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", name, "netns", bridge)
            run("ip", "-n", namespace, "addr", "add", f"{SUBNET}.{index}/24", "dev", "eth0")
            run("ip", "-n", namespace, "link", "set", "eth0", "up")
            run("ip", "-n", bridge, "link", "set", name, "master", "br0")
            run("ip", "-n", bridge, "link", "set", name, "up")

    def namespace(self, name: str) -> str:
        full = f"{TAG}-{name}"
        run("ip", "netns", "add", full)
        self.namespaces.append(full)
        run("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def spawn(self, name: str, command: list[str], root: Path, **env: str) -> subprocess.Popen:
        """`command` in host `name`'s namespace with a private /run (corosync's pid file, agents' state)."""
        private_run = self.base / name / "run"
        (private_run / "resource-agents").mkdir(parents=True, exist_ok=True)    # agents' HA_RSCTMP
        log = open(self.base / name / f"{Path(command[0]).name}.log", "ab")   # noqa: SIM115 (kept by the child)
        process = subprocess.Popen(
            ["ip", "netns", "exec", f"{TAG}-{name}", "sh", "-c", 'mount --bind "$1" /run && shift && exec "$@"',
             "sh", str(private_run), *command], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            env=dict(os.environ, DROVER_ROOT=str(root), **env), start_new_session=True)
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        for namespace in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)


def main() -> int:
    if os.geteuid() != 0 or shutil.which("corosync") is None:
        raise SystemExit("demo-cluster: needs root (network namespaces) and corosync "
                         "(packaging/bootstrap-debian.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="drover-demo-cluster-") as temp:
        base = Path(temp)
        machine = Machine(base)
        try:
            machine.network()
            roots = {name: base / name / "root" for name in HOSTS}
            for name, root in roots.items():
                (root / "etc/drover").mkdir(parents=True)
                (root / "etc/drover/drover.conf").write_text(f"[cluster]\nnode_name = {name}\n")
            h1 = roots["h1"]
            print(f"demo: hosts h1 h2 h3 are namespaces on {SUBNET}.0/24 (DROVER_ROOT={base}/hN/root)", flush=True)
            drover(h1, "cluster", "setup", "demo", *(word for i, name in enumerate(HOSTS, 1)
                                                      for word in (name, f"addr={SUBNET}.{i}")))
            drover(h1, "authkey", "generate")
            for name in HOSTS[1:]:
                print(f"$ scp /etc/corosync/corosync.conf /etc/corosync/authkey /etc/pacemaker/authkey {name}:",
                      flush=True)
                for relative in ("etc/corosync/corosync.conf", "etc/corosync/authkey", "etc/pacemaker/authkey"):
                    target = roots[name] / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    data = (h1 / relative).read_bytes()
                    if relative.endswith(".conf"):       # the same /etc on real hosts: here each its own root
                        data = data.replace(str(h1).encode(), str(roots[name]).encode())
                    target.write_bytes(data)
                    target.chmod((h1 / relative).stat().st_mode & 0o777)
            for name, root in roots.items():
                (root / "var/log/corosync").mkdir(parents=True, exist_ok=True)
                machine.spawn(name, ["corosync", "-f", "-c", str(root / "etc/corosync/corosync.conf")], root)
            print("$ systemctl start corosync drover      (on h1, h2 and h3)", flush=True)
            time.sleep(1.0)
            for name, root in roots.items():
                machine.spawn(name, [sys.executable, "-m", "appliance", "daemon"], root, PYTHONPATH=os.getcwd())
            log = base / "h1" / f"{Path(sys.executable).name}.log"
            wait_until("three hosts online with a DC", lambda: _all_online(h1), log)
            # these namespaces have no BMC to fence through: say so, as a Pacemaker demo would
            print("# no fence device here (on real hosts: drover stonith create ipmi-h1 fence_ipmilan ip=... "
                  "pcmk_host_list=h1, one per host)", flush=True)
            drover(h1, "property", "set", "stonith-enabled=false")
            guest = base / "guest1" / "root"
            (guest / "etc/pacemaker").mkdir(parents=True)
            shutil.copy(h1 / "etc/pacemaker/authkey", guest / "etc/pacemaker/authkey")
            (guest / "etc/pacemaker/authkey").chmod(0o600)
            (guest / "etc/drover").mkdir(parents=True)
            (guest / "etc/drover/guest.conf").write_text(f"[remote]\nport = {GUEST_PORT}\n")
            print("$ cp /etc/pacemaker/authkey guest1:/etc/pacemaker/authkey; systemctl enable --now drover-guest",
                  flush=True)
            machine.spawn("guest1", [sys.executable, "-m", "guest", "daemon"], guest, PYTHONPATH=os.getcwd())
            vm_xml = base / "vm-guest1.xml"
            vm_xml.write_text("<domain type='test'>\n  <name>vm-guest1</name>\n  <memory unit='MiB'>256</memory>\n"
                              "  <os><type>hvm</type></os>\n</domain>\n")
            drover(roots["h2"], "resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                   f"config={vm_xml}", "meta", "remote-node=guest1", f"remote-addr={GUEST_ADDRESS}")
            wait_until("guest1 online", lambda: "guest1" in placement(h1), log)
            # guest1's Apache listens on its own 127.0.0.1 (its namespace), as in a VM
            drover(roots["h3"], "resource", "create", "webserver", *webserver_agent(guest, 8080), "op", "monitor",
                   "interval=30s")
            drover(roots["h3"], "constraint", "location", "webserver", "prefers", "guest1")
            wait_until("webserver started on guest1", lambda: placement(h1).get("webserver") == ["guest1"], log)
            drover(roots["h2"], "status")
        finally:
            machine.close()
            stop_apache(base / "guest1" / "root")
    return 0


def _all_online(root: Path) -> bool:
    status = json.loads(drover(root, "status", "--output-as=json", show=False).stdout)
    online = [n["name"] for n in status["nodes"] if n["state"] == "online"]
    return status["summary"]["current_dc"] is not None and sorted(online) == list(HOSTS)


if __name__ == "__main__":
    sys.exit(main())
