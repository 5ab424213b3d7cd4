"""Changed parameters applied as Pacemaker applies them, by a `drover daemon` process running real agents from
resource-agents and Pacemaker: a change of parameters the agent marks reloadable runs its reload-agent (an OCF
1.1 agent, ocf:pacemaker:Dummy) or its reload (an older agent, ocf:heartbeat:Dummy, whose unique parameters
force a restart) in place, its monitors go on with the new parameters; any other change restarts it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.appliance_harness import Appliance, wait_for_sync
from tests.guestd import GuestDaemon

pytestmark = pytest.mark.timeout(120)


def wait(predicate, what: str) -> None:
    wait_for_sync(predicate, 40, what)


def calls(envfile: Path) -> list[tuple[str, str]]:
    """(action, fake) of every call of ocf:pacemaker:Dummy, from the environment it dumps each time."""
    found, action = [], None
    for line in envfile.read_text().splitlines() if envfile.exists() else ():
        if line.startswith("### ") and " @ " in line:
            action = line[4:].split(" @ ")[0]
        elif line.startswith("OCF_RESKEY_fake=") and action is not None:
            found.append((action, line.split("=", 1)[1]))
            action = None
    return found


def settled(appliance: Appliance) -> bool:
    return json.loads(appliance.drover("simulate", "--output-as=json").stdout)["actions"] == []


def test_reloadable_changes_reload_the_agent_in_place_and_other_changes_restart_it(tmp_path: Path):
    guest = GuestDaemon(tmp_path / "unused-guest")              # its agent tree: real agents plus the test ones
    appliance = Appliance(tmp_path, guest)
    envfile, newer_state, older_state = tmp_path / "newer.env", tmp_path / "newer.state", tmp_path / "older.state"
    appliance.drover("resource", "create", "newer", "ocf:pacemaker:Dummy", f"state={newer_state}",
                     f"envfile={envfile}", "fake=one", "op", "monitor", "interval=1s")
    appliance.drover("resource", "create", "older", "ocf:heartbeat:Dummy", f"state={older_state}", "fake=one",
                     "op", "monitor", "interval=1s")
    appliance.start_process()
    try:
        wait(lambda: settled(appliance) and appliance.placement().get("newer") == [("node1", "Started")]
             and appliance.placement().get("older") == [("node1", "Started")], "both to start")
        older_inode = older_state.stat().st_ino
        appliance.kill_process(signal.SIGTERM)

        appliance.drover("resource", "update", "newer", "fake=two")
        appliance.drover("resource", "update", "older", "fake=two")
        plan = " ".join(appliance.drover("simulate").stdout.split())
        assert "* Reload newer ( node1 ) * Reload older ( node1 )" in plan, plan
        before = len(calls(envfile))
        appliance.start_process()
        wait(lambda: settled(appliance) and ("monitor", "two") in calls(envfile)[before:], "the reload")
        after = calls(envfile)[before:]
        assert [call for call in after if call[0] != "monitor"] == [("reload-agent", "two")], after
        assert after.index(("reload-agent", "two")) < after.index(("monitor", "two"))    # monitors go on anew
        assert older_state.stat().st_ino == older_inode           # reloaded, not stopped and started again
        assert [op.operation for op in appliance.ops("older", "node1") if op.interval_ms == 0] == ["reload"]

        # state is not reloadable (ocf:pacemaker:Dummy) nor is a unique parameter (ocf:heartbeat:Dummy)
        appliance.drover("resource", "update", "newer", f"state={tmp_path / 'moved.state'}")
        before = len(calls(envfile))
        wait(lambda: settled(appliance) and ("start", "two") in calls(envfile)[before:], "the restart")
        assert [call for call in calls(envfile)[before:] if call[0] != "monitor"] == [("stop", "two"),
                                                                                      ("start", "two")]
        assert (tmp_path / "moved.state").exists() and not newer_state.exists()
    finally:
        appliance.kill_process(signal.SIGTERM)
