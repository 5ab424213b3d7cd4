"""`make bench` (real-VM part): drover beside Pacemaker on the same micro-VM, as root.

Both stacks manage the same thing: a micro-VM (Debian's cloud kernel, a busybox initramfs; TCG under
libvirt's qemu driver) as guest node guest1 on a host bridge, with ocf:heartbeat:Dummy as the web server
inside it, monitors every second. In the guest runs drover-guest for drover and Debian's pacemaker-remoted
for Pacemaker (corosync + pacemakerd on this machine, a one-node cluster). Measured, median of a few runs:

- failed monitor -> running again: the web server's state is removed on the host node (a Dummy on node1);
- VM destroyed -> its web server running again: `virsh destroy`, then the cluster must notice, restart the
  VM, reconnect to the guest and start the web server in it again (the VM's boot dominates).

It needs root, qemu-system-x86, libvirtd (tests/system/libvirtd.sh), corosync and pacemaker, and leaves
no cluster behind; it refuses to run where a Pacemaker cluster is already configured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import libvirt

from guest.common import authkey
from tests import microvm
from tests.appliance_harness import Appliance
from tests.bench_guest import pacemaker_remoted
from tests.conftest import BUILD, TOP

REPEAT = 3
BRIDGE, HOST_ADDRESS, GUEST_ADDRESS = "drvbench0", "192.168.123.1", "192.168.123.2"
PCMK_CIB = Path("/var/lib/pacemaker/cib")


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(0.1)


def timed_recoveries(healthy: Callable[[], bool], fail: Callable[[], None], timeout: float) -> list[float]:
    times = []
    for _ in range(REPEAT):
        wait(healthy, timeout, "healthy before the failure")
        time.sleep(2)
        began = time.monotonic()
        fail()
        deadline = began + 10
        while healthy() and time.monotonic() < deadline:     # until the failure is seen (or it was instant)
            time.sleep(0.05)
        wait(healthy, timeout, "recovered")
        times.append(time.monotonic() - began)
    return times


def destroy(name: str) -> Callable[[], None]:
    def run() -> None:
        connection = libvirt.open("qemu:///system")
        try:
            connection.lookupByName(name).destroy()
        finally:
            connection.close()
    return run


def bench_drover(base: Path, vmlinuz: Path, modules: Path) -> tuple[list[float], list[float]]:
    guest = microvm.VmGuest(base)
    initrd = microvm.initramfs(base / "initrd.gz", BUILD / "drover-guest.dist", modules, guest.key_path,
                               "[remote]\nport = 3121\n", address=GUEST_ADDRESS, gateway=HOST_ADDRESS)
    name = "drover-bench-guest1"
    appliance = Appliance(base, guest)
    appliance.vm_xml.write_text(microvm.domain_xml(name, vmlinuz, initrd, base / "console.log", bridge=BRIDGE))
    appliance.drover("resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=qemu:///system",
                     f"config={appliance.vm_xml}", "op", "stop", "timeout=15s", "op", "monitor", "interval=1s",
                     "meta", "remote-node=guest1", f"remote-addr={GUEST_ADDRESS}", "remote-connect-timeout=120s")
    appliance.drover("resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor", "interval=1s")
    appliance.drover("constraint", "location", "webserver", "prefers", "guest1")
    state = base / "local.state"
    appliance.drover("resource", "create", "local", "ocf:heartbeat:Dummy", f"state={state}", "op", "monitor",
                     "interval=1s")
    appliance.drover("constraint", "location", "local", "avoids", "guest1")
    appliance.start_process([str(BUILD / "drover.dist/drover")])

    def web_in_guest() -> bool:
        try:
            status = json.loads(appliance.drover("status", "--output-as=json").stdout)
        except (AssertionError, ValueError):
            return False
        return any(m["id"] == "webserver" and m["nodes"] == ["guest1"] and not m["failed"]
                   for r in status["resources"] for m in r["members"])
    try:
        monitor = timed_recoveries(state.exists, state.unlink, 60)
        vm = timed_recoveries(web_in_guest, destroy(name), 300)
    finally:
        appliance.kill_process()
        microvm.remove_domain(name)
    return monitor, vm


def _crm(*args: str, check: bool = True) -> str:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def bench_pacemaker(base: Path, vmlinuz: Path, modules: Path) -> tuple[list[float], list[float]]:
    conf = base / "corosync.conf"
    conf.write_text("totem {\n version: 2\n cluster_name: bench\n transport: knet\n crypto_cipher: none\n"
                    " crypto_hash: none\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  name: node1\n"
                    "  nodeid: 1\n }\n}\nquorum {\n provider: corosync_votequorum\n}\n")
    key = Path("/etc/pacemaker/authkey")
    created_key = not key.exists()
    if created_key:
        authkey.generate(key)
    logs = open(base / "pacemaker.log", "wb")       # noqa: SIM115 (closed in finally)
    corosync = subprocess.Popen(["corosync", "-f", "-c", str(conf)], stdout=logs, stderr=logs)
    time.sleep(2)
    pacemakerd = subprocess.Popen(["pacemakerd", "-f"], stdout=logs, stderr=logs,
                                  env=dict(os.environ, PCMK_logfile=str(base / "pacemaker.detail.log")))
    name = "pcmk-bench-guest1"
    try:
        wait(lambda: "Current DC: node1" in _crm("crm_mon", "-1", check=False), 120, "Pacemaker DC elected")
        _crm("crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false")
        initrd = microvm.initramfs(base / "initrd.gz", None, modules, key, "",
                                   pacemaker_remoted=pacemaker_remoted(BUILD / "bench"), address=GUEST_ADDRESS,
                                   gateway=HOST_ADDRESS)
        vm_xml = base / "vm.xml"
        vm_xml.write_text(microvm.domain_xml(name, vmlinuz, initrd, base / "console.log", bridge=BRIDGE))
        state = base / "local.state"
        _crm("cibadmin", "-C", "-o", "resources", "-X", f"""
