"""The controller's pure parts (graph, records, resolve) and its rounds over an in-memory Env in virtual time.

The in-memory Env stands in for RealEnv (tested for real in test_appliance.py):
its executors answer from a script, so each decision the controller makes
(probe first, recover, move after a failed start, reconcile monitors) is checked
without processes or clocks.
"""

from __future__ import annotations

import asyncio
import dataclasses

from appliance.engine import records
from appliance.engine.controller import Controller
from appliance.engine.resolve import operation, resolve
from appliance.model.attributes import Attributes
from appliance.model.cluster import Cib, Configuration
from appliance.model.constraints import Location
from appliance.model.nodes import Node
from appliance.model.resources import AgentRef, Clone, Op, Primitive
from appliance.model.status import OpRecord, ResourceHistory, Status
from appliance.model.values import INFINITY
from appliance.scheduler.schedule import schedule
from guest.agents.results import ExecStatus, OcfRc, Operation, OpResult

DUMMY = AgentRef("ocf", "Dummy", "heartbeat")
VD = AgentRef("ocf", "VirtualDomain", "heartbeat")
OK = OpResult(ExecStatus.DONE, OcfRc.OK)
NOT_RUNNING = OpResult(ExecStatus.DONE, OcfRc.NOT_RUNNING)
FAILED = OpResult(ExecStatus.DONE, OcfRc.ERR_GENERIC, exit_reason="boom")


def walkthrough_configuration() -> Configuration:
    vm = Primitive("vm-guest1", VD, Attributes.of({"config": "/vm.xml"}),
                   Attributes.of({"remote-node": "guest1", "remote-addr": "10.0.0.5", "remote-port": "3122",
                                  "remote-connect-timeout": "45s"}))
    web = Primitive("webserver", DUMMY, ops=(Op("webserver-monitor-30s", "monitor", 30000, timeout="15s"),))
    return Configuration(nodes=(Node("node1", "1"),), resources=(vm, web),
                         constraints=(Location("loc", "webserver", node="guest1", score=INFINITY),),
                         cluster_options=Attributes.of({"stonith-enabled": "false"}))


def node_up(status: Status, name: str = "node1") -> Status:
    return records.cluster_node_up(status, name, "1" if name == "node1" else "2")


def test_the_walkthrough_graph_starts_vm_then_connection_then_webserver():
    cib = Cib(walkthrough_configuration(), node_up(Status()))
    transition = schedule(cib)
    index = {(a.task, a.resource): i for i, a in enumerate(transition.actions)}
    edges = set(transition.orderings)
    assert (index[("start", "vm-guest1")], index[("start", "guest1")]) in edges
    assert (index[("start", "guest1")], index[("start", "webserver")]) in edges


def test_resolve_builds_the_implicit_connection_and_timeouts():
    configuration = walkthrough_configuration()
    connection = resolve(configuration, Status(), "guest1")
    assert connection.agent.is_remote_connection and connection.container == "vm-guest1"
    start = operation(configuration, connection, "start")
    assert dict(start.params) == {"server": "10.0.0.5", "port": "3122"} and start.timeout_ms == 45_000
    assert [op.interval_ms for op in connection.monitors("Started")] == [30_000]
    web = resolve(configuration, Status(), "webserver")
    assert operation(configuration, web, "monitor", 30000).timeout_ms == 15_000
    assert operation(configuration, web, "monitor", 0).timeout_ms == 15_000      # a probe takes the monitor's
    assert operation(configuration, web, "start").timeout_ms == 20_000
    vm = resolve(configuration, Status(), "vm-guest1")
    assert vm.guest_node == "guest1" and "remote-node" not in operation(configuration, vm, "start").meta


