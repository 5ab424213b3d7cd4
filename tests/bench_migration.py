"""`make bench` (live migration part): the downtime of a guest's service while drover's VirtualDomain migrates
its micro-VM live between two libvirtds, each in its own network namespace (tests/libvirt_pair.py).

The guest of tests/test_live_migration.py serves its boot id and a counter over HTTP; a client polls it every
50 ms from the bridge while the agent runs Pacemaker's sequence (migrate_to on the source, migrate_from on the
target, stop on the source), back and forth MIGRATIONS times. Printed per migration and as medians: the time
migrate_to took, qemu's own downtime (libvirt's job statistics) and the longest gap between two answers the
client saw. Every migration must keep the guest's boot (the same boot id, its counter never going back).

No Pacemaker figure: its VirtualDomain runs `virsh migrate --live` into the same libvirt migration, so the
downtime is qemu's either way; drover's part is the time around it, in migrate_to.

Needs root, libvirtd, qemu-system-x86 and Debian's cloud kernel (build/microvm); leaves nothing running.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import libvirt

from tests import microvm
from tests.conftest import BUILD
from tests.libvirt_pair import LibvirtPair
from tests.test_live_migration import (
    BOOT_TIMEOUT_S,
    Guest,
    Poller,
    agent_run,
    domain_config,
    domain_on,
    guest_initrd,
    state,
)

MIGRATIONS = 4


def boot(pair: LibvirtPair, base: Path) -> Guest:
    vmlinuz, modules = microvm.kernel(BUILD / "microvm")
    initrd = guest_initrd(base / "initrd.gz", modules)
    name = f"drover-bench-migration-{pair.tag}"
    guest = Guest(name, domain_config(base, name, vmlinuz, initrd), base / "console.log")
    result = agent_run(pair[0], "start", guest)
    if result.rc != 0:
        raise SystemExit(f"bench_migration: the guest did not start: {result}\n{pair.logs()}")
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while state(pair) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_migration: the guest did not serve within {BOOT_TIMEOUT_S}s")
        time.sleep(0.5)
    return guest


def migrate(pair: LibvirtPair, guest: Guest, source_index: int) -> dict[str, float]:
    source, target = pair[source_index], pair[1 - source_index]
    meta = {"migrate_source": source.name, "migrate_target": target.name}
    before = state(pair)
    with Poller(pair) as poller:
        time.sleep(0.5)
        migrated = agent_run(source, "migrate_to", guest, meta)
        arrived = agent_run(target, "migrate_from", guest, meta)
        stopped = agent_run(source, "stop", guest)
        time.sleep(1.0)
    if (migrated.rc, arrived.rc, stopped.rc) != (0, 0, 0):
        raise SystemExit(f"bench_migration: {source.name} -> {target.name} failed: {migrated} {arrived} {stopped}")
    after = state(pair)
    if before is None or after is None or after[0] != before[0] or after[1] <= before[1]:
        raise SystemExit(f"bench_migration: the guest did not keep running ({before} -> {after})")
    stats = domain_on(target, guest.name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    return {"migrate_to_s": migrated.duration_ms / 1000, "qemu_downtime_ms": float(stats.get("downtime", -1)),
            "service_gap_s": poller.longest_gap_s()}


def main() -> int:
    if os.geteuid() != 0:
        print("bench_migration: needs root (network namespaces, libvirtd); skipped", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="drover-bench-migration-") as temp, LibvirtPair(Path(temp)) as pair:
        guest = boot(pair, Path(temp))
        runs = [migrate(pair, guest, n % 2) for n in range(MIGRATIONS)]
        agent_run(pair[MIGRATIONS % 2], "stop", guest)
    print(f"{'live migration of a micro-VM (TCG), ' + str(MIGRATIONS) + ' back and forth':<52} "
          f"{'median':>8} {'max':>8}")
    for key, label in (("migrate_to_s", "migrate_to (s)"), ("qemu_downtime_ms", "qemu's downtime (ms)"),
                       ("service_gap_s", "longest gap in the guest's service (s)")):
        values = [run[key] for run in runs]
        print(f"{'  ' + label:<52} {statistics.median(values):>8.2f} {max(values):>8.2f}")
    print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
