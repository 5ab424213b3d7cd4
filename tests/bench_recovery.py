"""`make bench` (recovery part): how long from a failure to the service running again.

Two measurements on the walk-through (real drover-guest on 127.0.0.1, VM on
libvirt's test:///default driver, webserver = ocf:heartbeat:Dummy, monitors
every 1s), each repeated and reported as the median:

- failed monitor -> running again: the web server's state file is removed
  (what a crash looks like to Dummy); time until the restarted agent recreates it;
- VM destroyed -> guest resources running again: the domain is destroyed
  through libvirt (and the web server's state with it, as a real VM's would
  go); time until the webserver runs in guest1 again (the VM is
  restarted, the connection re-established, the resources started again).

Pacemaker beside it runs in bench_vm_recovery.py (as root: a one-node corosync +
pacemakerd cluster and a real micro-VM running pacemaker-remoted, against the same
micro-VM running drover-guest); this part needs no root and no VM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import libvirt

from tests.appliance_harness import NODE, Appliance, wait_for
from tests.guestd import GuestDaemon

REPEAT = 5


def in_place(appliance: Appliance) -> bool:
    placement = appliance.placement()
    return placement.get("webserver") == [("guest1", "Started")] and placement.get("vm-guest1") == [(NODE, "Started")]


async def measure(base: Path) -> tuple[list[float], list[float]]:
    guest = GuestDaemon(base / "guest1").start()
    os.environ["HA_RSCTMP"] = str(base)
    appliance = Appliance(base, guest)
    appliance.walkthrough(monitor="1s")
    appliance.start_in_process()
    state_file = guest.base / "Dummy-webserver.state"
    monitor_times, vm_times = [], []
    try:
        await wait_for(lambda: in_place(appliance), 60, "walk-through")
        for _ in range(REPEAT):
            await asyncio.sleep(1.5)
            began = time.monotonic()
            state_file.unlink()
            await wait_for(lambda: state_file.exists(), 60, "webserver restarted")
            monitor_times.append(time.monotonic() - began)
        for _ in range(REPEAT):
            await wait_for(lambda: in_place(appliance), 60, "settled")
            await asyncio.sleep(1.5)
            began = time.monotonic()
            connection = libvirt.open("test:///default")
            connection.lookupByName(appliance.domain).destroy()
            connection.close()
            state_file.unlink()              # the guest's services die with its VM
            await wait_for(lambda: state_file.exists(), 60, "webserver back in guest1")
            vm_times.append(time.monotonic() - began)
    finally:
        await appliance.stop_in_process()
        guest.stop()
    return monitor_times, vm_times


def main() -> int:
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="drover-bench-") as scratch:
        monitor_times, vm_times = asyncio.run(measure(Path(scratch)))
    print(f"{'recovery, test:///default VM (median of ' + str(REPEAT) + ')':<50} {'drover s':>9}")
    print(f"{'failed monitor -> webserver running again':<50} {statistics.median(monitor_times):>9.2f}")
    print(f"{'VM destroyed -> guest resources running again':<50} {statistics.median(vm_times):>9.2f}")
    print("monitor interval 1s; the VM's destruction is seen through libvirt's lifecycle event; Pacemaker beside "
          "drover on a real micro-VM: bench_vm_recovery (root)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