def test_a_guest_connection_without_remote_connect_timeout_takes_pacemakers_60s_or_the_configured_default():
    configuration = walkthrough_configuration()
    vm = configuration.resources[0]
    meta = {k: v for k, v in vm.meta.items if k != "remote-connect-timeout"}
    configuration = dataclasses.replace(configuration, resources=(dataclasses.replace(vm, meta=Attributes.of(meta)),
                                                                  *configuration.resources[1:]))
    assert operation(configuration, resolve(configuration, Status(), "guest1"), "start").timeout_ms == 60_000
    connection = resolve(configuration, Status(), "guest1", connect_timeout="2min")
    assert operation(configuration, connection, "start").timeout_ms == 120_000


def test_resolve_clone_instances_and_orphans():
    anonymous = Clone("web-clone", Primitive("web", DUMMY))
    unique = Clone("ip-clone", Primitive("ip", DUMMY), Attributes.of({"globally-unique": "true"}))
    configuration = Configuration(resources=(anonymous, unique))
    assert resolve(configuration, Status(), "web:2").history_id == "web"
    assert resolve(configuration, Status(), "ip:1").history_id == "ip:1"
    start = OpRecord("gone_last_0", "start", 0, 3, 0, 0, extra=Attributes.of({"drover-params": '{"a": "1"}'}))
    status = Status(history=(ResourceHistory("node1", "gone", DUMMY, (start,)),))
    orphan = resolve(configuration, status, "gone")
    assert orphan.params == {"a": "1"} and orphan.agent == DUMMY
    # found by the kill -9 fault run with moves: a stop's pending record replaced the start's, and a controller
    # killed during that stop left the next one to stop the deleted resource without its parameters
    stopping = records.record_pending(status, "node1", "gone", DUMMY, "stop", 200, token="t")
    assert resolve(configuration, stopping, "gone").params == {"a": "1"}
    # and a probe elsewhere that found it stopped (no parameters) is not where its parameters are looked for
    probe = OpRecord("gone_last_0", "monitor", 0, 7, 0, 0)
    probed = Status(history=(ResourceHistory("node2", "gone", DUMMY, (probe,)), *status.history))
    assert resolve(configuration, probed, "gone", node="node1").params == {"a": "1"}
    assert resolve(configuration, probed, "gone", node="node2").params == {"a": "1"}
    # a start in flight on a node where it never ran keeps the parameters it was started with
    starting = records.record_pending(Status(), "node3", "gone", DUMMY, "start", 300, token="u", params='{"b": "2"}')
    assert resolve(configuration, starting, "gone", node="node3").params == {"b": "2"}


def outcome(action, result, interval_ms=0, resource="web", node="node1", now=100):
    return records.Outcome(node, resource, DUMMY, action, interval_ms, result, now)


def test_records_keep_pacemakers_history_shape():
    status = records.record_result(Status(), outcome("monitor", NOT_RUNNING))
    status = records.record_result(status, outcome("start", OK))
    status = records.record_result(status, outcome("monitor", OK, 10000))
    status = records.record_result(status, outcome("monitor", NOT_RUNNING, 10000, now=200))
    ops = {op.id: op for op in status.history[0].ops}
    assert set(ops) == {"web_last_0", "web_monitor_10000", "web_last_failure_0"}
    assert ops["web_last_failure_0"].rc_code == 7 and ops["web_last_failure_0"].last_rc_change == 200
    assert [(f.operation, f.interval_ms, f.count) for f in status.fail_counts] == [("monitor", 10000, 1)]
    status = records.record_result(status, outcome("stop", OK))
    ops = {op.id: op for op in status.history[0].ops}
    assert set(ops) == {"web_last_0", "web_last_failure_0"}          # the cancelled monitor is gone
    assert [op.call_id for op in sorted(ops.values(), key=lambda o: o.call_id)] == [4, 5]


