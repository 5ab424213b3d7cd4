"""Operation requests and results, in Pacemaker's vocabulary.

A result keeps the execution status (did the agent run to completion?) apart
from the agent's return code (what it said), as Pacemaker's executor does: a
timed-out monitor is exec_status "timeout" whatever rc the killed agent had.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class ExecStatus(enum.StrEnum):
    DONE = "done"  # the agent ran to completion; rc says what it reported
    CANCELLED = "cancelled"  # a recurring operation was cancelled
    TIMEOUT = "timeout"  # killed after its timeout
    NOT_SUPPORTED = "not-supported"  # the class has no such action
    ERROR = "error"  # could not be run (exec failure, killed by a signal)
    NOT_INSTALLED = "not-installed"  # agent, init script or unit not found
    INVALID = "invalid"  # the request itself was malformed


class OcfRc(enum.IntEnum):
    OK = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191


STANDARDS = ("ocf", "lsb", "systemd", "service")
ACTIONS = ("start", "stop", "monitor", "promote", "demote", "notify", "reload", "reload-agent",
           "migrate_to", "migrate_from", "meta-data", "validate-all", "status")


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class AgentSpec:
    """Which agent: `ocf:heartbeat:Dummy`, `lsb:ssh`, `systemd:httpd`."""

    standard: str
    type: str
    provider: str = ""

    def __str__(self) -> str:
        return f"{self.standard}:{self.provider}:{self.type}" if self.provider else f"{self.standard}:{self.type}"


@dataclass(frozen=True)
class Operation:
    """One operation on one resource; interval_ms > 0 makes it recurring (a monitor)."""

    resource: str
    agent: AgentSpec
    action: str
    interval_ms: int = 0
    timeout_ms: int = 20_000
    params: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "meta", _frozen(self.meta))

    @property
    def key(self) -> str:
        """Pacemaker's operation key: RESOURCE_ACTION_INTERVAL."""
        return f"{self.resource}_{self.action}_{self.interval_ms}"

    @property
    def is_probe(self) -> bool:
        return self.action == "monitor" and self.interval_ms == 0


@dataclass(frozen=True)
class OpResult:
    exec_status: ExecStatus
    rc: int
    output: str = ""  # the agent's stdout and stderr, tail-truncated
    exit_reason: str = ""  # from ocf_exit_reason, when the agent gave one
    started: float = 0.0  # wall-clock time
    duration_ms: int = 0

    def same_outcome(self, other: OpResult | None) -> bool:
        return other is not None and (self.exec_status, self.rc) == (other.exec_status, other.rc)

    def to_dict(self) -> dict[str, Any]:
        return {"exec_status": self.exec_status.value, "rc": self.rc, "output": self.output,
                "exit_reason": self.exit_reason, "started": self.started, "duration_ms": self.duration_ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpResult:
        return cls(ExecStatus(data["exec_status"]), int(data["rc"]), str(data.get("output", "")),
                   str(data.get("exit_reason", "")), float(data.get("started", 0.0)),
                   int(data.get("duration_ms", 0)))


def failed(status: ExecStatus, reason: str, rc: int = OcfRc.ERR_GENERIC) -> OpResult:
    """A result for an operation that did not run to completion."""
    return OpResult(status, int(rc), exit_reason=reason)
