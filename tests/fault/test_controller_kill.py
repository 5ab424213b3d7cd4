"""kill -9 of `drover daemon` at seeded random moments while the configuration keeps changing.

A driver runs pcs-style commands (create, delete, disable, enable, update, cleanup) against the state while
the daemon is killed and restarted over and over; its agents (ocf:test:counted, each start takes 0 to 1 s)
log every start and stop. Afterwards: SQLite's integrity check passes, every acknowledged command is in
the configuration, no resource was started twice without a stop in between (the agents' own logs), and the
daemon converges to the configuration with nothing left to do.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.appliance_harness import NODE, Appliance, wait_for_sync
from tests.fault.admin import AdminDriver, enabled
from tests.fault.admin import configured as configured_primitives
from tests.fault.figures import record
from tests.guestd import GuestDaemon

KILLS = 100
SEED = 20261202
RESOURCES = [f"r{number}" for number in range(1, 6)]

pytestmark = pytest.mark.timeout(600)


class Driver(AdminDriver):
    """create, delete, disable/enable, update, cleanup; expected: {"enabled": bool, "start_seconds": str}."""

    def step(self) -> None:
        name = self.rng.choice(RESOURCES)
        current = self.expected.get(name)
        if current is None:
            seconds = self.rng.choice(["0", "1"])
            self._run({"enabled": True, "start_seconds": seconds}, name, "resource", "create", name,
                      "ocf:test:counted", f"log={self.logs / name}", f"start_seconds={seconds}",
                      "op", "monitor", "interval=2s")
            return
        choice = self.rng.choice(["delete", "toggle", "toggle", "update", "cleanup"])
        if choice == "delete":
            self._run(None, name, "resource", "delete", name)
        elif choice == "toggle":
            enabled = not current["enabled"]
            self._run({**current, "enabled": enabled}, name, "resource", "enable" if enabled else "disable", name)
        elif choice == "update":
            seconds = "1" if current["start_seconds"] == "0" else "0"
            self._run({**current, "start_seconds": seconds}, name, "resource", "update", name,
                      f"start_seconds={seconds}")
        else:
            self._run(current, name, "resource", "cleanup", name)


def _double_starts(log: Path) -> int:
    actions = log.read_text().split() if log.exists() else []
    return sum(1 for before, after in itertools.pairwise(actions) if before == after == "start")


def test_kill_9_at_random_moments_loses_nothing_and_runs_nothing_twice(tmp_path: Path):
    rng = random.Random(SEED)
    guest = GuestDaemon(tmp_path / "unused-guest")            # only its authkey and agent tree
    appliance = Appliance(tmp_path, guest)
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    driver = Driver(appliance, logs, random.Random(SEED + 1))
    for _ in range(3):
        driver.step()
    appliance.start_process()
    worker = threading.Thread(target=driver.run, name="admin", daemon=True)
    worker.start()
    kills = 0
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.05, 1.2))
            appliance.kill_process(signal.SIGKILL)
            kills += 1
            appliance.start_process()
    finally:
        driver.stop.set()
        worker.join(60)
    try:
        began = time.monotonic()
        divergence: list[str] = []
        wait_for_sync(lambda: _converged(appliance, driver.expected, logs, divergence), 90,
                      "converged after the last kill",
                      lambda: f"last difference: {divergence[-1:]}\n" + "\n".join(appliance.log().splitlines()[-150:]))
        converged_in = time.monotonic() - began
    finally:
        appliance.kill_process(signal.SIGTERM)

    with sqlite3.connect(appliance.state_db) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    configured = configured_primitives(appliance)
    lost = [name for name, want in driver.expected.items()
            if name not in configured or enabled(configured[name]) != want["enabled"]
            or configured[name].params.get("start_seconds") != want["start_seconds"]]
    lost += [name for name in configured if name not in driver.expected]
    doubles = sum(_double_starts(logs / name) for name in RESOURCES)
    record("kill -9 of drover daemon during changes (seeded)", kills, kills - doubles - len(lost), doubles + len(lost),
           f"{driver.acknowledged} acknowledged changes kept, 0 double starts wanted, got {doubles}; "
           f"integrity {integrity}; converged in {converged_in:.1f}s")
    assert integrity == "ok"
    assert not driver.refused, driver.refused[:5]
    assert lost == []
    assert doubles == 0, {name: (logs / name).read_text().split() for name in RESOURCES if (logs / name).exists()}


def _converged(appliance: Appliance, expected: dict[str, dict], logs: Path, divergence: list[str]) -> bool:
    """Whether the daemon has reached `expected`; if not, why not is appended to `divergence`."""
    placement = appliance.placement()
    for name in RESOURCES:
        want = expected.get(name)
        running = (logs / f"{name}.state").exists()
        wanted_running = want is not None and want["enabled"]
        if (placement.get(name) == [(NODE, "Started")] if wanted_running else not placement.get(name)) and \
                running == wanted_running:
            continue
        divergence.append(f"{name}: wanted {want}, status {placement.get(name)}, agent running {running}")
        return False
    plan = json.loads(appliance.drover("simulate", "--output-as=json").stdout)
    if plan.get("actions", []):
        divergence.append(f"still planned: {plan['actions']}")
        return False
    return True
