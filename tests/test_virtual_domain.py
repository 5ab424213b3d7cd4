"""The native VirtualDomain on libvirt's real test:///default driver: the agent's actions and return codes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import libvirt
import pytest

from appliance.hypervisor.libvirt_domain import Hypervisors, VirtualDomain, domain_name
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation

AGENT = AgentSpec("ocf", "VirtualDomain", "heartbeat")
URI = "test:///default"


@pytest.fixture(autouse=True)
def hypervisor():
    """test:///default keeps its domains while any connection to it is open (as a real libvirtd would)."""
    connection = libvirt.open(URI)
    yield connection
    connection.close()


@pytest.fixture
def domain_file(tmp_path: Path) -> Path:
    path = tmp_path / "vm.xml"
    path.write_text(f"<domain type='test'><name>vm-{uuid.uuid4().hex[:8]}</name><memory unit='MiB'>64</memory>"
                    "<os><type>hvm</type></os></domain>")
    return path


def run(action: str, params: dict[str, str], interval_ms: int = 0, timeout_ms: int = 20_000):
    agent = VirtualDomain(Hypervisors(), URI)
    return asyncio.run(agent.run(Operation("vm", AGENT, action, interval_ms, timeout_ms, params)))


def state(path: Path) -> int | None:
    connection = libvirt.open(URI)
    try:
        return connection.lookupByName(domain_name(path)).state()[0]
    except libvirt.libvirtError:
        return None
    finally:
        connection.close()


def test_start_monitor_stop_follow_the_domain(domain_file: Path):
    params = {"config": str(domain_file), "hypervisor": URI}
    assert run("monitor", params).rc == OcfRc.NOT_RUNNING            # probe: not defined yet
    assert run("start", params).rc == OcfRc.OK
    assert state(domain_file) == libvirt.VIR_DOMAIN_RUNNING
    assert run("start", params).rc == OcfRc.OK                         # already running: fine
    assert run("monitor", params, interval_ms=10_000).rc == OcfRc.OK
    assert run("stop", params).rc == OcfRc.OK                          # graceful shutdown
    assert state(domain_file) == libvirt.VIR_DOMAIN_SHUTOFF
    assert run("monitor", params, interval_ms=10_000).rc == OcfRc.NOT_RUNNING
    assert run("stop", params).rc == OcfRc.OK                          # stopping a stopped domain succeeds
    assert run("start", params).rc == OcfRc.OK                         # redefined from the file, same uuid
    assert state(domain_file) == libvirt.VIR_DOMAIN_RUNNING
    assert run("stop", {**params, "force_stop": "true"}).rc == OcfRc.OK
    assert state(domain_file) == libvirt.VIR_DOMAIN_SHUTOFF


def test_a_destroyed_domain_is_not_running(domain_file: Path):
    params = {"config": str(domain_file), "hypervisor": URI}
    assert run("start", params).rc == OcfRc.OK
    connection = libvirt.open(URI)
    connection.lookupByName(domain_name(domain_file)).destroy()
    connection.close()
    assert run("monitor", params, interval_ms=10_000).rc == OcfRc.NOT_RUNNING


def test_stateless_domains_are_created_not_defined(domain_file: Path):
    params = {"config": str(domain_file), "hypervisor": URI, "stateless": "true"}
    assert run("start", params).rc == OcfRc.OK
    connection = libvirt.open(URI)
    try:
        assert not connection.lookupByName(domain_name(domain_file)).isPersistent()
    finally:
        connection.close()
    assert run("stop", params).rc == OcfRc.OK
    assert state(domain_file) is None                                   # a transient domain is gone when stopped


@pytest.mark.parametrize(("params", "rc", "reason"), [
    ({"config": ""}, OcfRc.ERR_CONFIGURED, "the config parameter (domain XML file) is required"),
    ({"config": "/nonexistent/vm.xml"}, OcfRc.ERR_INSTALLED, "cannot read /nonexistent/vm.xml"),
    ({"shutdown_mode": "teleport"}, OcfRc.ERR_CONFIGURED, "unknown shutdown_mode 'teleport'"),
])
def test_bad_parameters_are_named(domain_file: Path, params: dict, rc: int, reason: str):
    result = run("start", {"config": str(domain_file), "hypervisor": URI, **params})
    assert (result.rc, result.exit_reason) == (rc, reason) or (result.rc == rc and reason in result.exit_reason)
    assert state(domain_file) is None                                   # nothing was defined


def test_a_probe_with_a_missing_file_means_not_running_here():
    result = run("monitor", {"config": "/nonexistent/vm.xml", "hypervisor": URI})
    assert (result.exec_status, result.rc) == (ExecStatus.DONE, OcfRc.NOT_RUNNING)


def test_a_stop_with_a_missing_file_succeeds_as_resource_agents_does():
    """A stop that fails leaves the resource FAILED (unmanaged) for good: without its config the domain cannot
    even be named, so it is taken as stopped, as resource-agents' VirtualDomain does."""
    result = run("stop", {"config": "/nonexistent/vm.xml", "hypervisor": URI})
    assert (result.exec_status, result.rc, result.exit_reason) == (ExecStatus.DONE, OcfRc.OK, "")
    assert run("start", {"config": "/nonexistent/vm.xml", "hypervisor": URI}).rc == OcfRc.ERR_INSTALLED


def test_not_xml_and_not_a_domain(tmp_path: Path):
    garbage, other = tmp_path / "garbage.xml", tmp_path / "network.xml"
    garbage.write_text("<domain><name>x")
    other.write_text("<network><name>x</name></network>")
    assert "not valid XML" in run("start", {"config": str(garbage), "hypervisor": URI}).exit_reason
    assert "not a libvirt <domain>" in run("start", {"config": str(other), "hypervisor": URI}).exit_reason


def test_an_unreachable_hypervisor_is_a_generic_error(domain_file: Path):
    result = run("monitor", {"config": str(domain_file), "hypervisor": "test:///nonexistent-file.xml"},
                 interval_ms=10_000)
    assert result.rc == OcfRc.ERR_GENERIC and "cannot connect to test:///nonexistent-file.xml" in result.exit_reason


def test_unsupported_actions_say_so(domain_file: Path):
    result = run("promote", {"config": str(domain_file), "hypervisor": URI})
    assert (result.exec_status, result.rc) == (ExecStatus.NOT_SUPPORTED, OcfRc.UNIMPLEMENTED)
