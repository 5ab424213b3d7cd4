"""The user's walk-through end to end: real libvirt (test:///default), a real drover-guest, real OCF agents.

Each test builds the guest node of the walk-through (vm-guest1 with meta
remote-node=guest1, webserver = ocf:heartbeat:Dummy preferring guest1), runs the
controller and checks what `drover status` and the recorded history say.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from tests.appliance_harness import NODE, Appliance, wait_for, wait_for_sync
from tests.guestd import GuestDaemon


@pytest.fixture
def guest(tmp_path: Path):
    daemon = GuestDaemon(tmp_path / "guest1").start()
    yield daemon
    daemon.stop()


@pytest.fixture
def appliance(tmp_path: Path, guest: GuestDaemon, monkeypatch):
    host_rsctmp = tmp_path / "node1-rsctmp"            # resources this host runs keep their state here
    host_rsctmp.mkdir()
    monkeypatch.setenv("HA_RSCTMP", str(host_rsctmp))
    monkeypatch.setenv("HA_VARRUN", str(host_rsctmp))
    appliance = Appliance(tmp_path, guest)
    yield appliance
    appliance.kill_process()                          # a failed or timed-out test leaves no daemon behind


def webserver_state(guest: GuestDaemon) -> Path:
    return guest.base / "Dummy-webserver.state"


def in_place(appliance: Appliance) -> bool:
    placement = appliance.placement()
    return placement.get("webserver") == [("guest1", "Started")] and \
        placement.get("vm-guest1") == [(NODE, "Started")]


def domain_state(appliance: Appliance) -> int | None:
    connection = libvirt.open("test:///default")
    try:
        return connection.lookupByName(appliance.domain).state()[0]
    except libvirt.libvirtError:
        return None
    finally:
        connection.close()


def run(appliance: Appliance, scenario) -> None:
    async def main():
        appliance.start_in_process()
        try:
            await scenario()
        finally:
            await appliance.stop_in_process()
    asyncio.run(main())


def test_walkthrough_ends_with_the_web_server_in_the_guest(appliance: Appliance, guest: GuestDaemon):
    appliance.walkthrough()

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
        assert domain_state(appliance) == libvirt.VIR_DOMAIN_RUNNING
        assert webserver_state(guest).exists()
        text = appliance.drover("status").stdout
        assert f"  * Online: [ {NODE} ]\n  * GuestOnline: [ guest1 ]\n" in text    # crm_mon 2.1.5's lines
        assert "  * webserver\t(ocf:heartbeat:Dummy):\t Started guest1" in text
        assert f"  * vm-guest1\t(ocf:heartbeat:VirtualDomain):\t Started {NODE}" in text
        assert f"Current DC: {NODE} (version" in text
        assert "guest1\t(ocf:pacemaker:remote)" not in text          # the implicit connection is not listed
        assert "  * 3 resource instances configured" in text           # ... but counted, as crm_mon counts it
        assert appliance.drover("tool", "crm_node", "-l").stdout == f"1 {NODE} member\n"
        root = ET.fromstring(appliance.drover("status", "--output-as=xml").stdout)
        nodes = {n.get("name"): n.attrib for n in root.find("nodes")}
        assert nodes["guest1"]["online"] == "true" and nodes["guest1"]["id_as_resource"] == "vm-guest1"
        web = root.find("resources/resource[@id='webserver']")
        assert web.get("role") == "Started" and web.find("node").get("name") == "guest1"
        # probes ran on this host for everything (Pacemaker probes every resource on every node)
        assert [op.rc_code for op in appliance.ops("webserver", NODE, "monitor") if op.interval_ms == 0] == [7], \
            appliance.cib().status.history
    run(appliance, scenario)


def test_a_killed_web_server_is_restarted_in_place(appliance: Appliance, guest: GuestDaemon):
    appliance.walkthrough()

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
        starts = len(appliance.ops("webserver", "guest1", "start"))
        webserver_state(guest).unlink()                # what a crashed service looks like to Dummy
        await wait_for(lambda: webserver_state(guest).exists(), 20, "webserver restarted")
        await wait_for(lambda: in_place(appliance), 10, "webserver shown started again")
        cib = appliance.cib()
        assert [(f.resource, f.node, f.operation, f.count) for f in cib.status.fail_counts] == \
            [("webserver", "guest1", "monitor", 1)]
        assert len(appliance.ops("webserver", "guest1", "start")) == starts    # one record, replaced
        text = appliance.drover("status").stdout
        assert "Failed Resource Actions:\n  * webserver 1000ms-interval monitor on guest1 returned 'not running' " \
            "(No process state file found) at " in text
        assert domain_state(appliance) == libvirt.VIR_DOMAIN_RUNNING          # the VM was left alone
    run(appliance, scenario)


def test_a_destroyed_vm_is_restarted_and_its_guest_resources_come_back(appliance: Appliance, guest: GuestDaemon):
    appliance.walkthrough(vm_monitor="10min")       # noticed through libvirt's lifecycle event, not the monitor

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
        destroyed_at = int(time.time())
        connection = libvirt.open("test:///default")
        connection.lookupByName(appliance.domain).destroy()
        connection.close()
        webserver_state(guest).unlink()        # what ran in the VM is gone with it (the guest daemon stands in)
        await wait_for(lambda: any(f.resource == "vm-guest1" for f in appliance.cib().status.fail_counts), 10,
                       "the VM's failure recorded")
        assert appliance.ops("vm-guest1", NODE, "monitor")[-1].interval_ms == 600_000
        await wait_for(lambda: in_place(appliance) and domain_state(appliance) == libvirt.VIR_DOMAIN_RUNNING, 30,
                       "VM restarted and webserver back in guest1")
        # the guest was reset: its connection and resources were started again after the VM came back
        assert appliance.ops("webserver", "guest1", "start")[-1].last_rc_change >= destroyed_at
        assert appliance.ops("guest1", NODE, "start")[-1].last_rc_change >= destroyed_at
    run(appliance, scenario)


def test_a_lost_guest_daemon_gets_its_vm_restarted_and_resources_back(appliance: Appliance, guest: GuestDaemon):
    appliance.walkthrough()

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
        vm_starts = _start_count(appliance, "vm-guest1")
        guest.process.send_signal(signal.SIGKILL)
        guest.process.wait(10)
        await wait_for(lambda: _start_count(appliance, "vm-guest1") > vm_starts, 20, "VM restarted")
        assert any(f.resource == "guest1" for f in appliance.cib().status.fail_counts)
        guest.start()                                  # the rebooted VM brings its guest daemon up again
        await wait_for(lambda: in_place(appliance), 40, "webserver back on guest1")
        await wait_for(lambda: webserver_state(guest).exists(), 10, "webserver running in the guest")
    run(appliance, scenario)


def test_a_clean_restart_of_the_guest_daemon_resets_nothing(appliance: Appliance, guest: GuestDaemon, caplog):
    appliance.walkthrough()
    caplog.set_level(logging.INFO)

    async def scenario():
        # in place counts a start in flight (recorded pending, call id -1): wait until it has finished
        await wait_for(lambda: in_place(appliance) and _starts_on_guest(appliance) > 0, 30,
                       "webserver started in guest1")
        vm_starts, web_starts = _start_count(appliance, "vm-guest1"), _starts_on_guest(appliance)
        guest.process.send_signal(signal.SIGTERM)           # systemctl restart drover-guest, a key rotation
        guest.process.wait(10)
        await asyncio.sleep(2)                              # down for a while, less than remote-connect-timeout
        guest.start()
        await wait_for(lambda: "drover-guest is back; its resources were left as they were" in caplog.text,
                       30, "reconnected", lambda: caplog.text)
        assert _start_count(appliance, "vm-guest1") == vm_starts and _starts_on_guest(appliance) == web_starts
        assert not appliance.cib().status.fail_counts
        assert in_place(appliance)
        webserver_state(guest).unlink()                     # the monitors were registered again: noticed
        await wait_for(lambda: webserver_state(guest).exists(), 20, "webserver restarted by its monitor")
        assert _start_count(appliance, "vm-guest1") == vm_starts
    run(appliance, scenario)


def _starts_on_guest(appliance: Appliance) -> int:
    return max((op.call_id for op in appliance.ops("webserver", "guest1", "start")), default=0)


def _guest_with_short_connect_timeout(appliance: Appliance, guest: GuestDaemon) -> None:
    appliance.drover("resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                     f"config={appliance.vm_xml}", "op", "monitor", "interval=1s", "meta", "remote-node=guest1",
                     "remote-addr=127.0.0.1", f"remote-port={guest.port}", "remote-connect-timeout=2s")
    appliance.drover("resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor", "interval=1s")
    appliance.drover("constraint", "location", "webserver", "prefers", "guest1")


async def _lose_the_guest_for_longer_than_its_connect_timeout(appliance: Appliance, guest: GuestDaemon) -> None:
    await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
    guest.process.send_signal(signal.SIGKILL)
    guest.process.wait(10)
    # as Pacemaker 2.1.5: the reset VM's connection cannot start, its fail count keeps the VM off node1 too
    await wait_for(lambda: appliance.placement().get("vm-guest1") == [], 30, "VM stopped after the failed connect",
                   appliance.log)
    guest.start()
    text = appliance.drover("status").stdout
    node_list = text.split("Node List:\n")[1].split("\n\n")[0]
    assert node_list == f"  * Online: [ {NODE} ]"           # crm_mon 2.1.5 does not list a guest that is down
    assert "guest1 start on node1 could not be executed (Timed Out: could not connect to guest1 at 127.0.0.1:" in text


def test_a_guest_unreachable_beyond_its_connect_timeout_is_stopped_and_cleanup_brings_it_back(
        appliance: Appliance, guest: GuestDaemon):
    _guest_with_short_connect_timeout(appliance, guest)

    async def scenario():
        await _lose_the_guest_for_longer_than_its_connect_timeout(appliance, guest)
        await asyncio.sleep(3)
        assert appliance.placement().get("vm-guest1") == []          # no failure-timeout: it stays stopped
        assert "Cleaned up guest1 on node1" in appliance.drover("resource", "cleanup", "guest1").stdout
        await wait_for(lambda: in_place(appliance), 30, "guest1 and its web server back after cleanup")
    run(appliance, scenario)


def test_a_guest_unreachable_beyond_its_connect_timeout_comes_back_once_its_failure_expires(
        appliance: Appliance, guest: GuestDaemon):
    _guest_with_short_connect_timeout(appliance, guest)
    appliance.drover("resource", "defaults", "update", "failure-timeout=8s")

    async def scenario():
        await _lose_the_guest_for_longer_than_its_connect_timeout(appliance, guest)
        await wait_for(lambda: in_place(appliance), 30, "guest1 back by itself once the failure expired",
                       appliance.log)
        assert not any(f.resource == "guest1" for f in appliance.cib().status.fail_counts)   # cleared
        assert "Failed Resource Actions" not in appliance.drover("status").stdout
    run(appliance, scenario)


def _start_count(appliance: Appliance, resource: str) -> int:
    """How many starts were recorded (call ids only grow, so the last start's call id counts them)."""
    return max((op.call_id for op in appliance.ops(resource, NODE, "start")), default=0)


def test_kill_9_mid_transition_runs_nothing_twice_and_converges(appliance: Appliance, tmp_path: Path):
    log = tmp_path / "counted.log"
    appliance.drover("resource", "create", "slow", "ocf:test:counted", f"log={log}", "start_seconds=3",
                     "op", "monitor", "interval=1s")
    appliance.start_process()
    wait_for_sync(lambda: log.exists() and log.read_text() == "start\n", 20, "start under way", appliance.log)
    pending = [op for op in appliance.ops("slow", NODE) if op.op_status == -1]
    assert [op.operation for op in pending] == ["start"]          # recorded as in flight before it ran
    appliance.kill_process(signal.SIGKILL)
    appliance.start_process()
    try:
        wait_for_sync(lambda: appliance.placement().get("slow") == [(NODE, "Started")], 30, "converged",
                      appliance.log)
        wait_for_sync(lambda: any(op.interval_ms == 1000 for op in appliance.ops("slow", NODE)), 10,
                      "monitor running", appliance.log)
    finally:
        appliance.kill_process(signal.SIGTERM)
    assert log.read_text() == "start\n"       # the agent's start ran once; the restart probed instead
    assert not [op for op in appliance.ops("slow", NODE) if op.op_status == -1]


def test_a_second_daemon_on_the_same_state_is_refused(appliance: Appliance):
    appliance.start_process()
    try:
        wait_for_sync(lambda: "controlling node" in appliance.log(), 20, "daemon up", appliance.log)
        second = appliance.drover("daemon", check=False)
        assert second.returncode == 75
        assert "another drover daemon is running" in second.stderr
        assert "Current DC: node1" in appliance.drover("status").stdout
    finally:
        appliance.kill_process(signal.SIGTERM)
    assert "Current DC: NONE" in appliance.drover("status").stdout


def test_a_remote_node_is_connected_and_runs_resources(appliance: Appliance, guest: GuestDaemon):
    appliance.drover("resource", "create", "rnode1", "ocf:pacemaker:remote", "server=127.0.0.1",
                     f"port={guest.port}", "op", "monitor", "interval=1s")
    appliance.drover("resource", "create", "db", "ocf:heartbeat:Dummy", "op", "monitor", "interval=1s")
    appliance.drover("constraint", "location", "db", "prefers", "rnode1")

    async def scenario():
        await wait_for(lambda: appliance.placement().get("db") == [("rnode1", "Started")], 30, "db on rnode1")
        status = appliance.status_json()
        assert {n["name"]: (n["type"], n["state"]) for n in status["nodes"]} == \
            {NODE: ("member", "online"), "rnode1": ("remote", "online")}
        assert appliance.placement()["rnode1"] == [(NODE, "Started")]      # its connection runs on this host
        assert (guest.base / "Dummy-db.state").exists()
    run(appliance, scenario)


def test_deleting_a_vm_resource_stops_it_and_undefines_it_when_configured(tmp_path: Path, guest: GuestDaemon,
                                                                           monkeypatch):
    monkeypatch.setenv("HA_RSCTMP", str(tmp_path))
    appliance = Appliance(tmp_path, guest, settings="[libvirt]\nundefine_on_delete = yes\n")
    appliance.walkthrough()
    keeper = libvirt.open("test:///default")          # keeps the in-process hypervisor's state for the check

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "walk-through done")
        appliance.drover("resource", "delete", "vm-guest1")
        await wait_for(lambda: domain_state(appliance) is None, 20, "domain undefined")
        await wait_for(lambda: appliance.placement().get("webserver") == [(NODE, "Started")], 20,
                       "webserver moved to the host once guest1 is gone")
    try:
        run(appliance, scenario)
    finally:
        keeper.close()


