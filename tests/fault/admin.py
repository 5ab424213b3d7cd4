"""An admin changing the configuration while the fault cases kill things: each subclass's `step` picks one
pcs-style command; `_run` records what an acknowledged command made true, and what was refused."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from appliance.model.resources import Primitive, primitives
from tests.appliance_harness import Appliance


class AdminDriver:
    def __init__(self, appliance: Appliance, logs: Path, rng: random.Random):
        self.appliance, self.logs, self.rng = appliance, logs, rng
        self.expected: dict[str, dict] = {}        # resource -> what the acknowledged commands made of it
        self.acknowledged = 0
        self.refused: list[str] = []
        self.stop = threading.Event()

    def step(self) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        """Between two commands (none by default)."""

    def _run(self, after: dict | None, name: str, *args: str) -> None:
        result = self.appliance.drover(*args, check=False)
        if result.returncode != 0:
            self.refused.append(f"drover {' '.join(args)}: {result.stderr.strip()}")
            return
        self.acknowledged += 1
        if after is None:
            self.expected.pop(name, None)
        else:
            self.expected[name] = after

    def run(self) -> None:
        while not self.stop.is_set():
            self.step()
            self.pause()


def configured(appliance: Appliance) -> dict[str, Primitive]:
    return {p.id: p for p in primitives(appliance.cib().configuration.resources)}


def enabled(primitive: Primitive) -> bool:
    return (primitive.meta.get("target-role") or "Started") != "Stopped"
