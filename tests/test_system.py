"""The system test: a real micro-VM, booted by `drover daemon` through libvirt's qemu driver (TCG), runs the built
drover-guest and becomes guest1; the web server is placed in it, and `drover status` is read on the host and, as
`drover-guest status`, inside the guest.

Needs qemu-system-x86, libvirtd (tests/system/libvirtd.sh starts one where systemd does not), Debian's cloud
kernel (downloaded into build/microvm) and `make build`. `make system-test` runs only this.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import libvirt
import pytest

from tests import microvm
from tests.appliance_harness import Appliance, wait_for_sync
from tests.conftest import BUILD, TOP, built_binary
from tests.guestd import free_port

pytestmark = [pytest.mark.system, pytest.mark.artifacts, pytest.mark.timeout(600)]
BOOT_TIMEOUT_S = 240


@pytest.fixture
def libvirtd(tmp_path: Path):
    """A libvirtd for qemu:///system: the running one, or one started for this test and stopped after it."""
    pid_file = tmp_path / "libvirtd.pid"
    started = subprocess.run([str(TOP / "tests/system/libvirtd.sh")], check=True, capture_output=True, text=True,
                             env={**os.environ, "DROVER_TEST_LIBVIRTD_PID": str(pid_file)}, timeout=60)
    yield
    if "started libvirtd" in started.stdout and pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_a_micro_vm_becomes_guest1_and_runs_the_web_server(tmp_path: Path, libvirtd):
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    port = free_port()
    guest = microvm.VmGuest(tmp_path, port)
    initrd = microvm.initramfs(tmp_path / "initrd.gz", built_binary("drover-guest").parent, modules, guest.key_path,
                               "[remote]\nport = 3121\n[log]\nlevel = info\n")
    console = tmp_path / "console.log"
    name = f"drover-system-{port}"
    appliance = Appliance(tmp_path, guest)             # node1, sharing the VM's authkey
    appliance.vm_xml.write_text(microvm.domain_xml(name, vmlinuz, initrd, console, port))
    appliance.drover("resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=qemu:///system",
                     f"config={appliance.vm_xml}", "op", "stop", "timeout=15s", "op", "monitor", "interval=5s",
                     "meta", "remote-node=guest1", "remote-addr=127.0.0.1", f"remote-port={port}",
                     "remote-connect-timeout=180s")
    appliance.drover("resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor", "interval=10s")
    appliance.drover("constraint", "location", "webserver", "prefers", "guest1")
    appliance.start_process([str(built_binary("drover"))])
    began = time.monotonic()
    try:
        wait_for_sync(lambda: appliance.placement().get("webserver") == [("guest1", "Started")], BOOT_TIMEOUT_S,
                      "webserver started in the micro-VM",
                      lambda: appliance.log()[-3000:] + "\n--- console ---\n" + _read(console)[-3000:])
        booted_in = time.monotonic() - began
        host = appliance.drover("status").stdout
        assert "  * Online: [ node1 ]\n  * GuestOnline: [ guest1 ]\n" in host
        assert "  * vm-guest1\t(ocf:heartbeat:VirtualDomain):\t Started node1" in host
        assert "  * webserver\t(ocf:heartbeat:Dummy):\t Started guest1" in host
        wait_for_sync(lambda: microvm.STATUS_END in _read(console), 60, "status printed inside the guest",
                      lambda: _read(console)[-3000:])
        inside = _read(console).split(microvm.STATUS_BEGIN, 1)[1].split(microvm.STATUS_END, 1)[0]
        assert "  * Online: [ node1 ]\n  * GuestOnline: [ guest1 ]\n" in inside
        assert "webserver\t(ocf:heartbeat:Dummy):\t Started guest1" in inside
        connection = libvirt.open("qemu:///system")
        try:
            assert connection.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_RUNNING
        finally:
            connection.close()
        print(f"micro-VM to webserver running in it: {booted_in:.1f}s")

        # Disabling the VM: the web server leaves the guest first, then the VM is asked to shut down; this
        # busybox guest ignores the ACPI request, so it is destroyed once the stop timeout (15s) less 5s is up.
        stopping = time.monotonic()
        appliance.drover("resource", "disable", "vm-guest1")
        wait_for_sync(lambda: appliance.placement().get("vm-guest1") == [] and
                      appliance.placement().get("webserver") == [("node1", "Started")], 90,
                      "VM stopped and the web server moved to node1", lambda: appliance.log()[-3000:])
        stopped_in = time.monotonic() - stopping
        assert 9 <= stopped_in < 60, stopped_in
        connection = libvirt.open("qemu:///system")
        try:
            assert connection.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        finally:
            connection.close()
        stops = [op for op in appliance.ops("webserver", "guest1") if op.operation == "stop"]
        assert stops and stops[-1].rc_code == 0            # stopped cleanly in the guest, not lost with it
    finally:
        appliance.kill_process()
        microvm.remove_domain(name)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
