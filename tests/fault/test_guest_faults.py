"""A guest that dies, freezes or drops off the network: the controller's decision, the time it takes to
notice and to recover, and `drover status` telling the truth meanwhile.

`drover daemon` runs as a process with the walk-through (vm-guest1 on test:///default, guest1 a real
drover-guest, webserver in it). The VM is modelled as a VM behaves: when the controller stops or resets
vm-guest1, the guest daemon inside dies with it; when vm-guest1 starts, a fresh guest daemon boots 5 s
later. A status sampler runs `drover status` every half second throughout. Truth: once the controller has logged
that guest1 is reset, and until a new guest daemon is up, no sample may show guest1 online or the web
server started there. Default timings are kept (connection monitor every 30 s, ping answered within 10 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from tests.appliance_harness import NODE, Appliance, wait_for_sync
from tests.conftest import MODULES
from tests.fault.figures import record
from tests.guestd import GuestDaemon

pytestmark = pytest.mark.timeout(420)
RESET_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*guest1 is reset:", re.M)
BOOT_S = 5.0                      # a small VM's boot, until its guest daemon listens


@dataclass
class Sample:
    at: float
    guest_online: bool
    webserver_in_guest: bool


@dataclass
class GuestVm:
    """vm-guest1 as the guest daemon inside it sees it: reset and stop kill it, start boots a new one."""

    appliance: Appliance
    guest: GuestDaemon
    boots: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _last(self, action: str) -> int:
        return max((op.call_id for op in self.appliance.ops("vm-guest1", NODE, action) if op.op_status == 0),
                   default=0)

    def run(self) -> None:
        seen = {"stop": self._last("stop"), "start": self._last("start")}
        while not self.stop.wait(0.1):
            with contextlib.suppress(Exception):          # the state may be mid-write: look again
                now = {"stop": self._last("stop"), "start": self._last("start")}
                if now != seen:
                    kill_guest(self.guest)
                    if now["start"] > now["stop"]:
                        time.sleep(BOOT_S)
                        self.guest.start()
                        self.boots.append(time.monotonic())
                    seen = now


@dataclass
class StatusSampler:
    appliance: Appliance
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.5):
            result = self.appliance.drover("status", "--output-as=json", check=False)
            if result.returncode != 0:
                continue
            status = json.loads(result.stdout)
            online = any(node["name"] == "guest1" and node["state"] == "online" for node in status["nodes"])
            web = any(member["id"] == "webserver" and member["role"] == "Started" and "guest1" in member["nodes"]
                      for resource in status["resources"] for member in resource["members"])
            self.samples.append(Sample(time.monotonic(), online, web))


def kill_guest(guest: GuestDaemon) -> None:
    if guest.process is not None and guest.process.poll() is None:
        guest.process.kill()
        guest.process.wait(10)


def in_place(appliance: Appliance) -> bool:
    placement = appliance.placement()
    return placement.get("webserver") == [("guest1", "Started")] and placement.get("vm-guest1") == [(NODE, "Started")]


def vm_starts(appliance: Appliance) -> int:
    """The call id of vm-guest1's last start: it changes with each start (and only then)."""
    return max((op.call_id for op in appliance.ops("vm-guest1", NODE, "start")), default=0)


@dataclass
class Outage:
    detected_s: float | None         # fault -> the controller logged guest1 is reset
    recovered_s: float | None        # fault -> status shows the web server in the guest again
    false_claims: int                # samples claiming guest1 up while it truly was not (after detection)
    samples: int
    vm_resets: int


class GuestRig:
    """The walk-through running under `drover daemon`, the modelled VM and the status sampler."""

    def __init__(self, base: Path, guest: GuestDaemon):
        self.guest = guest
        self.appliance = Appliance(base, guest)
        self.vm = GuestVm(self.appliance, guest)
        self.sampler = StatusSampler(self.appliance)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.appliance.walkthrough()
        self.appliance.start_process()
        wait_for_sync(lambda: in_place(self.appliance), 60, "walk-through in place", self.appliance.log)
        for worker in (self.vm, self.sampler):
            thread = threading.Thread(target=worker.run, daemon=True, name=type(worker).__name__)
            thread.start()
            self.threads.append(thread)

    def close(self) -> None:
        self.vm.stop.set()
        self.sampler.stop.set()
        for thread in self.threads:
            thread.join(30)
        if self.guest.process is not None and self.guest.process.poll() is None:
            os.kill(self.guest.process.pid, signal.SIGCONT)
        kill_guest(self.guest)
        self.appliance.kill_process(signal.SIGTERM)

    def outage(self, fault, restore=None, recover_within: float = 120) -> Outage:
        """Inject `fault`, call `restore(detected)` once the controller noticed (or at once if it need not),
        wait for the walk-through to be in place again and measure it."""
        log_before = len(self.appliance.log())
        began_wall, began = time.time(), time.monotonic()
        fault()
        detected = self._wait_detected(log_before, began_wall, began)
        if restore is not None:
            restore(detected)
        wait_for_sync(lambda: in_place(self.appliance) and self.vm.boots and self.vm.boots[-1] > began,
                      recover_within, "guest1 and the web server back", self.appliance.log)
        booted = next(b for b in self.vm.boots if b > began)
        recovered = next((s.at for s in self.sampler.samples if s.at > booted and s.webserver_in_guest
                          and s.guest_online), time.monotonic()) - began
        window = [s for s in self.sampler.samples if detected is not None and began + detected + 1 < s.at < booted]
        false_claims = sum(1 for s in window if s.guest_online or s.webserver_in_guest)
        return Outage(detected, recovered, false_claims, len(window), sum(1 for b in self.vm.boots if b > began))

    def _wait_detected(self, log_before: int, began_wall: float, began: float) -> float | None:
        def noticed() -> bool:
            return RESET_LINE.search(self.appliance.log()[log_before:]) is not None
        wait_for_sync(noticed, 90, "the controller noticing guest1 is gone", self.appliance.log)
        stamp = RESET_LINE.search(self.appliance.log()[log_before:]).group(1)
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        return max(at - began_wall, 0.0)