def test_a_failed_start_is_fatal_unless_configured_otherwise():
    fatal = records.record_result(Status(), outcome("start", FAILED))
    assert fatal.fail_counts[0].count == INFINITY
    mild = records.record_result(Status(), outcome("start", FAILED), start_failure_is_fatal=False)
    assert mild.fail_counts[0].count == 1
    timed_out = records.record_result(Status(), outcome("stop", OpResult(ExecStatus.TIMEOUT, 1)))
    assert timed_out.history[0].ops[-1].op_status == 2                # Pacemaker's PCMK_EXEC_TIMEOUT


def test_probes_finding_a_resource_are_not_failures():
    for rc in (OcfRc.OK, OcfRc.NOT_RUNNING, OcfRc.RUNNING_PROMOTED):
        assert not records.is_failure("monitor", 0, OpResult(ExecStatus.DONE, rc))
    assert records.is_failure("monitor", 0, FAILED)
    assert not records.is_failure("monitor", 5000, OpResult(ExecStatus.DONE, 8), "Promoted")
    assert records.is_failure("monitor", 5000, OK, "Promoted")


def test_fencing_a_guest_erases_its_history_only():
    status = records.record_result(Status(), outcome("start", OK, node="guest1"))
    status = records.record_result(status, outcome("start", OK, resource="vm"))
    status = records.fence(status, "guest1")
    assert [(h.node, h.resource) for h in status.history] == [("node1", "vm")]


# -- the controller over an in-memory Env ------------------------------------------------------------------

class ScriptedExecutor:
    """Answers from `answers` ((resource, action or "probe") -> result, OK otherwise), each operation on a
    resource logged; an agent's meta-data (asked by the controller, not an operation on the resource) comes
    from `metadata` (agent type -> XML; none: the agent cannot be read, so it cannot reload)."""

    def __init__(self, answers: dict[tuple[str, str], OpResult], log: list, metadata: dict[str, str] | None = None):
        self.answers = answers
        self.log = log
        self.metadata = metadata or {}
        self.recurring: dict[tuple[str, str, int], object] = {}

    async def execute(self, operation: Operation) -> OpResult:
        if operation.action == "meta-data":
            xml = self.metadata.get(operation.agent.type)
            return OpResult(ExecStatus.DONE, 0, xml) if xml else OpResult(ExecStatus.DONE, 5)
        self.log.append((operation.resource, operation.action, operation.interval_ms))
        if operation.action == "monitor" and operation.interval_ms == 0:
            return self.answers.get((operation.resource, "probe"), NOT_RUNNING)
        return self.answers.get((operation.resource, operation.action), OK)

    async def start_recurring(self, operation: Operation, listener) -> OpResult:
        self.recurring[(operation.resource, operation.action, operation.interval_ms)] = listener
        return await self.execute(operation)

    async def cancel_recurring(self, resource: str, action: str, interval_ms: int) -> None:
        self.recurring.pop((resource, action, interval_ms), None)


class MemoryEnv:
    local_node = "node1"

    def __init__(self, cib: Cib, executors: dict[str, ScriptedExecutor]):
        self.cib = cib
        self.executors = executors
        self.clock = 1_000_000.0
        self.saved: list[Cib] = []
        self.refusing_writes = False      # as HeldStatus while the disk is full (tests/test_held_status.py)

    def now(self) -> float:
        return self.clock

    def read(self) -> Cib:
        return self.cib

    def edit_status(self, edit) -> None:
        self.cib = dataclasses.replace(self.cib, status=edit(self.cib.status))

    def writable(self) -> bool:
        return not self.refusing_writes

    def in_charge(self) -> bool:
        return True

    def membership(self, status):
        return records.cluster_node_up(status, "node1", "1")

    async def durable(self) -> None:
        return None

    def executor(self, node: str):
        return self.executors.get(node)

    def save_input(self, cib: Cib) -> None:
        self.saved.append(cib)

    def still_running(self, node: str, token: str) -> bool:
        return False

    async def resource_deleted(self, agent: str, params: dict[str, str]) -> None:
        pass


