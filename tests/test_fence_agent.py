"""Fence agents run as Pacemaker's fencer runs them: the real fence_ipmilan (Debian's fence-agents) against
OpenIPMI's ipmi_sim (tests/ipmi_sim.py), whose chassis power is a real process; the stdin key=value
protocol, exit codes, metadata checks, timeouts and hostile parameter values."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from appliance.fencing.agent import FenceAgentError, FenceAgents, Power, agent_input, agent_path, check_params
from appliance.fencing.targets import TargetsError, host_map, targets
from guest.agents.process import ProcessRunner
from tests.ipmi_sim import IpmiSim, available

pytestmark = pytest.mark.timeout(120)
needs_ipmi = pytest.mark.skipif(not available(), reason="needs ipmi_sim, ipmitool and fence-agents "
                                "(make deps installs them)")


@pytest.fixture
def bmc(tmp_path: Path):
    sim = IpmiSim(tmp_path / "bmc").start()
    yield sim
    sim.close()


def run(coroutine):
    return asyncio.run(coroutine)


@needs_ipmi
def test_fence_ipmilan_reads_status_powers_off_and_on_a_bmc(bmc: IpmiSim):
    agents = FenceAgents(ProcessRunner())
    device = {**bmc.params, "pcmk_host_list": "node2", "pcmk_delay_max": "5s"}     # the fencer's, not its
    assert run(agents.run("fence_ipmilan", device, "status", 30)).power is Power.ON
    off = run(agents.run("fence_ipmilan", device, "off", 60))
    assert off.ok, off.reason
    assert not bmc.powered()                                   # the machine is really off
    assert run(agents.run("fence_ipmilan", device, "status", 30)).power is Power.OFF
    on = run(agents.run("fence_ipmilan", device, "on", 60))
    assert on.ok and bmc.powered()
    assert run(agents.run("fence_ipmilan", device, "monitor", 30)).ok


@needs_ipmi
def test_a_wrong_password_fails_with_the_agents_reason_and_the_power_is_untouched(bmc: IpmiSim):
    agents = FenceAgents(ProcessRunner())
    failed = run(agents.run("fence_ipmilan", {**bmc.params, "password": "wrong"}, "off", 60))
    assert not failed.ok and failed.exit_code == 1
    assert "Unable to obtain correct plug status" in failed.reason and "exit code 1" in failed.reason
    assert bmc.powered()


@needs_ipmi
def test_metadata_is_read_from_the_agent_and_checks_a_devices_parameters():
    agents = FenceAgents(ProcessRunner())
    metadata = run(agents.metadata("fence_ipmilan"))
    assert {"ip", "username", "password", "lanplus", "ipport"} <= {p.name for p in metadata.parameters}
    assert {"on", "off", "reboot", "status", "monitor"} <= {a.name for a in metadata.actions}
    check_params(metadata, {"ip": "10.0.0.1", "username": "u", "password": "p", "pcmk_host_list": "node1"})
    with pytest.raises(FenceAgentError, match="fence_ipmilan has no parameter ipaddress, pasword"):
        check_params(metadata, {"ipaddress": "10.0.0.1", "pasword": "p"})


def test_an_agent_that_hangs_is_killed_at_its_timeout(tmp_path: Path):
    hanging = tmp_path / "fence_hang"
    hanging.write_text("#!/bin/sh\ncat > /dev/null\nsleep 60\n")
    hanging.chmod(0o755)
    result = run(FenceAgents(ProcessRunner(), tmp_path).run("fence_hang", {}, "off", 0.5))
    assert not result.ok and result.reason == "timed out after 0.5s" and result.duration_ms < 5000


def test_the_agent_reads_the_devices_options_but_not_the_fencers_and_the_plug_is_set(tmp_path: Path):
    echo = tmp_path / "fence_echo"
    echo.write_text("#!/bin/sh\ncat\n")
    echo.chmod(0o755)
    result = run(FenceAgents(ProcessRunner(), tmp_path).run(
        "fence_echo", {"ip": "10.0.0.9", "pcmk_host_map": "node1:3", "action": "on", "port": "9"}, "reboot", 10,
        plug="3"))
    assert result.ok
    assert agent_input({"ip": "10.0.0.9", "pcmk_host_map": "node1:3", "priority": "1"}, "reboot", "3") == \
        b"ip=10.0.0.9\naction=reboot\nport=3\n"
    assert agent_input({"pcmk_host_argument": "plug"}, "off", "vm1") == b"action=off\nplug=vm1\n"


def test_a_value_that_would_add_a_key_of_its_own_and_a_bad_agent_name_are_refused(tmp_path: Path):
    with pytest.raises(FenceAgentError, match="password holds a line break"):
        agent_input({"password": "x\naction=on"}, "off")
    for name in ("../bin/sh", "ipmilan", "fence_a/b"):
        with pytest.raises(FenceAgentError, match="invalid fence agent name"):
            agent_path(name)
    with pytest.raises(FenceAgentError, match="fence_nothere not found in"):
        agent_path("fence_nothere", tmp_path)


def test_which_hosts_a_device_fences_follows_pacemakers_options():
    assert host_map("node1:1;node2:2, node3=vm-3 node4:4") == {"node1": "1", "node2": "2", "node3": "vm-3",
                                                               "node4": "4"}
    device = targets({"pcmk_host_list": "node1 node2", "pcmk_host_map": "node2:b2"})
    assert device.check == "static-list" and device.plug("node1") == "node1" and device.plug("node2") == "b2"
    assert device.plug("node3") is None
    assert targets({}).check == "dynamic-list"
    with pytest.raises(TargetsError, match="not HOST:PLUG"):
        host_map("node1")
    with pytest.raises(TargetsError, match="pcmk_host_check='sometimes'"):
        targets({"pcmk_host_check": "sometimes"})
