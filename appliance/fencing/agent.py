"""Running a fence agent (Debian's fence-agents: fence_ipmilan, fence_virsh, fence_redfish, ...) the way
Pacemaker's fencer does: its options as `key=value` lines on stdin, one action per run.

Rules:
- An agent is named `fence_<word>` and found only in the fence agents' directory (no path from a user).
- The device's parameters go to the agent as they are, except Pacemaker's own `pcmk_*` options, which are the
  fencer's (which hosts a device fences, delays, retries) and never the agent's. `action` and the target's
  plug (`port`, or the agent's `plug`, or `pcmk_host_argument`) are set here; a value holding a line break
  or NUL is refused (it would add a key of its own).
- Exit codes are fence-agents': 0 done (for `status`/`monitor`: on / device reachable), 2 for `status` means
  off, anything else failed; the agent's last output line is the reason. A run that outlives its timeout is
  killed with its process group (guest/agents/process.py).
- Parameters are checked against the agent's metadata (unknown or missing required ones named), as for
  resource agents.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from guest.agents.metadata import AgentMetadata, MetadataError, parse_metadata
from guest.agents.process import Completed, ProcessRunner

FENCE_AGENT_DIR = Path("/usr/sbin")
AGENT_NAME = re.compile(r"fence_[A-Za-z0-9_]+")
EC_OK, EC_STATUS_OFF = 0, 2
MAX_INPUT_BYTES = 64 * 1024
METADATA_TIMEOUT_S = 20.0
# The fencer's options (Pacemaker 2.1.5's stonith-ng): kept from the agent.
PCMK_OPTIONS = frozenset({
    "pcmk_host_argument", "pcmk_host_map", "pcmk_host_list", "pcmk_host_check", "pcmk_delay_max",
    "pcmk_delay_base", "pcmk_action_limit", "pcmk_reboot_action", "pcmk_reboot_timeout", "pcmk_reboot_retries",
    "pcmk_off_action", "pcmk_off_timeout", "pcmk_off_retries", "pcmk_on_action", "pcmk_on_timeout",
    "pcmk_on_retries", "pcmk_list_action", "pcmk_list_timeout", "pcmk_list_retries", "pcmk_monitor_action",
    "pcmk_monitor_timeout", "pcmk_monitor_retries", "pcmk_status_action", "pcmk_status_timeout",
    "pcmk_status_retries", "priority"})
# Parameters every fence agent takes from the fencer (fence-agents' "all_opt" set that Pacemaker passes).
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")     # fence-agents' logging.Formatter
_SET_BY_FENCER = frozenset({"action", "port", "plug", "nodename"})


class FenceAgentError(ValueError):
    """A fence agent that cannot be used as named or configured; the message names the agent and the cause."""


class FenceAgentMissing(FenceAgentError):
    """No such fence agent on this host."""


class Power(enum.Enum):
    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class FenceResult:
    action: str
    ok: bool
    reason: str = ""
    power: Power | None = None          # what `status` found
    exit_code: int | None = None
    duration_ms: int = 0
    output: str = ""                    # what `list` printed

    def to_json(self) -> dict:
        return {"action": self.action, "ok": self.ok, "reason": self.reason,
                "power": self.power.value if self.power else None, "exit_code": self.exit_code,
                "duration_ms": self.duration_ms, "output": self.output}

    @classmethod
    def from_json(cls, data: dict) -> FenceResult:
        power = data.get("power")
        code = data.get("exit_code")
        return cls(str(data["action"]), bool(data["ok"]), str(data.get("reason", "")),
                   Power(power) if power else None, int(code) if code is not None else None,
                   int(data.get("duration_ms", 0)), str(data.get("output", ""))[:MAX_INPUT_BYTES])


def agent_path(agent: str, directory: Path = FENCE_AGENT_DIR) -> Path:
    if not AGENT_NAME.fullmatch(agent):
        raise FenceAgentError(f"invalid fence agent name {agent!r}: expected fence_NAME (e.g. fence_ipmilan)")
    path = directory / agent
    if not path.is_file():
        raise FenceAgentMissing(f"fence agent {agent} not found in {directory} (is fence-agents installed?)")
    return path


def fencer_option(name: str) -> bool:
    """Whether `name` is the fencer's (Pacemaker's pcmk_* and priority), never the agent's."""
    return name.startswith("pcmk_") or name in PCMK_OPTIONS