def converge(env: MemoryEnv, limit: int = 10) -> int:
    async def rounds() -> int:
        controller = Controller(env)
        env.edit_status(lambda s: records.cluster_node_up(s, "node1", "1"))
        for count in range(1, limit + 1):
            if not await controller.round():
                return count
        raise AssertionError("did not converge")
    return asyncio.run(rounds())


def two_nodes(*resources: Primitive) -> Cib:
    configuration = Configuration(nodes=(Node("node1", "1"), Node("node2", "2")), resources=resources,
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    return Cib(configuration, node_up(node_up(Status()), "node2"))


def test_probe_first_then_start_then_monitor():
    log1, log2 = [], []
    web = Primitive("web", DUMMY, ops=(Op("m", "monitor", 10000),))
    env = MemoryEnv(two_nodes(web), {"node1": ScriptedExecutor({}, log1), "node2": ScriptedExecutor({}, log2)})
    converge(env)
    assert log1[0] == ("web", "monitor", 0) and log2[0] == ("web", "monitor", 0)     # probes everywhere first
    started_on = "node1" if ("web", "start", 0) in log1 else "node2"
    log = log1 if started_on == "node1" else log2
    assert log[1:] == [("web", "start", 0), ("web", "monitor", 10000)]
    assert len(env.saved) == 1                                                          # one transition input


def test_nothing_is_started_while_the_state_cannot_be_written():
    log1, log2 = [], []
    web = Primitive("web", DUMMY, ops=(Op("m", "monitor", 10000),))
    env = MemoryEnv(two_nodes(web), {"node1": ScriptedExecutor({}, log1), "node2": ScriptedExecutor({}, log2)})
    env.refusing_writes = True

    async def one_round():
        return await Controller(env).round()
    assert asyncio.run(one_round()) is None
    assert log1 == log2 == []
    env.refusing_writes = False
    converge(env)
    assert ("web", "start", 0) in log1 + log2


def test_a_failed_start_moves_the_resource_to_the_other_node():
    log1, log2 = [], []
    web = Primitive("web", DUMMY)
    cib = two_nodes(web)
    cib = dataclasses.replace(cib, configuration=dataclasses.replace(
        cib.configuration, constraints=(Location("prefer-1", "web", node="node1", score=100),)))
    env = MemoryEnv(cib, {"node1": ScriptedExecutor({("web", "start"): FAILED}, log1),
                          "node2": ScriptedExecutor({}, log2)})
    converge(env)
    assert ("web", "start", 0) in log1 and ("web", "stop", 0) in log1      # failed start, then cleaned up
    assert ("web", "start", 0) in log2
    assert schedule(env.cib).resources["web"] == [("node2", "Started")]
    assert [(f.node, f.count) for f in env.cib.status.fail_counts] == [("node1", INFINITY)]


def test_a_resource_found_running_by_a_probe_is_not_started_again():
    log = []
    web = Primitive("web", DUMMY, ops=(Op("m", "monitor", 10000),))
    configuration = Configuration(nodes=(Node("node1", "1"),), resources=(web,),
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    env = MemoryEnv(Cib(configuration, Status()), {"node1": ScriptedExecutor({("web", "probe"): OK}, log)})
    converge(env)
    assert log == [("web", "monitor", 0), ("web", "monitor", 10000)]


def test_a_resource_found_running_by_a_probe_and_then_deleted_is_stopped_with_its_parameters():
    """Found by a kill -9 fault run: the probe's record carried no parameters, so the deleted resource's stop ran
    with none (and the agent, not finding its state, said 'stopped' while the service kept running)."""
    seen: list[Operation] = []

    class Recording(ScriptedExecutor):
        async def execute(self, operation: Operation) -> OpResult:
            seen.append(operation)
            return await super().execute(operation)

    web = Primitive("web", DUMMY, Attributes.of({"state": "/run/web.state"}))
    configuration = Configuration(nodes=(Node("node1", "1"),), resources=(web,),
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    env = MemoryEnv(Cib(configuration, Status()), {"node1": Recording({("web", "probe"): OK}, [])})
    converge(env)
    env.cib = dataclasses.replace(env.cib, configuration=dataclasses.replace(configuration, resources=()))
    converge(env)
    stops = [op for op in seen if op.action == "stop"]
    assert [dict(op.params) for op in stops] == [{"state": "/run/web.state"}]


def test_cleanup_keeps_an_operation_in_flight():
    """Found by the same fault run: cleanup forgot a pending start, so the next controller started it again."""
    from appliance.model.history import cleanup
    status = records.record_pending(Status(), "node1", "web", DUMMY, "start", 100, token="t1")
    status = records.add_failure(status, "node1", "web", "monitor", 10000, 90, 1)
    cleaned = cleanup(status, {"web"})
    assert [records.pending_tokens(h) for h in cleaned.history] == [["t1"]]
    assert cleaned.fail_counts == ()


def test_an_unreachable_node_is_not_waited_for_forever():
    web = Primitive("web", DUMMY)
    cib = two_nodes(web)
    cib = dataclasses.replace(cib, configuration=dataclasses.replace(
        cib.configuration, constraints=(Location("only-2", "web", node="node2", score=INFINITY),
                                        Location("not-1", "web", node="node1", score=-INFINITY))))
    env = MemoryEnv(cib, {"node1": ScriptedExecutor({}, [])})          # node2 cannot be reached

    async def rounds():
        controller = Controller(env)
        results = [await controller.round() for _ in range(4)]
        return results
    results = asyncio.run(rounds())
    assert results[-1] is None            # the same transition again without progress: the loop backs off


def _promotable_cib(role_rc: int, score: str | None) -> Cib:
    stateful = AgentRef("ocf", "Stateful", "pacemaker")
    clone = Clone("db-clone", Primitive("db", stateful), Attributes.of({"promotable": "true", "clone-max": "1"}))
    configuration = Configuration(nodes=(Node("node1", "1"),), resources=(clone,),
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    status = records.record_result(node_up(Status()), records.Outcome("node1", "db", stateful, "start", 0, OK, 1))
    if role_rc == OcfRc.RUNNING_PROMOTED:
        status = records.record_result(status, records.Outcome("node1", "db", stateful, "promote", 0, OK, 2))
    if score is not None:
        status = status.with_transient("node1", Attributes.of({"master-db": score}))
    return Cib(configuration, status)


def test_a_running_instance_is_promoted_and_demoted_by_actions():
    promote = schedule(_promotable_cib(OcfRc.OK, "10"))
    assert [(a.task, a.node) for a in promote.actions] == [("promote", "node1")]
    demote = schedule(_promotable_cib(OcfRc.RUNNING_PROMOTED, None))
    assert [(a.task, a.node) for a in demote.actions] == [("demote", "node1")]
    stays = schedule(_promotable_cib(OcfRc.RUNNING_PROMOTED, "10"))
    assert stays.actions == ()


def test_a_resource_started_with_other_parameters_is_restarted_in_place():
    web = Primitive("web", DUMMY, Attributes.of({"fake": "2"}))
    configuration = Configuration(nodes=(Node("node1", "1"),), resources=(web,),
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    status = records.record_result(node_up(Status()), outcome("start", OK))
    entry = status.history[0]
    started_with = records.set_extras(status, entry, entry.ops[-1], {"drover-params": '{"fake": "1"}'})
    restart = schedule(Cib(configuration, started_with))
    assert [(a.task, a.node) for a in restart.actions] == [("stop", "node1"), ("start", "node1")]
    same = records.set_extras(status, entry, entry.ops[-1], {"drover-params": '{"fake": "2"}'})
    assert schedule(Cib(configuration, same)).actions == ()
    # the parameters stay known while later operations (a monitor, a promote) replace the last record
    later = records.record_result(started_with, outcome("monitor", OK))
    assert schedule(Cib(configuration, later)).actions == restart.actions


def test_call_ids_keep_growing_past_pending_records():
    status = records.record_result(Status(), outcome("start", OK))          # call 1
    status = records.record_result(status, outcome("monitor", OK, 10000))   # call 2
    status = records.record_pending(status, "node1", "web", DUMMY, "stop", 100)
    status = records.record_result(status, outcome("stop", OK))             # call 3, the monitor record goes
    status = records.record_pending(status, "node1", "web", DUMMY, "start", 100)
    status = records.record_result(status, outcome("start", OK))
    assert [op.call_id for op in status.history[0].ops] == [4]


def test_a_guest_node_that_comes_up_within_a_transition_is_probed_before_anything_starts_there():
    """Found by the cluster failover test: a resource placed on a guest whose VM starts in the same transition
    (as Pacemaker places them) was started there unprobed; the guest lacked its agent, and its stop then failed.
    Now it is probed there first; a probe that finds the agent missing bans it there (Pacemaker 2.1.5 masks
    that probe failure as "not running") and it starts on the host instead."""
    host_log, guest_log = [], []
    configuration = walkthrough_configuration()
    tool = Primitive("tool", AgentRef("ocf", "hostonly", "test"))
    configuration = dataclasses.replace(
        configuration, resources=(*configuration.resources, tool),
        constraints=(*configuration.constraints, Location("tool-in-guest", "tool", node="guest1", score=100)))
    host = ScriptedExecutor({}, host_log)
    guest = ScriptedExecutor({("tool", "probe"): OpResult(ExecStatus.NOT_INSTALLED, OcfRc.ERR_INSTALLED),
                              ("tool", "start"): OpResult(ExecStatus.NOT_INSTALLED, OcfRc.ERR_INSTALLED)}, guest_log)

    class ConnectingEnv(MemoryEnv):
        def executor(self, node: str):          # guest1 answers only once its connection started, as for real
            if node == "guest1":
                return guest if ("guest1", "start", 0) in host_log else None
            return super().executor(node)

    env = ConnectingEnv(Cib(configuration, node_up(Status())), {"node1": host})
    converge(env)
    assert ("tool", "monitor", 0) in guest_log and ("tool", "start", 0) not in guest_log
    assert ("webserver", "start", 0) in guest_log
    placement = schedule(env.cib).resources
    assert placement["tool"] == [("node1", "Started")] and placement["webserver"] == [("guest1", "Started")]


def test_a_reloadable_parameter_change_in_a_pacemaker_history_is_reloaded_once_not_restarted():
    from pathlib import Path

    from appliance.model.cib_read import read_cib
    case = Path(__file__).parent / "scheduler" / "monitors" / "reloadable-parameter-reloads" / "cib.xml"
    log1, log2 = [], []
    env = MemoryEnv(read_cib(case.read_bytes(), str(case)),
                    {"node1": ScriptedExecutor({}, log1), "node2": ScriptedExecutor({}, log2)})
    converge(env)
    assert log1 == [("web", "reload-agent", 0), ("web", "monitor", 10000)]      # in place: no stop, no start
    assert log2 == []
    entry = next(h for h in env.cib.status.history if h.node == "node1" and h.resource == "web")
    assert entry.ops[-1].operation in ("reload-agent", "monitor")
    assert schedule(env.cib).actions == ()                  # the new parameters are known: nothing more to do
    log1.clear()
    converge(env)                     # a controller started again: it takes its monitors back, reloads nothing
    assert [entry for entry in log1 if entry[1] != "monitor"] == []
    # the history knows the parameters it now runs with: a later change is seen (drover restarts for it)
    web = env.cib.configuration.resource("web")
    changed = dataclasses.replace(web, params=Attributes.of({"fake": "newer"}))
    later = env.cib.with_configuration(dataclasses.replace(env.cib.configuration, resources=(changed,)))
    assert [(a.task, a.node) for a in schedule(later).actions] == [("stop", "node1"), ("start", "node1")]


class UnfencingEnv(MemoryEnv):
    """Fence devices that answer every request (recorded in `fenced`)."""

    def __init__(self, cib: Cib, executors: dict[str, ScriptedExecutor]):
        super().__init__(cib, executors)
        self.fenced: list[tuple[str, str]] = []

    async def fence(self, target: str, action: str, delay_s: float = 0.0) -> bool:
        self.fenced.append((target, action))
        self.executors[target].log.append(("(fencing)", action, 0))      # in the host's own sequence
        return True


def test_hosts_are_unfenced_once_before_anything_is_probed_or_started_there():
    scsi = Primitive("scsi", AgentRef("stonith", "fence_scsi"), meta=Attributes.of({"provides": "unfencing"}))
    web = Primitive("web", DUMMY, ops=(Op("m", "monitor", 10000),))
    configuration = Configuration(nodes=(Node("node1", "1"), Node("node2", "2")), resources=(scsi, web))
    log1, log2 = [], []
    env = UnfencingEnv(Cib(configuration, node_up(node_up(Status()), "node2")),
                       {"node1": ScriptedExecutor({}, log1), "node2": ScriptedExecutor({}, log2)})
    assert {(a.task, a.node, a.fence_type) for a in schedule(env.cib).actions if a.task == "fence"} == \
        {("fence", "node1", "on"), ("fence", "node2", "on")}
    converge(env)
    assert sorted(env.fenced) == [("node1", "on"), ("node2", "on")]             # each host once
    for log in (log1, log2):
        assert log[0] == ("(fencing)", "on", 0)                                   # unfenced before anything
        assert ("web", "monitor", 0) in log and ("scsi", "monitor", 0) in log    # then probed
    for node in ("node1", "node2"):
        assert env.cib.status.transient(node).get("#node-unfenced")
    assert schedule(env.cib).actions == ()
    # fencing a host clears the mark: it is unfenced again before anything starts there
    refenced = records.host_fenced(env.cib.status, "node2")
    assert ("fence", "node2", "on") in {(a.task, a.node, a.fence_type)
                                        for a in schedule(dataclasses.replace(env.cib, status=node_up(refenced,
                                                                                                   "node2"))).actions}


class AgentRecording(ScriptedExecutor):
    """Also keeps (action, agent type, parameters) of every operation."""

    def __init__(self, log: list, seen: list):
        super().__init__({}, log)
        self.seen = seen

    async def execute(self, operation: Operation) -> OpResult:
        if operation.action != "meta-data":
            self.seen.append((operation.action, operation.agent.type, dict(operation.params)))
        return await super().execute(operation)


def test_a_changed_agent_or_parameters_restart_stopping_what_was_started():
    started_as = Primitive("web", AgentRef("ocf", "Stateful", "pacemaker"), Attributes.of({"state": "/old"}))
    now_as = Primitive("web", DUMMY, Attributes.of({"state": "/new"}))
    status = records.record_result(node_up(Status()), records.Outcome("node1", "web", started_as.agent, "start", 0,
                                                                      OK, 100))
    entry = status.history[-1]
    status = records.set_extras(status, entry, entry.ops[-1], {"drover-params": '{"state": "/old"}'})
    configuration = Configuration(nodes=(Node("node1", "1"),), resources=(now_as,),
                                  cluster_options=Attributes.of({"stonith-enabled": "false"}))
    log, seen = [], []
    env = MemoryEnv(Cib(configuration, status), {"node1": AgentRecording(log, seen)})
    converge(env)
    one_off = [call for call in seen if call[0] in ("stop", "start")]
    assert one_off == [("stop", "Stateful", {"state": "/old"}), ("start", "Dummy", {"state": "/new"})]
    assert schedule(env.cib).actions == ()
