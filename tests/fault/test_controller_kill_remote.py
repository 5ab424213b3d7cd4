"""kill -9 of `drover daemon` at seeded random moments while resources move between this host and a remote
node, are created, deleted, disabled, enabled and cleaned up, and the remote node is now and then reset.

The remote node is a real drover-guest process (ocf:pacemaker:remote connection); the resources are
ocf:test:placed, whose log names the node of every start and stop. A reset of the remote node is a reboot:
its daemon and agents are killed, its resource state wiped ("reset DIR" is logged for every resource), a new
daemon starts. Afterwards: integrity ok, every acknowledged change kept, no resource ever started on a node
where it already ran nor while it ran on another, and the placement converges with nothing left to do.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.agents import processes_with_argument
from tests.appliance_harness import NODE, Appliance, wait_for_sync
from tests.fault.admin import AdminDriver, enabled
from tests.fault.admin import configured as configured_primitives
from tests.fault.figures import record
from tests.guestd import GuestDaemon

KILLS = 60
RESETS_EVERY = 12                  # one remote reset per this many kills
SEED = 20261203
REMOTE = "remote1"
RESOURCES = [f"p{number}" for number in range(1, 5)]
NODES = (NODE, REMOTE)

pytestmark = pytest.mark.timeout(600)


class Driver(AdminDriver):
    """create, delete, disable/enable, move, clear, cleanup; expected: {"enabled": bool, "prefers": node}."""

    def step(self) -> None:
        name = self.rng.choice(RESOURCES)
        current = self.expected.get(name)
        if current is None:
            self._run({"enabled": True, "prefers": None}, name, "resource", "create", name, "ocf:test:placed",
                      f"log={self.logs / name}", f"start_seconds={self.rng.choice(['0', '1'])}",
                      "op", "monitor", "interval=2s")
            return
        choice = self.rng.choice(["delete", "toggle", "move", "move", "clear", "cleanup"])
        if choice == "delete":
            self._run(None, name, "resource", "delete", name)
        elif choice == "toggle":
            enabled = not current["enabled"]
            self._run({**current, "enabled": enabled}, name, "resource", "enable" if enabled else "disable", name)
        elif choice == "move":
            node = self.rng.choice(NODES)
            self._run({**current, "prefers": node}, name, "resource", "move", name, node)
        elif choice == "clear":
            self._run({**current, "prefers": None}, name, "resource", "clear", name)
        else:
            self._run(current, name, "resource", "cleanup", name)

    def pause(self) -> None:
        time.sleep(self.rng.uniform(0, 0.3))


class Remote:
    def __init__(self, base: Path, logs: Path):
        self.daemon = GuestDaemon(base / REMOTE).start()
        self.logs = logs
        self.resets = 0

    @property
    def rsctmp(self) -> str:
        return str(self.daemon.base)

    def reset(self) -> None:
        """A reboot: the daemon and its agents die, the resources' state is gone, a new daemon starts."""
        self.daemon.process.kill()
        self.daemon.process.wait(10)
        for pid in processes_with_argument("resource.d/test/placed"):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"HA_RSCTMP={self.rsctmp}".encode() in environ:
                os.kill(pid, signal.SIGKILL)
        for state in Path(self.rsctmp).glob("placed-*.state"):
            state.unlink()
        for name in RESOURCES:
            with open(self.logs / name, "a") as log:
                log.write(f"reset {self.rsctmp}\n")
        self.resets += 1
        self.daemon.start()


def violations(log: Path) -> list[str]:
    """Starts on a node where it already ran, or while it ran on another node."""
    active: set[str] = set()
    found = []
    for number, line in enumerate(log.read_text().splitlines() if log.exists() else [], 1):
        action, _, where = line.partition(" ")
        if action == "start":
            if active:
                found.append(f"{log.name}:{number} start on {where} while active on {sorted(active)}")
            active.add(where)
        else:
            active.discard(where)
    return found


def test_kill_9_with_moves_and_remote_resets_never_runs_a_resource_twice(tmp_path: Path):
    rng = random.Random(SEED)
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    remote = Remote(tmp_path, logs)
    appliance = Appliance(tmp_path, remote.daemon)
    appliance.drover("resource", "create", REMOTE, "ocf:pacemaker:remote", "server=127.0.0.1",
                     f"port={remote.daemon.port}", "reconnect_interval=2s", "op", "monitor", "interval=2s")
    node_dirs = {str(tmp_path): NODE, remote.rsctmp: REMOTE}
    driver = Driver(appliance, logs, random.Random(SEED + 1))
    for _ in range(4):
        driver.step()
    appliance.start_process()
    worker = threading.Thread(target=driver.run, name="admin", daemon=True)
    worker.start()
    kills = 0
    try:
        for number in range(1, KILLS + 1):
            time.sleep(rng.uniform(0.05, 1.5))
            appliance.kill_process(signal.SIGKILL)
            kills += 1
            if number % RESETS_EVERY == 0:
                remote.reset()
            appliance.start_process()
        driver.stop.set()
        worker.join(60)
        began = time.monotonic()
        wait_for_sync(lambda: converged(appliance, driver.expected, node_dirs), 120, "converged after the last kill",
                      appliance.log)
        converged_in = time.monotonic() - began
    finally:
        driver.stop.set()
        appliance.kill_process(signal.SIGTERM)
        remote.daemon.stop()

    with sqlite3.connect(appliance.state_db) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    configured = configured_primitives(appliance)
    lost = [name for name, want in driver.expected.items()
            if name not in configured or enabled(configured[name]) != want["enabled"]
            or preferred(appliance, name) != want["prefers"]]
    lost += [name for name in configured if name not in driver.expected and name != REMOTE]
    twice = [found for name in RESOURCES for found in violations(logs / name)]
    record("kill -9 of drover daemon with moves to a remote node and its resets", kills,
           kills - len(twice) - len(lost), len(twice) + len(lost),
           f"{driver.acknowledged} acknowledged changes kept, {remote.resets} remote resets, "
           f"{len(twice)} double/concurrent starts; integrity {integrity}; converged in {converged_in:.1f}s")
    assert integrity == "ok"
    assert not driver.refused, driver.refused[:5]
    assert lost == []
    assert twice == [], {name: (logs / name).read_text().splitlines() for name in RESOURCES if (logs / name).exists()}


def preferred(appliance: Appliance, name: str) -> str | None:
    constraints = appliance.cib().configuration.constraints
    return next((c.node for c in constraints if getattr(c, "id", "") == f"cli-prefer-{name}"), None)


def converged(appliance: Appliance, expected: dict[str, dict], node_dirs: dict[str, str]) -> bool:
    placement = appliance.placement()
    if placement.get(REMOTE) != [(NODE, "Started")]:
        return False
    running = {name: {node for directory, node in node_dirs.items()
                      if (Path(directory) / f"placed-{name}.state").exists()} for name in RESOURCES}
    for name in RESOURCES:
        want = expected.get(name)
        if want is not None and want["enabled"]:
            where = placement.get(name, [])
            if len(where) != 1 or where[0][1] != "Started" or running[name] != {where[0][0]}:
                return False
            if want["prefers"] is not None and where[0][0] != want["prefers"]:
                return False
        elif running[name] or placement.get(name):
            return False
    plan = json.loads(appliance.drover("simulate", "--output-as=json").stdout)
    return plan.get("actions", []) == []