def agent_input(params: Mapping[str, str], action: str, plug: str | None = None) -> bytes:
    """The stdin of one run: the device's parameters without the fencer's own, `action`, and the plug."""
    options = {name: value for name, value in params.items()
               if not fencer_option(name) and name not in _SET_BY_FENCER}
    options["action"] = action
    if plug is not None:
        options[params.get("pcmk_host_argument", "port")] = plug
    lines = []
    for name, value in options.items():
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise FenceAgentError(f"invalid fence parameter name {name!r}")
        if any(character in value for character in "\n\r\0"):
            raise FenceAgentError(f"fence parameter {name} holds a line break or NUL; refused")
        lines.append(f"{name}={value}\n")
    data = "".join(lines).encode()
    if len(data) > MAX_INPUT_BYTES:
        raise FenceAgentError(f"fence parameters of {len(data)} bytes are over {MAX_INPUT_BYTES}")
    return data


def check_params(metadata: AgentMetadata, params: Mapping[str, str]) -> None:
    """Unknown parameters and missing required ones, named (the fencer's pcmk_* options are always known)."""
    known = {p.name for p in metadata.parameters}
    unknown = sorted(name for name in params if name not in known and not fencer_option(name))
    if unknown:
        raise FenceAgentError(f"{metadata.name} has no parameter {', '.join(unknown)} (its parameters: "
                              f"{', '.join(sorted(known - _SET_BY_FENCER))})")
    missing = sorted(p.name for p in metadata.parameters
                     if p.required and p.name not in _SET_BY_FENCER and p.name not in params)
    if missing:
        raise FenceAgentError(f"{metadata.name} needs {', '.join(missing)}")


class FenceAgents:
    """The fence agents of this host, run through one ProcessRunner (killed with the daemon's others)."""

    def __init__(self, runner: ProcessRunner, directory: Path = FENCE_AGENT_DIR,
                 environment: Mapping[str, str] | None = None):
        self.runner, self.directory = runner, directory
        self.environment = dict(environment or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        self._metadata: dict[str, AgentMetadata] = {}

    async def metadata(self, agent: str) -> AgentMetadata:
        if agent not in self._metadata:
            path = agent_path(agent, self.directory)
            completed = await self.runner.run([str(path)], self.environment, METADATA_TIMEOUT_S,
                                              stdin=b"action=metadata\n")
            if completed.exit_code != EC_OK:
                raise FenceAgentError(f"{agent} metadata failed: {_reason(completed)}")
            try:
                self._metadata[agent] = parse_metadata(completed.output, agent)
            except MetadataError as error:
                raise FenceAgentError(str(error)) from None
        return self._metadata[agent]

    async def run(self, agent: str, params: Mapping[str, str], action: str, timeout_s: float,
                  plug: str | None = None) -> FenceResult:
        """One action (on, off, reboot, status, monitor, list) on the device; never raises for the device's
        own failure (that is a result), only for an agent that cannot be run as configured."""
        path = agent_path(agent, self.directory)
        completed = await self.runner.run([str(path)], self.environment, timeout_s,
                                          stdin=agent_input(params, action, plug))
        code = completed.exit_code
        if action == "status" and code in (EC_OK, EC_STATUS_OFF):
            power = Power.ON if code == EC_OK else Power.OFF
            return FenceResult(action, True, power=power, exit_code=code, duration_ms=completed.duration_ms)
        if code == EC_OK:
            output = completed.output if action == "list" else ""
            return FenceResult(action, True, exit_code=code, duration_ms=completed.duration_ms, output=output)
        return FenceResult(action, False, _reason(completed, timeout_s), exit_code=code,
                           duration_ms=completed.duration_ms)


def _reason(completed: Completed, timeout_s: float | None = None) -> str:
    if completed.spawn_error:
        return completed.spawn_error
    if completed.timed_out:
        return f"timed out after {timeout_s:g}s" if timeout_s is not None else "timed out"
    lines = [line.strip() for line in completed.output.splitlines()
             if line.strip() and "DeprecationWarning" not in line and not line.startswith("  from ")]
    said = _LOG_PREFIX.sub("", lines[-1]) if lines else "no output"
    how = f"exit code {completed.exit_code}" if completed.exit_code is not None else f"signal {completed.signal}"
    return f"{said} ({how})"
