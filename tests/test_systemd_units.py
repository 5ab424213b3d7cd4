"""The shipped drover-guest.service under a real systemd as PID 1, in a micro-VM the host's `drover daemon` boots.

The guest image (tests/microvm_systemd.py) runs the host's systemd as /init with the drover-guest RPM unpacked
into it as shipped; systemd starts the package's unit (Type=notify must reach active), the host connects and
starts ocf:drover-test:sleeper in guest1, whose start leaves a `sleep` daemon behind. A check script, run as a
unit, then proves inside the guest: the daemon is in drover-guest.service's cgroup and survives `systemctl
restart`, `systemctl stop` and starting a conflicting pacemaker_remote.service (a stand-in), which stops
drover-guest (KillMode=process); the daemon comes back active each time and the host reconnects (a monitor
after each); `systemctl show` says KillMode=process, TasksMax=infinity. It prints its findings on the serial
console between markers; the host asserts them, and that the resource is still Started in guest1 and was
started once (the agent's own log and the host's history).

Needs what tests/test_system.py needs (qemu-system-x86, libvirtd, Debian's cloud kernel in build/microvm, root)
plus the host's systemd binaries (/usr/lib/systemd/systemd, systemctl, Debian 12's 252) and `make build rpm`
(the RPM in dist/ is what runs in the guest). About 30 s with TCG.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from guest.common.version import VERSION
from tests import microvm, microvm_systemd
from tests.appliance_harness import Appliance, wait_for_sync
from tests.conftest import BUILD, DIST, built_binary
from tests.guestd import free_port
from tests.test_system import libvirtd  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.system, pytest.mark.artifacts, pytest.mark.timeout(600)]
RESOURCE = "keeper"
CHECKS_TIMEOUT_S = 480
UNIT_PATH = "/usr/lib/systemd/system/drover-guest.service"


def guest_rpm() -> Path:
    path = DIST / f"drover-guest-{VERSION}-1.x86_64.rpm"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make rpm`")
    return path


def packaged_sha256(rpm: Path, path: str) -> str:
    """The digest the package records for `path` (rpm --dump: path size mtime digest ...)."""
    dump = subprocess.run(["rpm", "-qp", "--dump", str(rpm)], capture_output=True, text=True, check=True).stdout
    return next(line.split()[3] for line in dump.splitlines() if line.split()[0] == path)


def test_the_shipped_unit_under_systemd_keeps_resources_across_restart_stop_and_conflict(tmp_path: Path,
                                                                                          libvirtd):  # noqa: F811
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    rpm = guest_rpm()
    port = free_port()
    guest = microvm.VmGuest(tmp_path, port)
    guest.ocf_root = tmp_path / "ocf"              # the host's catalog knows the test's agent too
    microvm_systemd.write_agent(guest.ocf_root)
    initrd = microvm_systemd.initramfs(tmp_path / "initrd.gz", rpm, modules, guest.key_path, RESOURCE)
    console = tmp_path / "console.log"
    name = f"drover-units-{port}"
    appliance = Appliance(tmp_path, guest)
    appliance.vm_xml.write_text(microvm_systemd.domain_xml(name, vmlinuz, initrd, console, port))
    appliance.drover("resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=qemu:///system",
                     f"config={appliance.vm_xml}", "op", "stop", "timeout=15s", "op", "monitor", "interval=5s",
                     "meta", "remote-node=guest1", "remote-addr=127.0.0.1", f"remote-port={port}",
                     "remote-connect-timeout=180s")
    appliance.drover("resource", "create", RESOURCE,
                     f"ocf:{microvm_systemd.AGENT_PROVIDER}:{microvm_systemd.AGENT_TYPE}",
                     "op", "monitor", "interval=5s")
    appliance.drover("constraint", "location", RESOURCE, "prefers", "guest1")
    appliance.drover("constraint", "location", RESOURCE, "avoids", "node1")
    appliance.start_process([str(built_binary("drover"))])
    began = time.monotonic()
    diagnostics = lambda: (appliance.log()[-4000:] + "\n--- console ---\n"  # noqa: E731
                           + _read(console)[-6000:])
    try:
        # the start as the host recorded it, before the checks restart anything (they first wait for a monitor)
        done = lambda: [(op.call_id, op.rc_code) for op in appliance.ops(RESOURCE, "guest1", "start")  # noqa: E731
                        if op.op_status == 0]
        wait_for_sync(done, CHECKS_TIMEOUT_S, f"{RESOURCE} started in guest1", diagnostics)
        first_start = done()
        wait_for_sync(lambda: microvm_systemd.CHECK_END in _read(console), CHECKS_TIMEOUT_S,
                      "the unit checks finished in the guest", diagnostics)
        print(f"boot, start and unit checks: {time.monotonic() - began:.1f}s")
        found = microvm_systemd.findings(_read(console))
        pid = found.get("pid", "?")
        in_unit = "0::/system.slice/drover-guest.service"
        expected = {
            # 1. systemd started the package's unit, Type=notify reached active, the host started the resource
            "started": "yes", "monitor_before": "yes", "active_at_boot": "active", "Type": "notify",
            "unit_sha256": packaged_sha256(rpm, UNIT_PATH),
            "main_exe": "/usr/lib64/drover-guest/drover-guest",
            # 2. the agent's daemon runs in the unit's cgroup and survives restart and stop; the daemon comes back
            "alive_at_start": "yes", "cgroup_at_start": in_unit,
            "restart_rc": "0", "active_after_restart": "active", "alive_after_restart": "yes",
            "cgroup_after_restart": in_unit, "monitor_after_restart": "yes",
            "stop_rc": "0", "active_after_stop": "inactive", "alive_after_stop": "yes",
            "alive_after_stop_2s": "yes", "cgroup_after_stop": in_unit,
            "start_rc": "0", "active_after_start": "active", "alive_after_start": "yes", "monitor_after_start": "yes",
            # 3. the settings as systemd read them, and Conflicts=pacemaker_remote.service
            "KillMode": "process", "TasksMax": "infinity",
            "conflict_rc": "0", "pacemaker_remote": "active", "drover_when_pacemaker_remote_started": "inactive",
            "active_after_conflict": "inactive",
            "alive_after_conflict": "yes",
            "start_again_rc": "0", "active_after_start_again": "active", "monitor_after_start_again": "yes",
            "alive_at_end": "yes", "agent_starts": "1", "agent_stops": "0",
        }
        actual = {key: found.get(key, "(missing)").split(" after=")[0] for key in expected}
        assert actual == expected, "\n".join(f"{k}={v}" for k, v in found.items())
        assert found["main_pid_after_restart"] not in ("0", found["main_pid_before"])   # a new daemon
        assert found["FragmentPath"].endswith("/lib/systemd/system/drover-guest.service")
        assert pid.isdigit()

        # the host: reconnected after each clean stop, never lost guest1, resource still Started, started once
        wait_for_sync(lambda: appliance.placement().get(RESOURCE) == [("guest1", "Started")], 60,
                      f"{RESOURCE} Started in guest1", diagnostics)
        log = appliance.log()
        assert log.count("guest1: drover-guest is back; its resources were left as they were") >= 3, log[-4000:]
        assert "connection to guest1 lost" not in log and "did not come back" not in log
        assert [rc for _, rc in first_start] == [0], first_start
        assert done() == first_start             # its last start is still that call: never started again
        assert appliance.ops(RESOURCE, "guest1", "stop") == []
        assert {op.rc_code for op in appliance.ops(RESOURCE, "guest1", "monitor")} == {0}
        assert appliance.cib().status.fail_counts == ()
        assert [op.rc_code for op in appliance.ops("vm-guest1", "node1", "start")] == [0]   # no VM recovery
    finally:
        appliance.kill_process()
        microvm.remove_domain(name)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
