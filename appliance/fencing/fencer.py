"""Fencing a node: the plan's devices run, one after another, on the hosts the plan allows; the outcome recorded.

Rules:
- One request = one FenceEvent: recorded pending before any agent runs, then done or failed, with the host that
  ran the deciding device (`delegate`), through `record` (the replicated status in a cluster, so every host
  knows the same history). A success also records the node as fenced in the same edit: a cluster host down and
  expected down, its resource history and transient attributes gone (it was powered off: nothing runs there),
  as Pacemaker's DC writes it; a remote node down, its history gone.
- Each device runs on the first allowed host that answers; a failure there (unreachable, agent missing,
  device error, timeout) tries the next allowed host, then the next device or level. A device that must be
  asked whether it fences the target (dynamic-list, status) is asked on the host that would run it.
- The random delay (pcmk_delay_base/max, plus the scheduler's priority-fencing-delay) is waited once, before
  the first fencing action of the request.
- `run_on(host, run)` does the work on a host: this host's agents, or another host's through the exec group;
  it never raises for a device's failure. Everything else here is decisions (appliance.fencing.plan).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from appliance.engine import records
from appliance.fencing import plan
from appliance.fencing.agent import FenceResult
from appliance.fencing.plan import Device, PlanError
from appliance.model.cluster import Configuration
from appliance.model.fence_history import FenceEvent, recorded
from appliance.model.status import Status

log = logging.getLogger(__name__)
ACTIONS = ("reboot", "off", "on")


@dataclass(frozen=True)
class DeviceRun:
    """One agent run a host is asked to do."""

    device: str
    agent: str
    params: Mapping[str, str]
    action: str
    plug: str | None
    timeout_s: float

    def to_json(self) -> dict:
        return {"device": self.device, "agent": self.agent, "params": dict(self.params), "action": self.action,
                "plug": self.plug, "timeout_s": self.timeout_s}

    @classmethod
    def from_json(cls, data: dict) -> DeviceRun:
        params = data["params"]
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ValueError("params must be an object of strings")
        plug = data.get("plug")
        return cls(str(data["device"]), str(data["agent"]), {str(k): v for k, v in params.items()},
                   str(data["action"]), None if plug is None else str(plug), float(data["timeout_s"]))


@dataclass
class _Attempt:
    configuration: Configuration
    status: Status
    target: str
    action: str
    members: list[str]
    delay_s: float = 0.0               # priority-fencing-delay, added to the first device's delay
    delayed: bool = False


RunOn = Callable[[str, DeviceRun], Awaitable[FenceResult]]
Record = Callable[[Callable[[Status], Status]], None]


class Fencer:
    def __init__(self, origin: str, run_on: RunOn, record: Record, now: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, draw: Callable[[], float] = random.random):
        self.origin, self.run_on, self.record, self.now = origin, run_on, record, now
        self.sleep, self.draw = sleep, draw

    async def fence(self, configuration: Configuration, status: Status, target: str, action: str,
                    members: list[str], client: str, delay_s: float = 0.0) -> FenceEvent:
        """Fence `target` (`action`: reboot, off or on) from one of `members` (the hosts that can run agents now),
        waiting `delay_s` (priority-fencing-delay) on top of the first device's own delay."""
        if action not in ACTIONS:
            raise ValueError(f"unknown fencing action {action!r}")
        event = FenceEvent(f"fence-{uuid.uuid4().hex[:12]}", target, action, "pending", self.origin, client,
                           int(self.now()))
        self.record(lambda s: dataclasses.replace(s, fencing=recorded(s.fencing, event)))
        log.warning("fencing %s (%s), asked by %s on %s", target, action, client, self.origin)
        try:
            chosen = plan.plan(configuration, status, target)
        except PlanError as error:
            return self._finish(event, configuration, False, "", "", str(error))
        reasons = [f"fencing level names {d}, which is not configured" for d in chosen.missing]
        attempt = _Attempt(configuration, status, target, action, members, delay_s=delay_s)
        tried_from = ""
        for level in chosen.levels:
            try:
                ok, delegate, reason = await self._level(level, attempt)
            except asyncio.CancelledError:       # the daemon stops: no event is left pending for ever
                self._finish(event, configuration, False, tried_from, "", "the fencer stopped before it ended")
                raise
            if ok:
                return self._finish(event, configuration, True, delegate, ",".join(d.id for d in level), "")
            tried_from = delegate or tried_from
            reasons.append(reason)
        devices = ",".join(d.id for level in chosen.levels for d in level)
        return self._finish(event, configuration, False, tried_from, devices, "; ".join(reasons))

    async def _level(self, level: tuple[Device, ...], attempt: _Attempt) -> tuple[bool, str, str]:
        delegate = ""
        for device in level:
            ok, delegate, reason = await self._device(device, attempt)
            if not ok:
                return False, delegate, reason
        return True, delegate, ""

    async def _device(self, device: Device, attempt: _Attempt) -> tuple[bool, str, str]:
        target, action = attempt.target, attempt.action
        hosts = plan.executing_hosts(attempt.configuration, attempt.status, device.id, target, attempt.members,
                                     self.origin)
        if not hosts:
            return False, "", f"{device.id}: no host that may run it is up"
        timeout_ms = plan.stonith_timeout_ms(attempt.configuration)
        reasons = []
        for host in hosts:
            able, why = await self._may_fence(host, device, target, timeout_ms)
            if able is False:
                return False, host, f"{device.id}: {why}"
            if able is None:
                reasons.append(f"{device.id} on {host}: {why}")
                continue
            if not attempt.delayed:
                attempt.delayed = True
                delay = device.delay_s(self.draw()) + attempt.delay_s
                if delay > 0:
                    log.info("fencing %s with %s: waiting %.1fs first (pcmk_delay_base/pcmk_delay_max%s)",
                             target, device.id, delay, ", priority-fencing-delay" if attempt.delay_s else "")
                    await self.sleep(delay)
            run = DeviceRun(device.id, device.agent, device.params, device.action_for(action),
                            plan.plug(device, target), device.timeout_s(action, timeout_ms))
            result = await self.run_on(host, run)
            if result.ok:
                log.warning("%s fenced (%s) by %s from %s", target, run.action, device.id, host)
                return True, host, ""
            log.error("fencing %s with %s from %s failed: %s", target, device.id, host, result.reason)
            reasons.append(f"{device.id} on {host}: {result.reason}")
        return False, hosts[-1], "; ".join(reasons)

    async def _may_fence(self, host: str, device: Device, target: str, timeout_ms: int) -> tuple[bool | None, str]:
        """True/False: the device does or does not fence target; None: it could not be asked on `host`."""
        static = plan.may_fence_statically(device, target)
        if static is not None:
            return static, "" if static else f"{target} is not in its pcmk_host_list/pcmk_host_map"
        check = device.targets.check
        asked = "list" if check == "dynamic-list" else "status"
        run = DeviceRun(device.id, device.agent, device.params, device.params.get(f"pcmk_{asked}_action") or asked,
                        plan.plug(device, target) if asked == "status" else None, device.timeout_s(asked, timeout_ms))
        result = await self.run_on(host, run)
        if not result.ok:
            return None, f"its {asked} failed: {result.reason}"
        if asked == "status":
            return True, ""
        listed = {name.strip() for line in result.output.splitlines() for name in line.split(",")[:2]}
        if target in listed or plan.plug(device, target) in listed:
            return True, ""
        return False, f"its list does not name {target}"

    def _finish(self, event: FenceEvent, configuration: Configuration, ok: bool, delegate: str, device: str,
                reason: str) -> FenceEvent:
        final = event.finished("done" if ok else "failed", int(self.now()), delegate, device, reason)
        info = configuration.node_info(event.target)
        kind = info.kind if info is not None else "cluster"

        def edit(status: Status) -> Status:
            status = dataclasses.replace(status, fencing=recorded(status.fencing, final))
            if not ok or event.action == "on":
                return status
            mark = records.host_fenced if kind == "cluster" else records.fence
            return mark(status, event.target)
        self.record(edit)
        if not ok:
            log.error("fencing %s (%s) failed: %s", event.target, event.action, reason)
        return final
