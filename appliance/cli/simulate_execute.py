"""crm_simulate's execution of a transition for `drover simulate --op-fail`: the graph run as Pacemaker's
executor runs it, each result recorded in the status, an action named by --op-fail failing and aborting the
rest (pure).

Rules: as Pacemaker 2.1.5's pcmk__execute_graph over crm_simulate's simulated executor. The graph is
simulate_graph.synapses (the graph `--save-graph` writes, in its order). A synapse fires once every input
completed successfully; completion is immediate, so each pass fires, in graph order, everything whose inputs are
done by then. Every fired action's result is recorded as the executor records it (engine/records.py), with the
result the action expects (a probe: not running; a monitor of the Promoted role: running promoted). An action an
--op-fail spec names (RESOURCE_TASK_INTERVAL@NODE=RC; an anonymous clone instance with or without its number)
gets the spec's code, its fail count goes up by one (as crm_simulate injects it, none for a probe's "not
running") and the graph aborts: nothing not yet fired runs. Fencing takes a host out of the membership and
clears its history and transient attributes; a guest node's fencing is a pseudo event that changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from appliance.cli.simulate_graph import GraphNames, Synapse, history_id, synapses
from appliance.cli.simulate_inject import counts_as_failure, failcount_lines
from appliance.engine import records
from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib
from appliance.model.history import base_id
from appliance.model.resources import AgentRef, Primitive
from appliance.model.status import NodeState, Status, pacemaker_digest
from appliance.scheduler.schedule import Transition
from appliance.scheduler.unpack import unpack
from guest.agents.results import ExecStatus, OpResult
from guest.common.errors import UserError

_SPEC = re.compile(r"([^@]+_[^_@]+_\d+)@([^=]+)=(-?\d+)")


@dataclass(frozen=True)
class Execution:
    cib: Cib                      # the input with every executed action's result recorded
    lines: tuple[str, ...]        # crm_simulate's "Executing Cluster Transition" items, in execution order
    failed: bool                  # an --op-fail spec matched: the transition was aborted


def check_specs(specs: tuple[str, ...]) -> None:
    for spec in specs:
        if _SPEC.fullmatch(spec) is None:
            raise UserError(f"Invalid failed operation '{spec}' (expected RESOURCE_TASK_INTERVAL@NODE=RC, e.g. "
                            "web_start_0@node1=1)", 64)


def execute(cib: Cib, result: Transition, fail_specs: tuple[str, ...], now: int) -> Execution:
    """Run `result`'s graph on `cib` (the CIB it was computed from); `now`: epoch seconds of the results."""
    check_specs(fail_specs)
    graph = synapses(result)
    runner = _Runner(cib, result, fail_specs, now)
    done: set[int] = set()
    progressed = True
    while progressed and not runner.aborted:
        progressed = False
        for position, synapse in enumerate(graph):
            if position in done or runner.aborted or not all(i in done for i in synapse.inputs):
                continue
            progressed = True
            if runner.fire(position, synapse):
                done.add(position)
    return Execution(dataclasses.replace(cib, status=runner.status), tuple(runner.lines), runner.aborted)


