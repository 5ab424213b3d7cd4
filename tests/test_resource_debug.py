"""`drover resource debug-*` and `crm_resource --force-*`: one action of a resource's agent run here, outside
the cluster, side by side with real crm_resource on the exported CIB (the same agent, the same state)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_source

pytestmark = pytest.mark.timeout(120)


def drover(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_source("drover", *args, root=root)


def crm_resource(cib: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["crm_resource", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, CIB_file=str(cib)))


def test_debug_actions_run_the_agent_as_crm_resource_does_and_record_nothing(root: Path, tmp_path: Path):
    state = tmp_path / "web.state"
    assert drover(root, "resource", "create", "web", "ocf:heartbeat:Dummy", f"state={state}").returncode == 0
    cib = tmp_path / "cib.xml"
    cib.write_text(drover(root, "cib", "export").stdout)

    started = drover(root, "resource", "debug-start", "web")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0] == "Operation force-start for web (ocf:heartbeat:Dummy) returned 0 (ok)"
    assert state.exists()                                     # the agent ran, with the configured parameters
    theirs = crm_resource(cib, "--force-check", "-r", "web")   # Pacemaker's tool sees it running too
    assert (theirs.returncode, theirs.stdout.strip()) == (
        0, "Operation force-check for web (ocf:heartbeat:Dummy) returned 0 (ok)")
    ours = drover(root, "tool", "crm_resource", "--force-check", "-r", "web")
    assert (ours.returncode, ours.stdout.strip()) == (theirs.returncode, theirs.stdout.strip())

    assert crm_resource(cib, "--force-stop", "-r", "web").returncode == 0
    checked = drover(root, "resource", "debug-monitor", "web", "--full")
    assert checked.returncode == 7                            # the agent's exit code
    assert f"  state={state}" in checked.stdout
    assert "Operation force-check for web (ocf:heartbeat:Dummy) returned 7 (not running)" in checked.stdout
    theirs = crm_resource(cib, "--force-check", "-r", "web")
    assert theirs.returncode == 7

    status = drover(root, "status", "--output-as=xml").stdout
    assert "<operation_history" not in status and "node_history" not in status   # the cluster was not told


def test_a_virtual_domain_is_checked_through_libvirt(root: Path, tmp_path: Path):
    config = tmp_path / "test.xml"                # test:///default has a running domain named "test"
    config.write_text("<domain type='test'><name>test</name><memory>8192</memory>"
                      "<os><type>hvm</type></os></domain>")
    assert drover(root, "resource", "create", "vm", "VirtualDomain", f"config={config}",
                  "hypervisor=test:///default").returncode == 0
    checked = drover(root, "resource", "debug-monitor", "vm")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Operation force-check for vm (ocf:heartbeat:VirtualDomain) returned 0 (ok)")


@pytest.mark.parametrize(("setup", "args", "code", "message"), [
    ([], ["debug-start", "nope"], 105, "resource 'nope' does not exist"),
    ([["resource", "create", "a", "ocf:heartbeat:Dummy", "--group", "g"]], ["debug-start", "g"], 3,
     "Sorry, start of a group is not supported: give one of its primitives (a)"),
    ([["stonith", "create", "fence1", "fence_ipmilan", "ip=192.0.2.1", "pcmk_host_list=node1", "--force"]],
     ["debug-start", "fence1"], 3, "fence1 is a fence device: `drover stonith fence NODE` fences through it"),
])
def test_what_cannot_be_run_by_hand_is_named(root: Path, setup, args, code, message):
    for command in setup:
        made = drover(root, *command)
        assert made.returncode == 0, made.stderr
    refused = drover(root, "resource", *args)
    assert refused.returncode == code and message in refused.stderr, refused.stderr


def test_a_clone_runs_its_child_agent(root: Path, tmp_path: Path):
    state = tmp_path / "c.state"
    assert drover(root, "resource", "create", "c", "ocf:heartbeat:Dummy", f"state={state}", "clone").returncode == 0
    started = drover(root, "resource", "debug-start", "c-clone")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("Operation force-start for c-clone (ocf:heartbeat:Dummy) returned 0 (ok)")
    assert state.exists()


def test_a_guest_with_a_limited_access_policy_cannot_run_agents_on_the_hypervisor(root: Path, tmp_path: Path):
    state = tmp_path / "web.state"
    assert drover(root, "resource", "create", "web", "ocf:heartbeat:Dummy", f"state={state}").returncode == 0
    for policy in ("read-only", "own-node-attributes"):
        refused = run_source("drover", "resource", "debug-start", "web", root=root,
                             env={"DROVER_ACCESS": policy, "DROVER_CALLER_NODE": "guest1"})
        assert refused.returncode != 0 and "permission denied: guest guest1 may" in refused.stderr
        assert not state.exists()