def test_status_answers_while_the_state_is_being_written(appliance: Appliance):
    appliance.walkthrough()
    writer = sqlite3.connect(appliance.state_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")                    # what a busy controller holds while recording
    try:
        began = time.monotonic()
        result = appliance.drover("status", "--output-as=xml")
        assert time.monotonic() - began < 10
        assert "<resource id=\"webserver\"" in result.stdout
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_scheduler_inputs_are_kept_in_a_ring_and_replay(tmp_path: Path, guest: GuestDaemon, monkeypatch):
    monkeypatch.setenv("HA_RSCTMP", str(tmp_path))
    appliance = Appliance(tmp_path, guest, settings="[state]\nscheduler_inputs_kept = 2\n")
    appliance.walkthrough()

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "walk-through done")
        webserver_state(guest).unlink()
        await wait_for(lambda: webserver_state(guest).exists(), 20, "webserver recovered")
    run(appliance, scenario)
    inputs = sorted((appliance.root / "var/lib/drover/pe-inputs").glob("pe-input-*.xml"))
    assert len(inputs) == 2                                                # bounded
    replay = json.loads(appliance.drover("simulate", "--xml-file", str(inputs[-1]), "--output-as=json").stdout)
    assert {"task": "start", "resource": "webserver", "node": "guest1"} in replay["actions"]


