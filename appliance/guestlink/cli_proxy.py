"""Commands a guest sends on behalf of its tools (`drover-guest status`, crm_attribute in an agent): run them here.

Rules: what may be asked is a fixed list (status, resource, attribute,
constraint, node, property, and the crm_* tools); nothing that names a file on
this host (cib import, simulate -x) or manages the host (daemon, authkey,
config) is reachable. The command runs as a separate `drover` process with
DROVER_ACCESS (the guest's declared policy; unknown means read-only) and
DROVER_CALLER_NODE (the node this connection belongs to, not a name the guest
chose), so the CLI's own checks decide what it may change. Output is bounded
and so is the number of commands one guest can have running at a time.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from appliance.guestlink.client import RemoteError
from guest.agents.process import ProcessRunner
from guest.common.schemas import ACCESS_POLICIES
from guest.common.selfexec import self_command
from guest.common.tooldir import TOOLS

DROVER_COMMANDS = ("status", "resource", "attribute", "constraint", "node", "property", "ticket", "tag")
MAX_ARGS = 256
MAX_ARG = 4096
OUTPUT_LIMIT = 256 * 1024          # per stream: well inside the 1 MiB frame
TIMEOUT_S = 60.0
CONCURRENT_PER_NODE = 4            # a guest cannot make the hypervisor run more commands than this at once


def validate(args: dict[str, Any]) -> tuple[str, list[str], str, dict[str, str]]:
    program, argv, policy, env = args.get("program"), args.get("argv"), args.get("policy"), args.get("env") or {}
    if program != "drover" and program not in TOOLS:
        raise RemoteError(f"'{program}' is not a command a guest may run")
    if not isinstance(argv, list) or len(argv) > MAX_ARGS or \
            not all(isinstance(a, str) and len(a) <= MAX_ARG and "\0" not in a for a in argv):
        raise RemoteError("argv must be a list of at most 256 strings")
    if program == "drover" and (not argv or argv[0] not in DROVER_COMMANDS):
        raise RemoteError(f"a guest may run: {', '.join(DROVER_COMMANDS)}")
    if program == "drover" and argv[:2] == ["cib", "import"]:
        raise RemoteError("a guest may not import files of the hypervisor")
    if not isinstance(env, dict):
        raise RemoteError("env must be an object")
    instance = env.get("OCF_RESOURCE_INSTANCE")
    passed = {"OCF_RESOURCE_INSTANCE": instance} if isinstance(instance, str) and 0 < len(instance) <= 256 else {}
    return program, argv, policy if policy in ACCESS_POLICIES else "read-only", passed


class CliProxy:
    def __init__(self, runner: ProcessRunner | None = None, root: Path = Path("/")):
        self.runner = runner or ProcessRunner()
        self.root = root          # the daemon's DROVER_ROOT: the command must see the same state
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def serve(self, node: str, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op != "cli":
            raise RemoteError(f"request '{op}' not served here")
        program, argv, policy, passed = validate(args)
        command = self_command("appliance") + (argv if program == "drover" else ["tool", program, *argv])
        environment = {k: v for k, v in os.environ.items() if k != "OCF_RESOURCE_INSTANCE"}
        environment.update(passed, DROVER_ACCESS=policy, DROVER_CALLER_NODE=node, DROVER_ROOT=str(self.root))
        slots = self._slots.setdefault(node, asyncio.Semaphore(CONCURRENT_PER_NODE))
        async with slots:
            code, out, err = await self.runner.run_captured(command, environment, TIMEOUT_S, OUTPUT_LIMIT)
        return {"rc": 1 if code is None else code, "stdout": out, "stderr": err}
