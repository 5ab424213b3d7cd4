"""A directory of Pacemaker-named tools (crm_attribute, crm_mon, ...) for the agents a daemon runs.

Rules: the tools are small scripts that run this program's `tool NAME`
command; they live in the daemon's run directory, never in /usr/sbin, so a
Pacemaker installation is left alone; agents find them first on PATH and as
HA_SBIN_DIR (where resource-agents look for crm_attribute and crm_master).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

TOOLS = ("crm_mon", "crm_attribute", "crm_master", "crm_resource", "attrd_updater", "crm_node", "crm_ticket")


def install(directory: Path, command: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    prefix = " ".join(shlex.quote(part) for part in command)
    for tool in TOOLS:
        target = directory / tool
        temporary = directory / f".{tool}.tmp"
        temporary.write_text(f"#!/bin/sh\n# drover's {tool} (generated)\nexec {prefix} tool {tool} \"$@\"\n")
        temporary.chmod(0o755)
        os.replace(temporary, target)
    return directory


def agent_environment(base: Mapping[str, str], directory: Path) -> dict[str, str]:
    environment = dict(base)
    environment["PATH"] = f"{directory}:{environment.get('PATH') or '/usr/sbin:/usr/bin:/sbin:/bin'}"
    environment["HA_SBIN_DIR"] = str(directory)
    return environment
