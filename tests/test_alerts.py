"""Alerts: the events read from status changes, the agents run for them (Pacemaker's own alert_file.sh.sample,
a hanging agent killed at its timeout), `drover alert` as pcs has it, and <alerts> kept through import and export."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from pathlib import Path

import pytest

from appliance.alert_sender import AlertSender, timestamp
from appliance.engine import alert_events
from appliance.engine.records import transition_extra
from appliance.model.alerts import Alert, AlertSelect, Recipient
from appliance.model.attributes import Attributes
from appliance.model.cib_read import read_cib
from appliance.model.cib_write import write_cib
from appliance.model.fence_history import FenceEvent
from appliance.model.resources import AgentRef
from appliance.model.status import FailCount, NodeState, OpRecord, ResourceHistory, Status
from guest.common.aio import within
from tests.test_config_cli import Drover, drover  # noqa: F401  (the fixture)

SAMPLE = Path("/usr/share/pacemaker/alerts/alert_file.sh.sample")
DUMMY = AgentRef("ocf", "Dummy", "heartbeat")


def _op(op_id: str, task: str, call: int, rc: int, target: int = 0, interval: int = 0, status: int = 0) -> OpRecord:
    return OpRecord(op_id, task, interval, call, rc, status, extra=transition_extra(target, status, rc))


def _online(name: str, node_id: str = "1") -> NodeState:
    return NodeState(name, node_id, "true", "online", "member", "member")


def test_a_status_change_gives_pacemakers_events_for_it() -> None:
    before = Status(nodes=(_online("node1"), NodeState("node2", "2")),
                    attributes=(("node1", Attributes.of({"standby": "off", "gone": "1"})),),
                    history=(ResourceHistory("node1", "web", DUMMY, (_op("web_last_0", "monitor", 1, 7, target=7),)),),
                    fencing=(FenceEvent("f1", "node3", "reboot", "pending", "node1", "drover-controller", 10),))
    after = dataclasses.replace(
        before, nodes=(_online("node1"), _online("node2", "2")),
        attributes=(("node1", Attributes.of({"standby": "on"})),),
        fail_counts=(FailCount("node1", "db", "start", 0, 1),),
        history=(ResourceHistory("node1", "web", DUMMY, (_op("web_last_0", "start", 2, 0),
                                                         _op("web_monitor_30000", "monitor", 3, 0, interval=30000))),
                 ResourceHistory("node1", "db", DUMMY, (_op("db_last_0", "monitor", 4, 7, target=7),
                                                        _op("db_last_failure_0", "start", 5, 1)))),
        fencing=(before.fencing[0].finished("done", 12, "node1", "ipmi"),))
    found = [(e.kind, dict(e.fields)) for e in alert_events.events(before, after)]
    assert found == [
        ("node", {"node": "node2", "desc": "member", "nodeid": "2"}),
        ("fencing", {"node": "node3", "task": "reboot", "rc": "0",
                     "desc": "Operation reboot of node3 by node1 for drover-controller@node1: OK"}),
        ("resource", {"node": "node1", "rsc": "web", "task": "start", "interval": "0", "target_rc": "0",
                      "status": "0", "rc": "0", "exec_time": "0", "desc": "ok"}),
        ("resource", {"node": "node1", "rsc": "web", "task": "monitor", "interval": "30000", "target_rc": "0",
                      "status": "0", "rc": "0", "exec_time": "0", "desc": "ok"}),
        # db's probe found it stopped as expected: no alert (Pacemaker's executor skips those); its start failed
        ("resource", {"node": "node1", "rsc": "db", "task": "start", "interval": "0", "target_rc": "0",
                      "status": "0", "rc": "1", "exec_time": "0", "desc": "error"}),
        ("attribute", {"node": "node1", "attribute_name": "standby", "attribute_value": "on"}),
        ("attribute", {"node": "node1", "attribute_name": "fail-count-db#start_0", "attribute_value": "1"}),
        ("attribute", {"node": "node1", "attribute_name": "gone"}),
    ]
    assert alert_events.events(after, after) == []
    lost = dataclasses.replace(after, nodes=(_online("node1"), NodeState("node2", "2")))
    assert [dict(e.fields) for e in alert_events.events(after, lost)] == [
        {"node": "node2", "desc": "lost", "nodeid": "2"}]
    timed_out = dataclasses.replace(after, history=(ResourceHistory("node1", "web", DUMMY, (
        _op("web_last_0", "start", 2, 0), _op("web_monitor_30000", "monitor", 6, 1, interval=30000, status=2))),))
    assert [e.fields.get("desc") for e in alert_events.events(after, timed_out) if e.kind == "resource"] == [
        "Timed Out"]


def test_timestamps_take_pacemakers_fraction_digits() -> None:
    now = time.mktime((2026, 12, 7, 10, 20, 30, 0, 0, -1)) + 0.123456
    assert timestamp("%H:%M:%S.%06N", now) == "10:20:30.123456"
    assert timestamp("%Y-%m-%d %H:%M:%S.%3N", now) == "2026-12-07 10:20:30.123"


def _sender_run(alerts: tuple[Alert, ...], events: list[alert_events.AlertEvent], wait: float = 20) -> float:
    async def main() -> float:
        sender = AlertSender("0.1.0")
        assert sender.configure(alerts)
        started = time.monotonic()
        sender.send(events)
        await within(sender.drained(), wait)
        elapsed = time.monotonic() - started
        await sender.close(5)
        return elapsed
    return asyncio.run(main())


NODE_UP = alert_events.AlertEvent("node", Attributes.of({"node": "node2", "desc": "member", "nodeid": "2"}))
WEB_START = alert_events.AlertEvent("resource", Attributes.of({
    "node": "guest1", "rsc": "webserver", "task": "start", "interval": "0", "target_rc": "0", "status": "0",
    "rc": "0", "exec_time": "12", "desc": "ok"}))
STANDBY = alert_events.AlertEvent("attribute", Attributes.of({"node": "node1", "attribute_name": "standby",
                                                              "attribute_value": "on"}), "standby")
OTHER = alert_events.AlertEvent("attribute", Attributes.of({"node": "node1", "attribute_name": "other",
                                                            "attribute_value": "1"}), "other")


@pytest.mark.timeout(60)
def test_pacemakers_alert_file_sample_writes_each_event_to_each_recipient(tmp_path: Path) -> None:
    everything, selected = tmp_path / "all.log", tmp_path / "selected.log"
    alert = Alert("file", str(SAMPLE), meta=Attributes.of({"timestamp-format": "%Y"}), recipients=(
        Recipient("file-all", str(everything)),
        Recipient("file-some", str(selected), select=AlertSelect(("resource", "attribute"), ("standby",)))))
    _sender_run((alert,), [NODE_UP, WEB_START, STANDBY, OTHER])
    year = time.strftime("%Y")
    assert sorted(everything.read_text().splitlines()) == sorted([
        f"{year}: Node 'node2' is now 'member'",
        f"{year}: Resource operation 'start' for 'webserver' on 'guest1': ok",
        f"{year}: Attribute 'standby' on node 'node1' was updated to 'on'",
        f"{year}: Attribute 'other' on node 'node1' was updated to '1'"])
    assert sorted(selected.read_text().splitlines()) == sorted([
        f"{year}: Resource operation 'start' for 'webserver' on 'guest1': ok",
        f"{year}: Attribute 'standby' on node 'node1' was updated to 'on'"])


@pytest.mark.timeout(60)
def test_a_hanging_agent_is_killed_at_its_timeout_and_holds_up_no_other(tmp_path: Path) -> None:
    hang = tmp_path / "hang.sh"
    hang.write_text(f"#!/bin/sh\necho started >> {tmp_path}/hang.log\nsleep 300\n"
                    f"echo finished >> {tmp_path}/hang.log\n")
    hang.chmod(0o755)
    log = tmp_path / "file.log"
    alerts = (Alert("hang", str(hang), meta=Attributes.of({"timeout": "1s"})),
              Alert("file", str(SAMPLE), recipients=(Recipient("file-r", str(log)),)))
    elapsed = _sender_run(alerts, [NODE_UP, WEB_START])
    assert elapsed < 10                                   # the two hangs were killed after 1 s, not 300
    assert (tmp_path / "hang.log").read_text() == "started\nstarted\n"
    assert len(log.read_text().splitlines()) == 2


def test_an_agent_gets_the_alert_variables_and_its_options(tmp_path: Path) -> None:
    dump = tmp_path / "dump.sh"
    dump.write_text(f"#!/bin/sh\nenv | grep -E '^(CRM_|site=)' | sort > {tmp_path}/env.txt\n")
    dump.chmod(0o755)
    alert = Alert("dump", str(dump), params=Attributes.of({"site": "a"}),
                  recipients=(Recipient("dump-r", "ops@example.com", params=Attributes.of({"site": "b"})),))
    _sender_run((alert,), [WEB_START])
    env = dict(line.split("=", 1) for line in (tmp_path / "env.txt").read_text().splitlines())
    assert env["site"] == "b"                                     # the recipient's option wins over the alert's
    for name, value in (("kind", "resource"), ("rsc", "webserver"), ("task", "start"), ("rc", "0"),
                        ("recipient", "ops@example.com"), ("version", "0.1.0"), ("node_sequence", "1"),
                        ("desc", "ok"), ("node", "guest1")):
        assert env[f"CRM_alert_{name}"] == env[f"CRM_notify_{name}"] == value
    assert env["CRM_alert_timestamp_epoch"].isdigit() and len(env["CRM_alert_timestamp_usec"]) == 6


def test_pcs_alert_commands_configure_alerts_and_recipients(drover: Drover, tmp_path: Path) -> None:  # noqa: F811
    assert drover.ok("alert").splitlines() == ["Alerts:", " No alerts defined"]
    drover.ok("alert", "create", f"path={SAMPLE}", "description=to a file", "options", "a=1", "meta", "timeout=5s")
    drover.ok("alert", "recipient", "add", "alert", "value=/var/log/alerts.log")
    drover.ok("alert", "recipient", "add", "alert", "value=/var/log/other.log", "id=other", "options", "x=y z")
    drover.ok("alert", "update", "alert", "options", "a=", "meta", "timestamp-format=%Y")
    assert drover.ok("alert", "config").splitlines() == [
        "Alerts:",
        f" Alert: alert (path={SAMPLE})",
        "  Description: to a file",
        "  Meta options: timeout=5s timestamp-format=%Y",
        "  Recipients:",
        "   Recipient: alert-recipient (value=/var/log/alerts.log)",
        "   Recipient: other (value=/var/log/other.log)",
        '    Options: x="y z"']
    refused = [
        (("alert", "create"), "drover: required option 'path' is missing\n"),
        (("alert", "create", "path=/x", "id=other"), "drover: 'other' already exists\n"),
        (("alert", "create", "path=/x", "bogus=1"), "drover: invalid option 'bogus'"),
        (("alert", "recipient", "add", "alert", "value=/var/log/alerts.log"),
         "drover: Recipient '/var/log/alerts.log' in alert 'alert' already exists, use --force to override\n"),
        (("alert", "recipient", "add", "nope", "value=/x"), "drover: alert 'nope' does not exist\n"),
        (("alert", "recipient", "update", "nope", "value=/x"), "drover: recipient 'nope' does not exist\n"),
        (("alert", "delete", "alert", "nope"), "drover: alert 'nope' does not exist\n"),
    ]
    before = drover.state_bytes()
    for argv, message in refused:
        result = drover(*argv)
        assert result.code != 0 and result.err.startswith(message), (argv, result.err)
        assert drover.state_bytes() == before, argv
    exported = tmp_path / "exported.xml"
    exported.write_text(drover.ok("cib", "export"))
    verify = subprocess.run(["crm_verify", "--xml-file", str(exported)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
    alerts = read_cib(exported.read_bytes(), "exported").configuration.alerts
    assert [(a.id, [r.id for r in a.recipients]) for a in alerts] == [("alert", ["alert-recipient", "other"])]
    drover.ok("alert", "recipient", "remove", "other")
    drover.ok("alert", "delete", "alert")
    assert drover.cib().configuration.alerts == ()


def test_an_imported_cib_keeps_its_alerts_with_their_selections() -> None:
    text = f"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration>
      <crm_config/><nodes/><resources/><constraints/>
      <alerts><alert id="a" path="{SAMPLE}">
        <select><select_nodes/><select_attributes><attribute id="a-s" name="standby"/></select_attributes></select>
        <meta_attributes id="a-m"><nvpair id="a-m1" name="timeout" value="10s"/></meta_attributes>
        <recipient id="a-r" value="/tmp/a.log"><select><select_fencing/></select></recipient>
      </alert></alerts></configuration><status/></cib>"""
    cib = read_cib(text.encode(), "alerts.xml")
    alert = cib.configuration.alerts[0]
    assert alert.select == AlertSelect(("node", "attribute"), ("standby",))
    assert alert.recipients[0].select == AlertSelect(("fencing",))
    assert read_cib(write_cib(cib).encode(), "exported").configuration.alerts == cib.configuration.alerts
