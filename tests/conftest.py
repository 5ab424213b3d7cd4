"""Shared test helpers: run either program from source or as a built binary, in a private root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parent.parent
BUILD = TOP / "build"
DIST = TOP / "dist"
MODULES = {"drover": "appliance", "drover-guest": "guest"}


def clean_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without anything that would steer drover (PCMK_*, DROVER_*, PYTHON*,
    NOTIFY_SOCKET), plus `overrides`."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PCMK_", "DROVER_", "PYTHON", "NOTIFY_"))}
    environment.update(overrides)
    return environment


def run_source(program: str, *args: str, root: Path | None = None, env: dict | None = None,
               python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run `program` from the source tree with the venv's Python."""
    environment = clean_environment(PYTHONPATH=str(TOP))
    if root is not None:
        environment["DROVER_ROOT"] = str(root)
    environment.update(env or {})
    return subprocess.run([sys.executable, *python_flags, "-m", MODULES[program], *args], cwd=TOP,
                          env=environment, capture_output=True, text=True, timeout=60)


def built_binary(program: str) -> Path:
    path = BUILD / f"{program}.dist" / program
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make build` (make test does it)")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty DROVER_ROOT."""
    path = tmp_path / "root"
    path.mkdir()
    return path
