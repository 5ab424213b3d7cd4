"""The controller's window on the world: every side effect it may cause goes through an `Env`.

Rules: the engine imports no adapter. State is read and changed through
`read`/`edit_status` (atomic, durable), operations run through a node's
`NodeExecutor` (None while the node cannot be reached: a guest not
connected), time comes from `now`. env_real.py wires the real parts (SQLite,
libvirt, local agents, TLS links to guests); tests may wire others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from appliance.model.cluster import Cib
from appliance.model.status import Status
from guest.agents.results import Operation, OpResult

Listener = Callable[[Operation, OpResult], None]


class NodeExecutor(Protocol):
    async def execute(self, operation: Operation) -> OpResult:
        """Run one operation once and return its result (never raises for agent failures)."""

    async def start_recurring(self, operation: Operation, listener: Listener) -> OpResult:
        """Register a recurring monitor; returns its first result, later changes go to listener."""

    async def cancel_recurring(self, resource: str, action: str, interval_ms: int) -> None:
        """Stop a recurring operation (no error if it is not running)."""


class Env(Protocol):
    local_node: str

    def now(self) -> float:
        """Wall-clock time, epoch seconds."""

    def read(self) -> Cib:
        """The current configuration and status."""

    def edit_status(self, edit: Callable[[Status], Status]) -> None:
        """Apply a pure status edit in one durable transaction (held in memory, and seen by read, while the
        disk refuses writes)."""

    def in_charge(self) -> bool:
        """May this controller act now? (Always on a lone host; in a cluster only on the DC.)"""

    def membership(self, status: Status) -> Status:
        """`status` with the cluster hosts' node states as this host's membership has them."""

    async def durable(self) -> None:
        """Returns once every status edit made so far is recorded where a successor controller will read it."""

    def writable(self) -> bool:
        """Do status edits reach the disk now? False while some are held: start nothing new."""

    def executor(self, node: str) -> NodeExecutor | None:
        """Where operations on `node` run; None while it cannot be reached."""

    def save_input(self, cib: Cib) -> None:
        """Keep a scheduler input for `drover simulate` replay (bounded)."""

    def still_running(self, node: str, token: str) -> bool:
        """Is an agent started by an earlier controller (its operation token) still running on node?"""

    async def fence(self, target: str, action: str, delay_s: float = 0.0) -> bool:
        """Fence `target` (a cluster host) with the configured devices, from a host other than it, waiting
        `delay_s` (priority-fencing-delay) first; True once it is done and recorded (the target down, nothing
        running there)."""

    async def resource_deleted(self, runnable_agent: str, params: dict[str, str]) -> None:
        """A stopped orphan is gone for good (VirtualDomain may undefine its domain)."""