def test_changing_a_parameter_reloads_or_restarts_the_resource_where_it_runs(appliance: Appliance,
                                                                            guest: GuestDaemon):
    appliance.walkthrough()
    moved = guest.base / "moved.state"

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
        # ocf:heartbeat:Dummy is an OCF 1.0 agent with a reload action: a parameter not marked unique is reloaded
        # (its meta-data read in the guest, as Pacemaker's controller reads it)
        appliance.drover("resource", "update", "webserver", "fake=changed")
        await wait_for(lambda: appliance.ops("webserver", "guest1", "reload"), 20, "webserver reloaded",
                       lambda: f"{appliance.ops('webserver', 'guest1')}")
        assert '"fake": "changed"' in appliance.ops("webserver", "guest1", "reload")[-1].extra.get("drover-params")
        assert not appliance.ops("webserver", "guest1", "stop") and webserver_state(guest).exists()
        # a unique one (its state file) restarts it: stopped with the old parameters, started with the new
        appliance.drover("resource", "update", "webserver", f"state={moved}")
        await wait_for(lambda: appliance.ops("webserver", "guest1", "start"), 20, "webserver restarted",
                       lambda: f"{appliance.ops('webserver', 'guest1')}")
        await wait_for(lambda: in_place(appliance), 10, "webserver still in guest1")
        assert moved.exists() and not webserver_state(guest).exists()
        assert str(moved) in appliance.ops("webserver", "guest1", "start")[-1].extra.get("drover-params")
    run(appliance, scenario)