@pytest.fixture
def rig(tmp_path: Path):
    guest = GuestDaemon(tmp_path / "guest1").start()
    rig = GuestRig(tmp_path, guest)
    try:
        rig.start()
        yield rig
    finally:
        rig.close()


def summarize(outages: list[Outage]) -> str:
    detected = [o.detected_s for o in outages if o.detected_s is not None]
    recovered = [o.recovered_s for o in outages if o.recovered_s is not None]
    return (f"noticed in {statistics.median(detected):.1f}s, back in {statistics.median(recovered):.1f}s (median); "
            f"VM reset {sum(o.vm_resets for o in outages)}x; status truthful in "
            f"{sum(o.samples - o.false_claims for o in outages)}/{sum(o.samples for o in outages)} samples")


def assert_recovered_truthfully(outages: list[Outage]) -> None:
    for outage in outages:
        assert outage.false_claims == 0, outage
        assert outage.vm_resets == 1, outage                 # the guest is reset once, as Pacemaker fences it


def test_kill_9_of_the_guest_daemon_resets_its_vm_and_brings_the_web_server_back(rig: GuestRig):
    outages = [rig.outage(lambda: kill_guest(rig.guest)) for _ in range(3)]
    good = [o for o in outages if o.false_claims == 0 and o.vm_resets == 1]
    record("kill -9 of drover-guest daemon", len(outages), len(good), len(outages) - len(good), summarize(outages))
    assert_recovered_truthfully(outages)
    assert all(o.detected_s < 5 for o in outages)             # the link's close is noticed, not waited for


def test_a_guest_frozen_for_60s_is_reset_and_one_frozen_briefly_is_left_alone(rig: GuestRig):
    resets = vm_starts(rig.appliance)
    pid = rig.guest.process.pid
    os.kill(pid, signal.SIGSTOP)
    rig.appliance.drover("resource", "refresh", "webserver")  # its re-probe in guest1 waits for the freeze
    time.sleep(5)                                              # frozen shorter than a request may wait: load
    os.kill(pid, signal.SIGCONT)
    wait_for_sync(lambda: any(op.interval_ms == 0 and op.op_status == 0
                              for op in rig.appliance.ops("webserver", "guest1", "monitor")),
                  30, "the re-probe answered after the thaw", rig.appliance.log)
    brief_left_alone = vm_starts(rig.appliance) == resets and in_place(rig.appliance) \
        and "guest1 is reset" not in rig.appliance.log()
    frozen = rig.guest.process

    def thaw_after_60s(_detected) -> None:
        threading.Timer(max(60 - (time.monotonic() - froze_at), 0),
                        lambda: frozen.poll() is None and os.kill(frozen.pid, signal.SIGCONT)).start()

    froze_at = time.monotonic()
    outage = rig.outage(lambda: os.kill(frozen.pid, signal.SIGSTOP), thaw_after_60s)
    record("SIGSTOP of drover-guest daemon for 5s, then SIGCONT", 1, int(brief_left_alone), int(not brief_left_alone),
           "no reset, nothing restarted" if brief_left_alone else "reset for a brief freeze")
    record("SIGSTOP of drover-guest daemon, SIGCONT due after 60s", 1, int(outage.false_claims == 0),
           int(outage.false_claims != 0), summarize([outage]))
    assert brief_left_alone, rig.appliance.log()[-3000:]
    assert_recovered_truthfully([outage])
    assert outage.detected_s <= 30 + 10 + 5                    # one connection monitor interval plus its ping


# -- 3121 traffic dropped: the guest daemon in a network namespace behind a veth pair -------------------------

HOST_ADDR, GUEST_ADDR = "10.213.0.1", "10.213.0.2"


def ip(*args: str, namespace: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns_guest(tmp_path: Path):
    namespace = f"drover-fault-{os.getpid()}"
    host_if, guest_if = f"dh{os.getpid() % 100000}", f"dg{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
    ip("netns", "add", namespace)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", guest_if)
        ip("link", "set", guest_if, "netns", namespace)
        ip("addr", "add", f"{HOST_ADDR}/24", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("addr", "add", f"{GUEST_ADDR}/24", "dev", guest_if, namespace=namespace)
        ip("link", "set", guest_if, "up", namespace=namespace)
        ip("link", "set", "lo", "up", namespace=namespace)
        command = ["ip", "netns", "exec", namespace, sys.executable, "-m", MODULES["drover-guest"]]
        guest = GuestDaemon(tmp_path / "guest1", command=command, address=GUEST_ADDR).start()
        rig = GuestRig(tmp_path, guest)
        try:
            rig.start()
            yield rig, lambda up: ip("link", "set", guest_if, "up" if up else "down", namespace=namespace)
        finally:
            rig.close()
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)


def test_a_guest_whose_3121_traffic_is_dropped_is_reset_and_reconnected_when_the_network_returns(netns_guest):
    rig, link = netns_guest
    outage = rig.outage(lambda: link(False), lambda _detected: (time.sleep(5), link(True)))
    record("3121 traffic to the guest dropped (veth down), back after detection", 1, int(outage.false_claims == 0),
           int(outage.false_claims != 0), summarize([outage]))
    assert_recovered_truthfully([outage])
    assert outage.detected_s <= 30 + 10 + 5
