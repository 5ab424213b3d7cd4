"""The executor with real agents: OCF environment, real Dummy/Stateful, LSB mapping, timeouts, serialisation,
recurring monitors."""

from __future__ import annotations

import asyncio

import pytest

from guest.agents.executor import Executor
from guest.agents.process import ProcessRunner
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation
from guest.agents.standards import AgentSettings, invocation, lsb_to_ocf, resolve, systemd_to_ocf
from tests.agents import make_agent_tree, processes_with_argument

DUMMY = AgentSpec("ocf", "Dummy", "heartbeat")
PCMK_DUMMY = AgentSpec("ocf", "Dummy", "pacemaker")
STATEFUL = AgentSpec("ocf", "Stateful", "pacemaker")


@pytest.fixture
def tree(tmp_path):
    return make_agent_tree(tmp_path)


@pytest.fixture
def executor(tree):
    _, lsb_dir = tree
    return Executor(ProcessRunner(), AgentSettings(lsb_dir=lsb_dir, systemd_running=False))


def run(coroutine):
    return asyncio.run(coroutine)


def test_dummy_lifecycle(executor, tmp_path):
    params = {"state": str(tmp_path / "dummy.state")}

    async def scenario():
        results = []
        for action in ["monitor", "start", "monitor", "stop", "monitor"]:
            results.append(await executor.execute(Operation("d1", DUMMY, action, params=params)))
        return results

    results = run(scenario())
    assert [(r.exec_status, r.rc) for r in results] == [
        (ExecStatus.DONE, 7), (ExecStatus.DONE, 0), (ExecStatus.DONE, 0), (ExecStatus.DONE, 0), (ExecStatus.DONE, 7)]
    assert executor.last_results["d1_monitor_0"].rc == 7


def test_stateful_promotes(executor, tmp_path):
    params = {"state": str(tmp_path / "stateful.state")}

    async def scenario():
        return [(await executor.execute(Operation("s1", STATEFUL, action, params=params))).rc
                for action in ["start", "monitor", "promote", "monitor", "demote", "stop"]]

    assert run(scenario()) == [0, 0, 0, OcfRc.RUNNING_PROMOTED, 0, 0]


def test_ocf_environment(executor, tree, tmp_path):
    ocf_root, _ = tree
    settings = AgentSettings(ocf_root=ocf_root, systemd_running=False)
    dump = tmp_path / "env"
    operation = Operation("my-rsc", AgentSpec("ocf", "envdump", "test"), "monitor", interval_ms=10000,
                          timeout_ms=15000, params={"dump": str(dump), "rc": "7", "reason": "not here",
                                                    "OCF_CHECK_LEVEL": "10"},
                          meta={"target-role": "Started", "clone-max": "2"})
    result = run(Executor(ProcessRunner(), settings).execute(operation))
    assert (result.exec_status, result.rc, result.exit_reason) == (ExecStatus.DONE, 7, "not here")
    env = dict(line.split("=", 1) for line in (tmp_path / "env.monitor").read_text().splitlines() if "=" in line)
    assert env["OCF_ROOT"] == str(ocf_root)
    assert env["OCF_RESOURCE_INSTANCE"] == "my-rsc"
    assert env["OCF_RESOURCE_TYPE"] == "envdump" and env["OCF_RESOURCE_PROVIDER"] == "test"
    assert env["OCF_RA_VERSION_MAJOR"] == "1"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "10000"
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "15000"
    assert env["OCF_RESKEY_CRM_meta_target_role"] == "Started"
    assert env["OCF_RESKEY_CRM_meta_clone_max"] == "2"
    assert env["OCF_RESKEY_rc"] == "7"
    assert env["OCF_CHECK_LEVEL"] == "10"
    assert "OCF_RESKEY_OCF_CHECK_LEVEL" not in env


def test_missing_agent_is_not_installed(executor):
    result = run(executor.execute(Operation("x", AgentSpec("ocf", "NoSuchAgent", "heartbeat"), "start")))
    assert (result.exec_status, result.rc) == (ExecStatus.NOT_INSTALLED, OcfRc.ERR_INSTALLED)
    assert "NoSuchAgent not found" in result.exit_reason