def test_the_web_server_in_the_guest_runs_only_while_its_ticket_is_granted(appliance: Appliance,
                                                                           guest: GuestDaemon):
    appliance.walkthrough()
    appliance.drover("constraint", "ticket", "add", "ticketA", "webserver", "loss-policy=stop")

    def webserver() -> list[tuple[str, str]]:
        return appliance.placement().get("webserver", [])

    async def scenario():
        await wait_for(lambda: appliance.placement().get("vm-guest1") == [(NODE, "Started")], 30, "guest1 up")
        await wait_for(lambda: appliance.ops("webserver", "guest1", "monitor"), 30, "webserver probed in guest1")
        assert webserver() == [] and not webserver_state(guest).exists()      # never granted: not started
        for command, running in (("grant", True), ("standby", False), ("activate", True), ("revoke", False)):
            appliance.drover("ticket", command, "ticketA")
            await wait_for(lambda running=running: (webserver() == [("guest1", "Started")]) == running
                           and webserver_state(guest).exists() == running, 30, f"webserver after {command}")
        assert appliance.placement().get("vm-guest1") == [(NODE, "Started")]  # the ticket stops only what it names
        shown = appliance.drover("ticket", "show").stdout
        assert shown.startswith("ticketA\trevoked " + " " * 9 + " last-granted='")   # crm_ticket -l's layout
    run(appliance, scenario)


