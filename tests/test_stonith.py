"""Fence devices as users make them (`drover stonith ...`, pcs's spelling) and as the daemon runs them: started
after the real fence_ipmilan reached its BMC (OpenIPMI's ipmi_sim), monitored, failed when the BMC goes away."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.appliance_harness import Appliance
from tests.conftest import run_source
from tests.guestd import GuestDaemon
from tests.ipmi_sim import IpmiSim, available

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not available(), reason="needs ipmi_sim, ipmitool and fence-agents (make deps)")]


def drover(root: Path, *args: str):
    return run_source("drover", *args, root=root)


def test_stonith_create_checks_the_agents_metadata_and_the_fencers_options(tmp_path: Path):
    local = drover(tmp_path, "node", "list").stdout.split(":")[0]
    device = ["ipmi-node2", "fence_ipmilan", "ip=10.0.0.12", "username=admin", "password=secret", "lanplus=1",
              "pcmk_host_list=node2", "pcmk_delay_max=10s"]
    stranger = drover(tmp_path, "stonith", "create", *device)
    assert stranger.returncode == 1 and f"ipmi-node2: pcmk_host_list/pcmk_host_map name node2, not a node of this " \
        f"cluster (its nodes: {local}); use --force to override" in stranger.stderr
    unmapped = drover(tmp_path, "stonith", "create", "m2", "fence_ipmilan", "ip=1", f"pcmk_host_map={local}:1;nodeX:2")
    assert unmapped.returncode == 1 and "name nodeX, not a node of this cluster" in unmapped.stderr
    made = drover(tmp_path, "stonith", "create", *device, "--force")        # a host about to be added
    assert made.returncode == 0, made.stderr
    config = drover(tmp_path, "stonith", "config").stdout
    assert " Resource: ipmi-node2 (class=stonith type=fence_ipmilan)" in config
    assert "Operations: monitor interval=60s (ipmi-node2-monitor-interval-60s)" in config     # pcs's default
    assert "pcmk_host_list=node2 pcmk_delay_max=10s" in config
    assert drover(tmp_path, "stonith", "show").stdout == config                   # pcs 0.10's spelling
    typo = drover(tmp_path, "stonith", "create", "typo", "fence_ipmilan", "ipaddress=10.0.0.12", "pasword=x")
    assert typo.returncode == 1
    assert "fence_ipmilan has no parameter ipaddress, pasword (its parameters: auth, cipher," in typo.stderr
    missing = drover(tmp_path, "stonith", "create", "nope", "fence_nothere", "ip=1")
    assert missing.returncode == 1 and "fence agent fence_nothere not found in /usr/sbin" in missing.stderr
    assert drover(tmp_path, "stonith", "create", "later", "fence_nothere", "ip=1", "--force").returncode == 0
    for option, message in (("pcmk_delay_max=soon", "invalid pcmk_delay_max 'soon': expected a duration"),
                            ("pcmk_reboot_timeout=1x", "invalid pcmk_reboot_timeout '1x': expected a duration"),
                            ("pcmk_off_retries=two", "invalid pcmk_off_retries 'two': expected a whole number")):
        refused = drover(tmp_path, "stonith", "create", "d", "fence_ipmilan", "ip=1", f"pcmk_host_list={local}",
                         option)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr    # not a silent 0
    bad_map = drover(tmp_path, "stonith", "create", "m", "fence_ipmilan", "ip=1", "pcmk_host_map=node1")
    assert bad_map.returncode == 1 and "pcmk_host_map entry 'node1' is not HOST:PLUG" in bad_map.stderr
    assert drover(tmp_path, "resource", "create", "web", "ocf:heartbeat:Dummy").returncode == 0
    not_device = drover(tmp_path, "stonith", "delete", "web")
    assert not_device.returncode == 1 and "'web' is not a stonith device" in not_device.stderr
    assert drover(tmp_path, "stonith", "disable", "ipmi-node2").returncode == 0
    assert "* ipmi-node2\t(stonith:fence_ipmilan):\t Stopped (disabled)" in drover(tmp_path, "stonith",
                                                                                  "status").stdout
    assert drover(tmp_path, "stonith", "update", "ipmi-node2", "ip=10.0.0.13").returncode == 0
    assert "ip=10.0.0.13" in drover(tmp_path, "stonith", "config", "ipmi-node2").stdout
    assert drover(tmp_path, "stonith", "delete", "later").returncode == 0
    assert "fence_ipmilan" in drover(tmp_path, "stonith", "list", "ipmi").stdout.split()
    assert "ipport" in drover(tmp_path, "stonith", "describe", "fence_ipmilan").stdout
    exported = drover(tmp_path, "cib", "export").stdout
    assert '<primitive id="ipmi-node2" class="stonith" type="fence_ipmilan">' in exported


@pytest.fixture
def guest(tmp_path: Path):
    daemon = GuestDaemon(tmp_path / "guest1").start()
    yield daemon
    daemon.stop()


def wait(predicate, what: str, timeout_s: float = 40.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_daemon_starts_a_fence_device_once_its_bmc_answers_and_fails_it_when_the_bmc_goes(
        tmp_path: Path, guest: GuestDaemon):
    bmc = IpmiSim(tmp_path / "bmc").start()
    appliance = Appliance(tmp_path, guest)
    try:
        params = [f"{k}={v}" for k, v in bmc.params.items()]
        appliance.drover("stonith", "create", "ipmi-node2", "fence_ipmilan", *params, "pcmk_host_list=node2",
                         "op", "monitor", "interval=2s", "timeout=5s", "--force")
        appliance.start_process()
        # started (not pending) and its recurring monitor has answered once
        wait(lambda: any(op.rc_code == 0 and op.op_status == 0 for op in appliance.ops("ipmi-node2", "node1", "start"))
             and any(op.interval_ms == 2000 and op.rc_code == 0 and op.op_status == 0
                     for op in appliance.ops("ipmi-node2", "node1", "monitor")), "the device to start")
        assert appliance.placement().get("ipmi-node2") == [("node1", "Started")]
        assert bmc.powered()                                 # starting a device powers nothing off
        bmc.close()                                          # the BMC stops answering
        shown = wait(lambda: (lambda s: s if "Failed Resource Actions:" in s else "")(
            appliance.drover("status").stdout), "the monitor failure in status")
        assert "* ipmi-node2 2s-interval monitor on node1 could not be executed (Timed Out: fence_ipmilan " \
               "monitor: timed out after 5s)" in shown, shown
    finally:
        appliance.kill_process()
        bmc.close()


def test_fencing_levels_as_pcs_makes_them_exported_as_pacemaker_xml_and_imported_back(tmp_path: Path):
    for device in ("f1", "f2"):
        assert drover(tmp_path, "stonith", "create", device, "fence_ipmilan", "ip=10.0.0.1",
                      "pcmk_host_list=node2", "--force").returncode == 0
    for args in (("1", "node2", "f1"), ("2", "node2", "f1,f2"), ("1", "regexp%^node[0-9]$", "f2"),
                 ("1", "attrib%rack=r1", "f1", "f2")):
        made = drover(tmp_path, "stonith", "level", "add", *args, "--force")      # node2 not a member here
        assert made.returncode == 0, made.stderr
    assert drover(tmp_path, "stonith", "level").stdout == (
        "Target: node2\n  Level 1 - f1\n  Level 2 - f1,f2\nTarget: regexp%^node[0-9]$\n  Level 1 - f2\n"
        "Target: attrib%rack=r1\n  Level 1 - f1,f2\n")
    exported = drover(tmp_path, "cib", "export").stdout
    assert '<fencing-level id="fl-node2-2" target="node2" index="2" devices="f1,f2" />' in exported
    assert '<fencing-level id="fl-rack-1" target-attribute="rack" target-value="r1" index="1" devices="f1,f2" />' \
        in exported
    (tmp_path / "cib.xml").write_text(exported)
    verified = subprocess.run(["crm_verify", "-x", str(tmp_path / "cib.xml")], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    other = tmp_path / "other"
    assert drover(other, "cib", "import", str(tmp_path / "cib.xml")).returncode == 0
    assert drover(other, "stonith", "level").stdout == drover(tmp_path, "stonith", "level").stdout
    assert drover(other, "cib", "export").stdout.split("<fencing-topology>")[1].split("</fencing-topology>")[0] \
        == exported.split("<fencing-topology>")[1].split("</fencing-topology>")[0]

    refused = {args: drover(tmp_path, "stonith", "level", "add", *args) for args in (
        ("1", "node2", "web"), ("10", "node2", "f1"), ("1", "node9", "f1"), ("1", "regexp%(", "f1"),
        ("1", "attrib%rack", "f1"), ("1", "node2", "f2", "--force"))}
    assert all(result.returncode != 0 for result in refused.values())
    messages = "".join(result.stderr for result in refused.values())
    for expected in ("web is not a stonith device, use --force to override",
                     "invalid fencing level index '10': expected 1 to 9",
                     "Node 'node9' does not seem to be in the cluster, use --force to override",
                     "invalid fencing target pattern '('", "expected attrib%NAME=VALUE",
                     "duplicate id 'fl-node2-1'"):
        assert expected in messages, messages
    assert drover(tmp_path, "stonith", "level", "remove", "2", "node2").returncode == 0
    gone = drover(tmp_path, "stonith", "level", "remove", "2", "node2")
    assert gone.returncode == 1 and "Fencing level for 'node2' at level '2' does not exist" in gone.stderr
    assert drover(tmp_path, "stonith", "level", "clear", "node2").returncode == 0
    assert "node2" not in drover(tmp_path, "stonith", "level").stdout
    assert drover(tmp_path, "stonith", "level", "clear").returncode == 0
    assert drover(tmp_path, "stonith", "level").stdout == ""
    assert "<fencing-topology" not in drover(tmp_path, "cib", "export").stdout


def test_a_cib_with_a_bad_fencing_level_is_refused_naming_it(tmp_path: Path):
    bad = tmp_path / "bad.xml"
    bad.write_text('<cib><configuration><crm_config/><nodes/><resources/><constraints/><fencing-topology>'
                   '<fencing-level id="fl1" target="node1" index="0" devices="f1"/></fencing-topology>'
                   '</configuration><status/></cib>')
    refused = drover(tmp_path, "cib", "import", str(bad))
    assert refused.returncode != 0 and "invalid fencing level index '0'" in refused.stderr
    assert "fencing-level" in refused.stderr                        # where in the file


def test_stonith_fence_powers_the_node_off_through_its_bmc_and_history_tells_how_it_ended(tmp_path: Path):
    local = socket.gethostname().split(".")[0]              # a lone host's node name
    bmc = IpmiSim(tmp_path / "bmc").start()
    try:
        params = [f"{k}={v}" for k, v in {**bmc.params, "password": "wrong"}.items()]
        assert drover(tmp_path, "stonith", "create", "ipmi", "fence_ipmilan", *params,
                      f"pcmk_host_list={local}").returncode == 0
        assert drover(tmp_path, "resource", "create", "vm-guest1", "ocf:heartbeat:VirtualDomain",
                      "config=/nonexistent.xml", "meta", "remote-node=guest1", "--force").returncode == 0
        failed = drover(tmp_path, "stonith", "fence", local, "--off")
        assert failed.returncode == 1 and f"unable to fence '{local}': ipmi on {local}: " in failed.stderr
        assert "Unable to obtain correct plug status" in failed.stderr and bmc.powered()
        assert drover(tmp_path, "stonith", "update", "ipmi", f"password={bmc.params['password']}").returncode == 0
        done = drover(tmp_path, "stonith", "fence", local, "--off")
        assert done.returncode == 0 and done.stdout == f"Node: {local} fenced\n", done.stderr
        assert not bmc.powered()                             # really off
        history = drover(tmp_path, "stonith", "history", local).stdout.splitlines()
        assert history[0].startswith(f"off of {local} failed: delegate={local}, client=drover stonith fence, "
                                     f"origin={local}, last-failed='")
        assert history[1].startswith(f"off of {local} successful: delegate={local}, client=drover stonith fence, "
                                     f"origin={local}, completed='") and history[2] == "2 events found"
        assert f'<node_state id="{local}" uname="{local}" in_ccm="false" crmd="offline" join="down" ' \
            'expected="down" />' in drover(tmp_path, "cib", "export").stdout           # recorded fenced
        guest = drover(tmp_path, "stonith", "fence", "guest1")
        assert guest.returncode == 1 and "drover resource restart vm-guest1" in guest.stderr
        unknown = drover(tmp_path, "stonith", "fence", "nodeX")
        assert unknown.returncode == 1 and "Node 'nodeX' does not seem to be in the cluster" in unknown.stderr
        assert drover(tmp_path, "stonith", "history", "cleanup").returncode == 0
        assert drover(tmp_path, "stonith", "history").stdout == "0 events found\n"
    finally:
        bmc.close()


def test_unfencing_powers_the_host_on_through_its_bmc_before_its_resources_are_probed_or_started(
        tmp_path: Path, guest: GuestDaemon):
    bmc = IpmiSim(tmp_path / "bmc").start(powered=False)        # the host's access is cut off until unfenced
    appliance = Appliance(tmp_path, guest)
    log = tmp_path / "r1.log"
    try:
        params = [f"{k}={v}" for k, v in bmc.params.items()]
        appliance.drover("property", "set", "stonith-enabled=true")
        appliance.drover("stonith", "create", "ipmi-node1", "fence_ipmilan", *params, "pcmk_host_list=node1",
                         "meta", "provides=unfencing", "--force")
        appliance.drover("resource", "create", "r1", "ocf:test:counted", f"log={log}")
        appliance.start_process()
        wait(lambda: appliance.placement().get("r1") == [("node1", "Started")], "r1 to start")
        assert bmc.powered()                                 # the device's "on" really reached the BMC
        history = appliance.drover("stonith", "history", "node1").stdout
        assert history.startswith("on of node1 successful: delegate=node1"), history
        assert "#node-unfenced" in appliance.drover("cib", "export").stdout
        lines = appliance.log().splitlines()
        unfenced = next(i for i, line in enumerate(lines) if "node1 fenced (on) by ipmi-node1 from node1" in line)
        probed = next(i for i, line in enumerate(lines) if "r1_monitor_0" in line)
        assert unfenced < probed, "\n".join(lines)
        assert log.read_text().split() == ["start"]
        assert json.loads(appliance.drover("simulate", "--output-as=json").stdout)["actions"] == []
    finally:
        appliance.kill_process()
        bmc.close()