def test_an_ocf_type_naming_a_path_is_never_run(executor, tmp_path):
    """An imported CIB may name an OCF type by path (old Pacemaker inputs do): it is not an agent in resource.d,
    so nothing runs, however executable the file it names is."""
    script = tmp_path / "ran-it"
    script.write_text(f"#!/bin/sh\ntouch {tmp_path}/was-run\n")
    script.chmod(0o755)
    for agent_type in (str(script), f"../../../../../../../..{script}"):
        result = run(executor.execute(Operation("x", AgentSpec("ocf", agent_type, "heartbeat"), "start")))
        assert (result.exec_status, result.rc) == (ExecStatus.NOT_INSTALLED, OcfRc.ERR_INSTALLED)
    assert not (tmp_path / "was-run").exists()


def test_timeout_kills_the_whole_process_group(executor, tree, tmp_path):
    ocf_root, _ = tree
    marker = tmp_path / "finished"
    executor = Executor(ProcessRunner(), AgentSettings(ocf_root=ocf_root))
    operation = Operation("slow1", AgentSpec("ocf", "slow", "test"), "start", timeout_ms=300,
                          params={"seconds": "7.77", "marker": str(marker)})
    result = run(executor.execute(operation))
    assert result.exec_status is ExecStatus.TIMEOUT
    assert result.exit_reason == "start timed out after 300ms"
    assert processes_with_argument("7.77") == []  # the agent's child `sleep` died with it
    assert not marker.exists()
    assert executor.runner.running == 0


def test_one_operation_at_a_time_per_resource(executor, tmp_path):
    # ocf:pacemaker:Dummy fails ("alternate universe collision") if two monitors of one resource overlap.
    state = tmp_path / "p.state"
    state.touch()
    params = {"state": str(state), "op_sleep": "1"}

    async def scenario():
        same = [executor.execute(Operation("serial", PCMK_DUMMY, "monitor", params=params)) for _ in range(3)]
        return await asyncio.gather(*same)

    assert [r.rc for r in run(scenario())] == [0, 0, 0]


def test_different_resources_run_in_parallel(executor, tmp_path):
    async def scenario():
        operations = [Operation(f"par{i}", PCMK_DUMMY, "monitor",
                                params={"state": str(tmp_path / f"{i}.state"), "op_sleep": "1"}) for i in range(3)]
        return await asyncio.gather(*(executor.execute(o) for o in operations))

    results = run(scenario())
    latest_start = max(r.started for r in results)
    earliest_end = min(r.started + r.duration_ms / 1000 for r in results)
    assert latest_start < earliest_end  # all three were running at one moment


def test_recurring_reports_first_result_then_only_changes(executor, tmp_path):
    state = tmp_path / "rec.state"
    params = {"state": str(state)}
    seen = []

    async def scenario():
        await executor.execute(Operation("rec", DUMMY, "start", params=params))
        monitor = Operation("rec", DUMMY, "monitor", interval_ms=100, params=params)
        first = await executor.start_recurring(monitor, "owner", lambda op, result: seen.append(result.rc))
        await asyncio.sleep(0.5)
        assert seen == []  # unchanged results are not reported
        state.unlink()
        await asyncio.sleep(0.5)
        state.touch()
        await asyncio.sleep(0.5)
        stop = await executor.execute(Operation("rec", DUMMY, "stop", params=params))
        await asyncio.sleep(0.3)
        return first, stop

    first, stop = run(scenario())
    assert first.rc == 0 and stop.rc == 0
    assert seen == [7, 0]
    assert executor.recurring() == []  # the stop cancelled the monitor


def test_cancel_owner(executor, tmp_path):
    async def scenario():
        for i, owner in enumerate(["a", "a", "b"]):
            monitor = Operation(f"own{i}", DUMMY, "monitor", interval_ms=1000,
                                params={"state": str(tmp_path / f"{i}")})
            await executor.start_recurring(monitor, owner, lambda op, result: None)
        cancelled = executor.cancel_owner("a")
        return cancelled, [r.owner for r in executor.recurring()]

    assert run(scenario()) == (2, ["b"])


