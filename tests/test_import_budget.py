"""Start-up imports only what a command needs: the calls agents and monitoring make often (crm_attribute,
crm_master, crm_ticket, drover status, --version) never load libvirt, cryptography, ssl, asyncio, sqlite-utils or
the agents' catalog; --version loads no command, not even the command line parser. Checked on the modules Python
reports importing (-X importtime) for the real program, so a module-level import that slips back in fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TOP, clean_environment

HEAVY = {"libvirt", "cryptography", "ssl", "asyncio", "sqlite_utils", "guest.agents.catalog", "docopt"}
COMMAND_MODULES = {"appliance.store", "appliance.cli.state", "appliance.model.cluster", "sqlite3", *HEAVY}
CORPUS_CASE = sorted((TOP / "tests" / "scheduler" / "corpus").glob("*/cib.xml"))[0]

BUDGETS = [
    (("--version",), COMMAND_MODULES | {"appliance.cli", "guest.common.cli", "dataclasses"}),
    (("status",), HEAVY - {"docopt"}),
    (("tool", "crm_mon", "-1"), HEAVY - {"docopt"}),
    (("tool", "crm_attribute", "--name", "rack", "--query", "--default", "none", "--quiet"), HEAVY - {"docopt"}),
    (("tool", "crm_attribute", "--name", "rack", "--update", "r1", "--lifetime", "reboot"), HEAVY - {"docopt"}),
    (("tool", "crm_master", "--resource", "db", "--lifetime", "reboot", "--update", "10"), HEAVY - {"docopt"}),
    (("tool", "crm_master", "--resource", "db", "--lifetime", "reboot", "--query", "--quiet"), HEAVY - {"docopt"}),
    (("tool", "crm_ticket", "--info"), HEAVY - {"docopt"}),
    (("simulate", "--xml-file", str(CORPUS_CASE), "--output-as=json"), HEAVY - {"docopt", "sqlite_utils"}),
]


def imported(argv: tuple[str, ...], root: Path) -> set[str]:
    env = {**clean_environment(), "DROVER_ROOT": str(root), "PYTHONPATH": str(TOP)}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "appliance", *argv], capture_output=True,
                            text=True, cwd=TOP, env=env, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            names.update([*name.split(".")[:1], name])
    return names


@pytest.fixture
def state_root(root: Path) -> Path:
    env = {**clean_environment(), "DROVER_ROOT": str(root), "PYTHONPATH": str(TOP)}
    for argv in (("resource", "create", "db", "ocf:pacemaker:Stateful", "promotable"),
                 ("tool", "crm_master", "--resource", "db", "--lifetime", "reboot", "--update", "5")):
        subprocess.run([sys.executable, "-m", "appliance", *argv], check=True, capture_output=True, env=env,
                       cwd=TOP, timeout=60)
    return root


@pytest.mark.parametrize(("argv", "forbidden"), BUDGETS, ids=[" ".join(a[:3]) for a, _ in BUDGETS])
def test_a_command_imports_only_what_it_needs(argv: tuple[str, ...], forbidden: set[str], state_root: Path) -> None:
    loaded = imported(argv, state_root)
    assert "appliance" in loaded                       # the parse saw the program's own imports
    assert not loaded & forbidden, f"{' '.join(argv)} imported {sorted(loaded & forbidden)}"


def test_the_budget_check_sees_a_heavy_import(state_root: Path) -> None:
    """The same check on a command that needs the agents' catalog (resource describe) does see it."""
    assert "guest.agents.catalog" in imported(("resource", "describe", "ocf:pacemaker:Dummy"), state_root)