class _Runner:
    def __init__(self, cib: Cib, result: Transition, fail_specs: tuple[str, ...], now: int) -> None:
        self.cib, self.result, self.now = cib, result, now
        self.fail_specs = fail_specs
        self.status: Status = cib.status
        self.lines: list[str] = []
        self.aborted = False
        self.names = GraphNames.of(cib, result)
        self.moment = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
        self.working = unpack(cib, self.moment)         # each primitive's parameters on each node

    def fire(self, position: int, synapse: Synapse) -> bool:
        """Execute one synapse; False when it failed (the graph is then aborted)."""
        if synapse.kind == "probe":
            instance, node = self.result.probes[synapse.index]
            return self._resource_action(position, instance, "monitor", 0, node, 7)
        if synapse.kind == "monitor":
            monitor = self.result.monitors[synapse.index]
            role = self._monitor_role(monitor.resource, monitor.interval_ms)
            return self._resource_action(position, monitor.resource, "monitor", monitor.interval_ms, monitor.node,
                                         records.expected_rc("monitor", monitor.interval_ms, role), role)
        action = self.result.actions[synapse.index]
        if action.task == "fence":
            self._fence(action.node, action.fence_type or "reboot")
            return True
        migration = None
        if action.task == "migrate_to":
            migration = (action.node, action.peer)
        elif action.task == "migrate_from":
            migration = (action.peer, action.node)
        return self._resource_action(position, action.resource, action.task, 0, action.node, 0,
                                     migration=migration)

    def _primitive(self, instance: str) -> Primitive | None:
        found = self.cib.configuration.resource(base_id(instance))
        return found if isinstance(found, Primitive) else None

    def _monitor_role(self, instance: str, interval_ms: int) -> str | None:
        """The role the configured monitor with that interval checks (Promoted, Stopped or any)."""
        primitive = self._primitive(instance)
        for op in primitive.ops if primitive is not None else ():
            if op.name == "monitor" and op.interval_ms == interval_ms and op.role:
                return {"Master": "Promoted", "Slave": "Unpromoted"}.get(op.role, op.role)
        return None

    def _fail_code(self, names: tuple[str, ...], task: str, interval_ms: int, node: str) -> int | None:
        for spec in self.fail_specs:
            for name in names:
                key = f"{name}_{task}_{interval_ms}@{node}=".lower()
                if spec.lower().startswith(key):
                    return int(spec[len(key):])
        return None

    def _resource_action(self, position: int, instance: str, task: str, interval_ms: int, node: str,
                         expected: int, role: str | None = None,
                         migration: tuple[str, str] | None = None) -> bool:
        name = self.names.history_name(instance, node)
        shown = f"{task}={interval_ms}" if interval_ms else task
        self.lines.append(f"Resource action: {instance:<15} {shown} on {node}")
        configured = history_id(self.cib, instance)        # an anonymous instance is also named by its primitive
        code = self._fail_code(tuple(dict.fromkeys((instance, name, configured))), task, interval_ms, node)
        primitive = self._primitive(instance)
        agent = primitive.agent if primitive is not None else AgentRef("ocf", "remote", "pacemaker")
        outcome = records.Outcome(node, name, agent, task, interval_ms,
                                  OpResult(ExecStatus.DONE, expected if code is None else code), self.now,
                                  role, migration=migration)
        if code is not None:
            self.lines.append(f"Pretending action {position} failed with rc={code}")
            if counts_as_failure(code, interval_ms):
                self.lines += failcount_lines(name, task, interval_ms, self.now, self._node_id(node))
            self.status = self._record_failure(outcome)
            self.aborted = True
            return False
        self.status = self._with_digest(records.record_result(self.status, outcome), instance, name, task,
                                        interval_ms, node)
        return True

    def _with_digest(self, status: Status, instance: str, name: str, task: str, interval_ms: int,
                     node: str) -> Status:
        """A one-time operation's record carries Pacemaker's op-digest of the parameters it ran with, as
        crm_simulate writes it, so Pacemaker (and drover) see no definition change when the result is read
        again."""
        if interval_ms or task == "stop":
            return status
        primitive = self.working.by_id.get(instance) or self.working.by_id.get(base_id(instance))
        where = self.working.node(node)
        if primitive is None or primitive.variant != "primitive" or where is None:
            return status
        entry = next(h for h in status.history if h.node == node and h.resource == name)
        record = next(op for op in entry.ops if op.id == f"{name}_last_0")
        digest = pacemaker_digest(primitive.params_on(where.attrs, self.moment))
        return records.set_extras(status, entry, record, {"op-digest": digest})

    def _record_failure(self, outcome: records.Outcome) -> Status:
        """The result as recorded, with crm_simulate's fail count: one more, whatever the operation."""
        fail_counts = self.status.fail_counts
        status = records.record_result(self.status, outcome, start_failure_is_fatal=False)
        rc, interval_ms = outcome.result.rc, outcome.interval_ms
        if counts_as_failure(rc, interval_ms) and status.fail_counts == fail_counts:
            # a result the executor does not count as a failure (a stop finding it stopped ...) still counts
            status = records.add_failure(status, outcome.node, outcome.resource, outcome.action, interval_ms,
                                         self.now, 1)
        return status

    def _node_id(self, node: str) -> str:
        state = self.status.node_state(node)
        configured = self.cib.configuration.node(node)
        return state.id if state is not None else (configured.id if configured is not None else node) or node

    def _fence(self, node: str, fence_type: str) -> None:
        if node in self.names.guests:
            self.lines.append(f"Pseudo action:   stonith-{node}-{fence_type} on {node}")
            return
        self.lines.append(f"Fencing {node} ({fence_type})")
        if fence_type == "on":
            return
        current = self.status.node_state(node)
        remote = current is not None and current.extra.get("remote_node") == "true"
        self.status = records.fence(self.status, node)
        if not remote:
            state = NodeState(node, self._node_id(node), in_ccm="false", crmd="offline", join="down",
                              expected="down", extra=current.extra if current is not None else Attributes())
            others = tuple(s for s in self.status.nodes if s.name != node)
            self.status = dataclasses.replace(self.status, nodes=(*others, state))