@pytest.mark.parametrize(("action", "code", "rc"), [
    ("monitor", 0, OcfRc.OK), ("monitor", 3, OcfRc.NOT_RUNNING), ("monitor", 1, OcfRc.NOT_RUNNING),
    ("monitor", 4, OcfRc.ERR_GENERIC), ("start", 0, OcfRc.OK), ("start", 1, OcfRc.ERR_GENERIC),
    ("start", 5, OcfRc.ERR_INSTALLED), ("stop", 200, OcfRc.ERR_GENERIC)])
def test_lsb_script(executor, tree, action, code, rc):
    _, lsb_dir = tree
    verb = "status" if action == "monitor" else action
    (lsb_dir / f"{verb}.code").write_text(str(code))
    result = run(executor.execute(Operation("svc", AgentSpec("lsb", "testsvc"), action)))
    assert (result.exec_status, result.rc) == (ExecStatus.DONE, rc)
    assert (lsb_dir / "calls").read_text() == f"{verb}\n"


def test_lsb_has_no_promote(executor):
    result = run(executor.execute(Operation("svc", AgentSpec("lsb", "testsvc"), "promote")))
    assert (result.exec_status, result.rc) == (ExecStatus.NOT_SUPPORTED, OcfRc.UNIMPLEMENTED)


def test_service_resolves_to_lsb_without_systemd(executor):
    result = run(executor.execute(Operation("svc", AgentSpec("service", "testsvc"), "monitor")))
    assert result.rc == OcfRc.OK


def test_systemd_commands_and_states():
    settings = AgentSettings(systemd_running=True)
    operation = resolve(Operation("web", AgentSpec("service", "httpd"), "monitor"), settings)
    assert operation.agent == AgentSpec("systemd", "httpd")
    assert invocation(operation, settings).argv == ("/usr/bin/systemctl", "is-active", "--", "httpd.service")
    start = invocation(Operation("t", AgentSpec("systemd", "foo.timer"), "start"), settings)
    assert start.argv[-2:] == ("--", "foo.timer")
    assert systemd_to_ocf("monitor", 0, "active\n") == OcfRc.OK
    assert systemd_to_ocf("monitor", 3, "failed\n") == OcfRc.NOT_RUNNING
    assert systemd_to_ocf("monitor", 3, "inactive\n") == OcfRc.NOT_RUNNING
    assert systemd_to_ocf("start", 5, "Unit x.service not found.") == OcfRc.ERR_INSTALLED
    assert systemd_to_ocf("start", 1, "") == OcfRc.ERR_GENERIC


def test_lsb_status_mapping_matches_pacemaker():
    assert [lsb_to_ocf("status", c) for c in (0, 1, 2, 3, 4, 150, 151)] == [0, 7, 7, 7, 1, 5, 4]


def test_shutdown_kills_running_agents(executor, tree, tmp_path):
    ocf_root, _ = tree
    executor = Executor(ProcessRunner(), AgentSettings(ocf_root=ocf_root))

    async def scenario():
        operation = Operation("slow2", AgentSpec("ocf", "slow", "test"), "start", timeout_ms=60000,
                              params={"seconds": "8.88", "marker": str(tmp_path / "m")})
        task = asyncio.create_task(executor.execute(operation))
        await asyncio.sleep(0.3)
        assert processes_with_argument("8.88")
        await executor.shutdown()
        task.cancel()
        await asyncio.sleep(0.1)

    run(scenario())
    assert processes_with_argument("8.88") == []


def test_agent_output_is_bounded(executor, tmp_path):
    script = tmp_path / "ocf/resource.d/test/noisy"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\nhead -c 1000000 /dev/zero | tr '\\0' x\nexit 0\n")
    script.chmod(0o755)
    executor = Executor(ProcessRunner(), AgentSettings(ocf_root=tmp_path / "ocf"))
    result = run(executor.execute(Operation("noisy", AgentSpec("ocf", "noisy", "test"), "start")))
    assert result.rc == 0 and len(result.output) == 64 * 1024