def test_alerts_are_sent_for_the_walk_through_and_for_an_attribute_set_from_the_cli(appliance: Appliance,
                                                                                    tmp_path: Path):
    """Pacemaker's own alert_file.sh.sample, configured with `drover alert`, gets what happens as it happens."""
    log = tmp_path / "alerts.log"
    appliance.drover("alert", "create", "path=/usr/share/pacemaker/alerts/alert_file.sh.sample", "id=to-file")
    appliance.drover("alert", "recipient", "add", "to-file", f"value={log}")
    appliance.walkthrough()

    def logged() -> str:
        return log.read_text() if log.exists() else ""

    async def scenario():
        await wait_for(lambda: in_place(appliance), 30, "webserver started in guest1")
        wanted = [f"Resource operation 'start' for 'vm-guest1' on '{NODE}': ok",
                  "Node 'guest1' is now 'member'",
                  "Resource operation 'start' for 'webserver' on 'guest1': ok",
                  "Resource operation 'monitor (1000)' for 'webserver' on 'guest1': ok"]
        await wait_for(lambda: all(line in logged() for line in wanted), 30, "the walk-through's alerts", logged)
        assert "Resource operation 'monitor' for 'webserver'" not in logged()    # probes finding it stopped: none
        appliance.drover("attribute", f"--node={NODE}", "--name=site", "--update=east", "--lifetime=reboot")
        await wait_for(lambda: f"Attribute 'site' on node '{NODE}' was updated to 'east'" in logged(), 30,
                       "the attribute's alert")
    run(appliance, scenario)