<primitive id="vm-guest1" class="ocf" provider="heartbeat" type="VirtualDomain">
 <instance_attributes id="vm-ia"><nvpair id="vm-hv" name="hypervisor" value="qemu:///system"/>
  <nvpair id="vm-cfg" name="config" value="{vm_xml}"/></instance_attributes>
 <meta_attributes id="vm-meta"><nvpair id="vm-rn" name="remote-node" value="guest1"/>
  <nvpair id="vm-ra" name="remote-addr" value="{GUEST_ADDRESS}"/>
  <nvpair id="vm-rct" name="remote-connect-timeout" value="120s"/></meta_attributes>
 <operations><op id="vm-mon" name="monitor" interval="1s" timeout="30s"/>
  <op id="vm-stop" name="stop" interval="0" timeout="15s"/></operations>
</primitive>""")
        _crm("cibadmin", "-C", "-o", "resources", "-X", """<primitive id="webserver" class="ocf"
 provider="heartbeat" type="Dummy"><operations><op id="web-mon" name="monitor" interval="1s"/></operations>
</primitive>""")
        _crm("cibadmin", "-C", "-o", "resources", "-X", f"""<primitive id="local" class="ocf"
 provider="heartbeat" type="Dummy"><instance_attributes id="local-ia"><nvpair id="local-state" name="state"
 value="{state}"/></instance_attributes><operations><op id="local-mon" name="monitor" interval="1s"/></operations>
</primitive>""")
        _crm("cibadmin", "-C", "-o", "constraints", "-X",
             '<rsc_location id="web-on-guest1" rsc="webserver" node="guest1" score="INFINITY"/>')
        _crm("cibadmin", "-C", "-o", "constraints", "-X",
             '<rsc_location id="local-off-guest1" rsc="local" node="guest1" score="-INFINITY"/>')

        def web_in_guest() -> bool:
            out = _crm("crm_mon", "-1", "--output-as=xml", check=False)
            try:
                found = ET.fromstring(out).find("resources/resource[@id='webserver']")
            except ET.ParseError:
                return False
            return found is not None and found.get("role") == "Started" and found.get("failed") == "false" and \
                [n.get("name") for n in found.findall("node")] == ["guest1"]
        monitor = timed_recoveries(state.exists, state.unlink, 60)
        vm = timed_recoveries(web_in_guest, destroy(name), 300)
    finally:
        pacemakerd.send_signal(signal.SIGTERM)
        try:
            pacemakerd.wait(60)
        except subprocess.TimeoutExpired:
            pacemakerd.kill()
        corosync.send_signal(signal.SIGTERM)
        corosync.wait(30)
        logs.close()
        microvm.remove_domain(name)
        for path in PCMK_CIB.glob("cib*"):
            path.unlink()
        if created_key:
            key.unlink()
    return monitor, vm


def main() -> int:
    if os.geteuid() != 0:
        print("bench_vm_recovery: needs root (libvirtd, a bridge, a Pacemaker cluster); skipped")
        return 0
    running = subprocess.run(["corosync-cfgtool", "-s"], capture_output=True).returncode == 0
    if any(PCMK_CIB.glob("cib*.xml")) or running:
        print("bench_vm_recovery: a Pacemaker cluster is configured or running here; not touching it")
        return 0
    subprocess.run([str(TOP / "tests/system/libvirtd.sh")], check=True)
    libvirt.registerErrorHandler(lambda _context, _error: None, None)
    created_bridge = subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode != 0
    if created_bridge:
        subprocess.run(["ip", "link", "add", "name", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{HOST_ADDRESS}/24", "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    results = {}
    try:
        for label, bench in (("drover", bench_drover), ("pacemaker", bench_pacemaker)):
            with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as scratch:
                os.chmod(scratch, 0o755)
                results[label] = bench(Path(scratch), vmlinuz, modules)
    finally:
        if created_bridge:
            subprocess.run(["ip", "link", "delete", BRIDGE], check=False)
    print(f"{'recovery, micro-VM guest node (median of ' + str(REPEAT) + ')':<50} {'drover s':>9} {'pacemaker s':>12} "
          f"{'ratio':>6}")
    for index, label in enumerate(("failed monitor -> running again (on node1)",
                                   "VM destroyed -> web server running in it again")):
        ours, theirs = statistics.median(results["drover"][index]), statistics.median(results["pacemaker"][index])
        print(f"{label:<50} {ours:>9.2f} {theirs:>12.2f} {theirs / ours:>5.1f}x")
    print("ratio = Pacemaker time / drover time; monitors every 1s; the VM boots under TCG (no KVM here)")
    for label in ("drover", "pacemaker"):
        monitor, vm = (" ".join(f"{t:.2f}" for t in times) for times in results[label])
        print(f"  {label}: failed monitor {monitor}; VM destroyed {vm}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(TOP))
    shutil.which("corosync") or sys.exit("bench_vm_recovery: corosync is not installed")
    sys.exit(main())
