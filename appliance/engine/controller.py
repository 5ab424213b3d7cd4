"""The controller: snapshot, probe, schedule, execute, record, repeat, until nothing is left to do.

Rules: every round starts from the durable state (`env.read()`), so a
controller killed at any point resumes from what was recorded, and an action
whose result was recorded is never run again. A round first probes resources
on nodes that have no history of them (a new node, a new resource), then
runs the scheduler; a transition's actions run in parallel as far as its
graph allows, each result recorded as soon as it arrives; a failure stops
launching new actions (the next round replans from the recorded failure).
After each round the recurring monitors are reconciled with what is active.
Monitor changes, configuration edits and node events wake the loop; an idle
controller also wakes on a timer (failure timeouts, reconnections).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from appliance.engine import records
from appliance.engine.env import Env, NodeExecutor
from appliance.engine.reloads import ReloadSupport
from appliance.engine.resolve import (
    DEFAULT_CONNECT_TIMEOUT,
    PARAMS_KEY,
    Runnable,
    as_started,
    on_node,
    operation,
    resolve,
)
from appliance.model import fence_history
from appliance.model.cluster import Cib
from appliance.model.constraints import Location
from appliance.model.history import base_id
from appliance.model.resources import primitives
from appliance.model.status import FORCE_RESTART_EXTRA, encode_params
from appliance.model.values import is_true
from appliance.scheduler import graph
from appliance.scheduler.failures import expired_fail_counts
from appliance.scheduler.fencing_delay import configured_ms, priority_fencing_delay_ms
from appliance.scheduler.schedule import Transition, schedule
from appliance.scheduler.transition import Action
from appliance.scheduler.unpack import unpack
from guest.agents.results import ExecStatus, Operation, OpResult
from guest.common.aio import settle, within

# what leaves the resource running with the configured parameters (kept in its history)
_APPLIES_PARAMS = ("start", "migrate_from", "reload-agent", "reload")
log = logging.getLogger(__name__)
IDLE_WAKE_S = 30.0
STUCK_WAKE_S = 5.0
ORPHAN_POLL_S = 0.2           # the same transition again without progress: wait a little before retrying
CANCEL_BOUND_S = 5.0          # a cancelled transition waits this long for its actions to end


@dataclass(frozen=True)
class Registered:
    node: str
    resource: str
    interval_ms: int
    role: str


class Controller:
    def __init__(self, env: Env, idle_wake_s: float = IDLE_WAKE_S, connect_timeout: str = DEFAULT_CONNECT_TIMEOUT):
        self.env = env
        self.connect_timeout = connect_timeout
        self.idle_wake_s = idle_wake_s
        self._wake = asyncio.Event()
        self._monitors: dict[tuple[str, str, int], Registered] = {}
        self._last_signature: tuple | None = None
        self._bundles_told: set[str] = set()
        self._in_flight: set[tuple[str, str]] = set()     # (node, history id) with an operation running now
        self._recheck_at: float | None = None
        self._fence_allowed: dict[str, tuple[int, int]] = {}   # target: (epoch, failures in a row allowed)
        self._reloads = ReloadSupport()

    # -- the loop -----------------------------------------------------------------------------------------

    def poke(self) -> None:
        """Something changed: run a round soon."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                busy = await self.round()
            except Exception:
                log.exception("controller round failed; retrying")
                busy, stuck = False, True
            else:
                stuck = busy is None
            if busy:
                continue
            timeout = STUCK_WAKE_S if stuck else self.idle_wake_s
            if self._recheck_at is not None:           # a failure expires then: its resource may start again
                timeout = max(min(timeout, self._recheck_at - self.env.now()), 0.0)
            with contextlib.suppress(TimeoutError):
                await within(self._wake.wait(), timeout)

    def _without_bundles(self, cib: Cib) -> Cib:
        """Bundles are kept and simulated, but drover runs no containers: say so once, and leave them out."""
        if not cib.configuration.bundles:
            return cib
        for bundle in cib.configuration.bundles:
            if bundle.id not in self._bundles_told:
                self._bundles_told.add(bundle.id)
                log.warning("bundle %s is kept and simulated but not run: drover does not run bundle containers",
                            bundle.id)
        return cib.with_configuration(dataclasses.replace(cib.configuration, bundles=()))

    async def round(self) -> bool | None:
        """One round; True if it changed something (run another), None if it could not make progress."""
        if not self.env.writable():                 # what it would start could not be recorded
            return None
        if not self.env.in_charge():                # a cluster host that is not the DC: the DC acts
            self.forget_all()
            return None
        self.env.edit_status(self.env.membership)
        cib = self.env.read()
        if self._orphaned_operations(cib):
            await asyncio.sleep(ORPHAN_POLL_S)
            return True
        if await self._probe(cib):
            return True
        cib = self.env.read()
        now = self._naive_now()
        expired = expired_fail_counts(unpack(cib, now))
        if expired:                                  # Pacemaker's clear_failcount of expired failures
            log.info("failures expired: %s", ", ".join(f"{rsc} on {node}" for rsc, node in expired))
            self.env.edit_status(lambda s: records.clear_fail_counts(s, expired))
            cib = self.env.read()
        transition = schedule(self._without_bundles(cib), now)
        self._recheck_at = transition.recheck_at
        if transition.actions:
            signature = (transition.actions, cib.status, cib.epoch)
            if signature == self._last_signature:
                log.warning("the same transition again without progress; waiting for a change")
                await self._reconcile_monitors(self.env.read())
                return None
            self._last_signature = signature
            self.env.save_input(cib)
            log.info("transition: %s", ", ".join(f"{a.task} {a.resource or ''} on {a.node}".replace("  ", " ")
                                                  for a in transition.actions))
            await self._execute(cib, transition)
            await self._reconcile_monitors(self.env.read())
            return True
        self._last_signature = None
        await self._reconcile_monitors(cib)
        return False

    def _naive_now(self) -> datetime:
        return datetime.fromtimestamp(self.env.now(), UTC).replace(tzinfo=None)

    def _orphaned_operations(self, cib: Cib) -> bool:
        """Operations a killed controller left running: wait for them before probing, so nothing runs twice."""
        for entry in cib.status.history:
            if (entry.node, entry.resource) in self._in_flight:
                continue
            for token in records.pending_tokens(entry):
                if self.env.still_running(entry.node, token):
                    log.info("waiting for %s on %s, left running by an earlier controller", entry.resource,
                             entry.node)
                    return True
        return False

    # -- probes -------------------------------------------------------------------------------------------

    def _probe_targets(self, cib: Cib, reachable: bool = True) -> list[tuple[str, Runnable]]:
        """What to probe where: on the nodes this controller reaches now (reachable=False: on the nodes the
        scheduler counts as online that it cannot reach yet, such as a remote node not reconnected)."""
        configuration = cib.configuration
        known = {(h.node, h.resource) for h in cib.status.history
                 if not (records.has_pending(h) and (h.node, h.resource) not in self._in_flight)}
        nodes = [info for info in configuration.node_infos() if (self.env.executor(info.name) is not None) == reachable]
        if not nodes:                   # the usual case for reachable=False: no scheduler run needed for it
            return []
        working = unpack(cib)
        if not reachable:
            online = {node.name for node in working.nodes if node.online}
            nodes = [info for info in nodes if info.name in online]
        if working.options.unfencing and working.options.stonith_enabled:
            # Pacemaker probes a host only once it is unfenced: the transition unfences it first
            unfenced = {node.name for node in working.nodes if node.kind != "cluster" or node.unfenced()}
            nodes = [info for info in nodes if info.name in unfenced]
        ids = [p.id for p in working.all_primitives if not p.orphan]
        targets, seen = [], set()
        for rid in ids:
            runnable = resolve(configuration, cib.status, rid, self.connect_timeout)
            if runnable is None:
                continue
            for node in nodes:
                cluster_only = runnable.guest_node is not None or runnable.agent.is_remote_connection or \
                    runnable.agent.standard == "stonith"
                if node.kind != "cluster" and cluster_only:
                    continue           # VMs, connections and fence devices run on cluster nodes only
                key = (node.name, runnable.history_id)
                if key in known or key in seen or self._never_discover(cib, rid, node.name):
                    continue
                seen.add(key)
                targets.append((node.name, runnable))
        return targets

    @staticmethod
    def _never_discover(cib: Cib, rid: str, node: str) -> bool:
        return any(isinstance(c, Location) and c.rsc == rid and c.node == node and
                   c.resource_discovery == "never" for c in cib.configuration.constraints)

    async def _probe(self, cib: Cib) -> bool:
        targets = self._probe_targets(cib)
        if not targets:
            return False
        await asyncio.gather(*(self._run(cib, node, runnable, "monitor") for node, runnable in targets))
        return True

    # -- transitions --------------------------------------------------------------------------------------

    async def _execute(self, cib: Cib, transition: Transition) -> bool:
        actions = transition.actions
        needs = graph.predecessors(len(actions), transition.orderings)
        # as Pacemaker orders a start after the resource's probes on every online node: where a probe cannot run
        # yet (a remote node not reconnected) it may be running there, so it is not started (nor promoted) here
        unknown = {runnable.history_id: node for node, runnable in self._probe_targets(cib, reachable=False)}
        for index, action in enumerate(actions):
            where = unknown.get(base_id(action.resource or ""))
            if action.task in ("start", "promote", "migrate_to", "migrate_from") and where is not None:
                log.info("holding back %s %s on %s: its state on %s is not known yet (not reachable)",
                         action.task, action.resource, action.node, where)
                needs[index] = {-1}                  # never satisfied: it and what follows it wait
        finished: set[int] = set()
        running: dict[asyncio.Task, int] = {}
        ok = True
        try:
            while True:
                if ok and not self.env.writable():
                    log.warning("transition stopped: the state cannot be written")
                    ok = False
                if ok and not self.env.in_charge():
                    log.warning("transition stopped: this host is no longer the DC")
                    ok = False
                if ok:
                    for index in range(len(actions)):
                        launched = index in finished or index in running.values()
                        if not launched and needs[index] <= finished:
                            action = actions[index]
                            task = asyncio.create_task(self._action(cib, action),
                                                       name=f"{action.task} {action.resource or ''} on {action.node}")
                            running[task] = index
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    index = running.pop(task)
                    if task.result():
                        finished.add(index)
                    else:
                        ok = False
        finally:
            # cancelled (the daemon stops): the actions still running end with it, their records left pending
            await settle(running, CANCEL_BOUND_S, "transition cancelled")
        return ok and len(finished) == len(actions)

    async def _action(self, cib: Cib, action: Action) -> bool:
        if action.task == "fence" and action.fence_type == "on":
            return await self._unfence(action.node)
        if action.task == "fence":
            return await self._fence(cib, action.node)
        runnable = resolve(cib.configuration, cib.status, action.resource, self.connect_timeout, action.node)
        if runnable is None:
            log.error("%s %s: no such resource", action.task, action.resource)
            return False
        if action.task == "migrate_to" and self.env.executor(action.peer) is None:
            log.warning("migrate_to %s on %s: the target %s is not reachable; not migrating", action.resource,
                        action.node, action.peer)
            return False
        if action.task in ("start", "migrate_from") and not await self._probed(cib, action.node, runnable):
            return False
        role = {"promote": "Promoted", "demote": "Unpromoted"}.get(action.task)
        migration = {"migrate_to": (action.node, action.peer),
                     "migrate_from": (action.peer, action.node)}.get(action.task)
        result = await self._run(cib, action.node, runnable, action.task, role=role, migration=migration,
                                 shutdown_lock=action.shutdown_lock or None)
        if result is None:
            return False
        ok = not records.is_failure(action.task, 0, result)
        if ok and runnable.agent.is_remote_connection and action.task in ("start", "stop"):
            up = action.task == "start"
            self.env.edit_status(lambda s: records.remote_node_state(s, runnable.history_id, up))
        if ok and action.task == "stop" and runnable.history_id not in _configured_ids(self.env.read()):
            try:
                await self.env.resource_deleted(str(runnable.agent), runnable.params)
            except Exception as error:
                log.warning("cleaning up after deleted %s: %s", runnable.history_id, error)
        return ok

    async def _probed(self, cib: Cib, node: str, runnable: Runnable) -> bool:
        """Whether `runnable` may start on `node` as far as a probe there knows: as Pacemaker orders a start
        after the resource's probe on its node, a node never probed for it (a guest node that came up within
        this transition) is probed now. False (the transition ends, the next one knows more) unless the probe
        found it stopped."""
        if any(h.node == node and h.resource == runnable.history_id for h in self.env.read().status.history):
            return True
        result = await self._run(cib, node, runnable, "monitor")
        if result is None or result.exec_status != ExecStatus.DONE or result.rc != 7:
            log.warning("not starting %s on %s: its probe there found it %s", runnable.history_id, node,
                        "running" if result is not None and result.rc in (0, 8) else "unable to run there")
            return False
        return True

    async def _unfence(self, node: str) -> bool:
        """Pacemaker's unfencing: its devices turn the host's access back "on"; the host is then marked
        unfenced (#node-unfenced, a transient attribute: fencing the host again clears it)."""
        if not await self.env.fence(node, "on"):
            return False
        stamp = str(int(self.env.now()))
        self.env.edit_status(lambda s: s.with_transient(node, s.transient(node).set("#node-unfenced", stamp)))
        return True

    async def _fence(self, cib: Cib, node: str) -> bool:
        info = cib.configuration.node_info(node)
        if info is None or info.kind != "guest":     # a host or a remote node: its fence device; a guest: its VM
            if self._gave_up_fencing(cib, node):
                return False
            options = cib.configuration.cluster_options
            action = options.get("stonith-action") or "reboot"
            delay_ms = priority_fencing_delay_ms(unpack(cib, self._naive_now()), node, configured_ms(options))
            if delay_ms:
                log.warning("fencing %s waits priority-fencing-delay (%.0fs): its resources have the highest "
                            "priority and this partition is no majority", node, delay_ms / 1000)
            fenced = await self.env.fence(node, "off" if action in ("off", "poweroff") else "reboot",
                                          delay_ms / 1000)
        else:
            log.warning("%s is reset: its VM or connection is being recovered, its resources are stopped", node)
            self.env.edit_status(lambda s: records.fence(s, node))
            fenced = True
        if fenced:                                  # nothing runs there now: its monitors' results are moot
            for key in [k for k in self._monitors if k[0] == node]:
                self._monitors.pop(key, None)
        return fenced

    def _gave_up_fencing(self, cib: Cib, node: str) -> bool:
        """stonith-max-attempts failed fencings of `node` in a row: given up, as Pacemaker's DC stops starting
        transitions for it. A configuration change (a device fixed, a level added) allows one more attempt, as
        the new transition Pacemaker computes for it does; a cleaned-up history starts the count again. The count
        is read from the replicated history, so a new DC goes on counting where the old one stopped."""
        failed = fence_history.failures_in_a_row(cib.status.fencing, node)
        limit = fence_history.max_attempts(cib.configuration.cluster_options)
        epoch, allowed = self._fence_allowed.get(node, (cib.epoch, limit))
        if failed == 0:
            allowed = limit
        elif epoch != cib.epoch:
            allowed = max(limit, failed + 1)
        self._fence_allowed[node] = (cib.epoch, allowed)
        if failed < allowed:
            return False
        log.warning("Too many failures (%d) to fence %s, giving up (stonith-max-attempts=%d): it is tried again "
                    "when the configuration changes or after drover stonith history cleanup %s",
                    failed, node, limit, node)
        return True

    async def _run(self, cib: Cib, node: str, runnable: Runnable, action: str, interval_ms: int = 0,
                   role: str | None = None, migration: tuple[str, str] | None = None,
                   shutdown_lock: int | None = None) -> OpResult | None:
        """`migration`: (source, target) of a migrate_to/migrate_from, given to the agent as Pacemaker gives
        them (CRM_meta_migrate_source/target) and kept in the history (an interrupted migration is read
        from it). `shutdown_lock`: a stop that locks the resource to its node (kept in its history)."""
        executor = self.env.executor(node)
        if executor is None:
            log.warning("%s %s on %s: %s is not reachable", action, runnable.history_id, node, node)
            return None
        runnable = on_node(cib, runnable, node)       # instance attributes whose rules hold on this node
        if action == "stop":
            runnable = as_started(cib.status, runnable, node)
        op = operation(cib.configuration, runnable, action, interval_ms, role)
        if migration is not None:
            op = dataclasses.replace(op, meta={**op.meta, "migrate_source": migration[0],
                                               "migrate_target": migration[1]})
        if action == "reload-agent":                 # an agent older than OCF 1.1 has "reload" instead
            op = dataclasses.replace(op, action=await self._reloads.action(node, executor, op))
        force_restart = None
        if op.action in _APPLIES_PARAMS or (action == "monitor" and interval_ms == 0):
            force_restart = await self._reloads.restart_list(node, executor, op)
        # a monitor of the source must not see the VM leave; a reloaded one's monitors start again with the new
        # parameters
        if action in ("stop", "migrate_to", "reload-agent"):
            await self._cancel_monitors(node, runnable.history_id, executor)
        key = (node, runnable.history_id)
        if action != "monitor":
            token = uuid.uuid4().hex
            op = dataclasses.replace(op, meta={**op.meta, "drover_op": token})
            params = encode_params(runnable.params) if op.action in _APPLIES_PARAMS else None
            self.env.edit_status(lambda s: records.record_pending(s, node, runnable.history_id, runnable.agent,
                                                                  op.action, int(self.env.now()),
                                                                  runnable.container, token, params, migration))
            await self.env.durable()              # a successor must know it was in flight before it runs
        self._in_flight.add(key)
        try:
            result = await executor.execute(op)
        finally:
            self._in_flight.discard(key)
        self._record(cib, node, runnable, op, result, role, migration, force_restart, shutdown_lock)
        return result

    def _record(self, cib: Cib, node: str, runnable: Runnable, op: Operation, result: OpResult,
                role: str | None, migration: tuple[str, str] | None = None, force_restart: str | None = None,
                shutdown_lock: int | None = None) -> None:
        """`force_restart`: what the agent cannot reload (kept beside the parameters it runs with)."""
        outcome = records.Outcome(node, runnable.history_id, runnable.agent, op.action, op.interval_ms, result,
                                  int(self.env.now()), role, runnable.container, migration, shutdown_lock)
        fatal = is_true(cib.configuration.cluster_options.get("start-failure-is-fatal", "true"))
        # the parameters it runs with: what a later stop of it as an orphan needs (a probe that finds it
        # running vouches for the configured ones, as Pacemaker's probe digest does)
        found_running = op.action == "monitor" and op.interval_ms == 0 and result.exec_status == ExecStatus.DONE \
            and result.rc in (0, 8)
        params = encode_params(runnable.params) if op.action in _APPLIES_PARAMS or found_running else None

        def edit(status):
            status = records.record_result(status, outcome, fatal)
            if params is None:
                return status
            entry = next(h for h in status.history if h.node == node and h.resource == runnable.history_id)
            last = next(o for o in entry.ops if o.id.endswith("_last_0"))
            extras = {PARAMS_KEY: params} | ({FORCE_RESTART_EXTRA: force_restart} if force_restart is not None else {})
            return records.set_extras(status, entry, last, extras)
        self.env.edit_status(edit)
        if records.is_failure(op.action, op.interval_ms, result, role):
            log.warning("%s on %s failed: %s rc=%d %s", op.key, node, result.exec_status.value, result.rc,
                        result.exit_reason)
        elif not op.interval_ms:
            log.info("%s on %s: rc=%d", op.key, node, result.rc)

    # -- recurring monitors -------------------------------------------------------------------------------

    def _wanted_monitors(self, cib: Cib) -> dict[tuple[str, str, int], tuple[Runnable, str]]:
        wanted: dict[tuple[str, str, int], tuple[Runnable, str]] = {}
        for primitive in unpack(cib).all_primitives:
            if primitive.failed or not primitive.managed:
                continue
            runnable = resolve(cib.configuration, cib.status, primitive.id, self.connect_timeout)
            if runnable is None or primitive.orphan:
                continue
            role = "Unpromoted" if primitive.role == "Started" and _promotable(primitive) else primitive.role
            for node in primitive.running_on:
                for op in runnable.monitors(role):
                    wanted[(node.name, runnable.history_id, op.interval_ms)] = (runnable, role)
        return wanted

    async def _reconcile_monitors(self, cib: Cib) -> None:
        if not self.env.in_charge():
            return
        wanted = self._wanted_monitors(cib)
        for key, registered in list(self._monitors.items()):
            if key not in wanted or wanted[key][1] != registered.role:
                executor = self.env.executor(registered.node)
                if executor is not None:
                    await executor.cancel_recurring(registered.resource, "monitor", registered.interval_ms)
                self._monitors.pop(key, None)
                self.env.edit_status(lambda s, k=key: records.remove_recurring(s, k[0], k[1], k[2]))
        for key, (runnable, role) in wanted.items():
            if key in self._monitors:
                continue
            node, _, interval_ms = key
            executor = self.env.executor(node)
            if executor is None:
                continue
            op_role = role if role in ("Promoted", "Unpromoted") and role != "Started" else None
            runnable = on_node(cib, runnable, node)
            op = operation(cib.configuration, runnable, "monitor", interval_ms, op_role)
            self._monitors[key] = Registered(node, runnable.history_id, interval_ms, role)
            listener = self._listener(node, runnable, role)
            result = await executor.start_recurring(op, listener)
            self._record(self.env.read(), node, runnable, op, result, role)
            if records.is_failure("monitor", interval_ms, result, role):
                self.poke()

    def _listener(self, node: str, runnable: Runnable, role: str):
        def changed(op: Operation, result: OpResult) -> None:
            if result.exec_status == ExecStatus.CANCELLED:
                return
            if (node, runnable.history_id, op.interval_ms) not in self._monitors:
                return
            self._record(self.env.read(), node, runnable, op, result, role)
            self.poke()
        return changed

    async def _cancel_monitors(self, node: str, resource: str, executor: NodeExecutor) -> None:
        for key in [k for k in self._monitors if k[0] == node and k[1] == resource]:
            self._monitors.pop(key, None)
            await executor.cancel_recurring(resource, "monitor", key[2])

    def forget_all(self) -> None:
        """No longer in charge: whoever is registers the monitors again (their results go to it)."""
        self._monitors.clear()
        self._last_signature = None

    def forget_node(self, node: str) -> None:
        """A node's connection is gone: its monitors died with it."""
        for key in [k for k in self._monitors if k[0] == node]:
            self._monitors.pop(key, None)
        self._reloads.forget(node)


def _promotable(primitive) -> bool:
    clone = primitive.clone_parent()
    return clone is not None and clone.promotable


def _configured_ids(cib: Cib) -> set[str]:
    ids = {p.id for p in primitives(cib.configuration.resources)}
    ids |= {p.guest_node for p in primitives(cib.configuration.resources) if p.guest_node}
    return ids
