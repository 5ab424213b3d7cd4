"""Cluster tools inside a guest: `drover-guest status|attribute|resource`, the crm_* tools agents call, the access
policy, and a promotable agent (ocf:pacemaker:Stateful) promoted from its own crm_attribute calls in the guest.

The guest is a real drover-guest process; its commands travel over its Unix
socket and the authenticated 3121 session to an in-process controller.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.guestlink.cli_proxy import validate
from appliance.guestlink.client import RemoteError
from tests.appliance_harness import NODE, Appliance, wait_for
from tests.conftest import MODULES, TOP, clean_environment
from tests.guestd import GuestDaemon


def guest_cli(guest: GuestDaemon, *args: str, program: list[str] | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run drover-guest (or one of its tools) inside the guest, off the event loop."""
    command = program or [sys.executable, "-m", MODULES["drover-guest"]]
    environment = clean_environment(DROVER_ROOT=str(guest.root), PYTHONPATH=str(TOP), **(env or {}))
    return subprocess.run([*command, *args], env=environment, capture_output=True, text=True, timeout=120)


async def in_guest(guest: GuestDaemon, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(guest_cli, guest, *args, **kwargs)


def setup(tmp_path: Path, monkeypatch, policy: str | None = None) -> tuple[Appliance, GuestDaemon]:
    settings = f"[access]\npolicy = {policy}\n" if policy else ""
    guest_run = tmp_path / "guest1-run"            # each node's agents keep their state apart (HA_VARRUN too)
    guest_run.mkdir()
    guest = GuestDaemon(tmp_path / "guest1", settings=settings).start(env={"HA_VARRUN": str(guest_run)})
    host_rsctmp = tmp_path / "node1-rsctmp"
    host_rsctmp.mkdir()
    monkeypatch.setenv("HA_RSCTMP", str(host_rsctmp))
    monkeypatch.setenv("HA_VARRUN", str(host_rsctmp))
    appliance = Appliance(tmp_path, guest)
    appliance.walkthrough()
    return appliance, guest


def run(appliance: Appliance, guest: GuestDaemon, scenario) -> None:
    async def main():
        appliance.start_in_process()
        try:
            await wait_for(lambda: appliance.placement().get("webserver") == [("guest1", "Started")], 30,
                           "walk-through done")
            await scenario()
        finally:
            await appliance.stop_in_process()
    try:
        asyncio.run(main())
    finally:
        guest.stop()


def roles(appliance: Appliance, base: str) -> list[tuple[str, str]]:
    """(node, role) of every instance of a clone's primitive."""
    return [place for rid, places in appliance.placement().items() if rid.split(":")[0] == base for place in places]


def without_clock(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "Last updated:" not in line)


def test_status_inside_the_guest_is_the_hosts(tmp_path: Path, monkeypatch):
    appliance, guest = setup(tmp_path, monkeypatch)

    async def scenario():
        inside = await in_guest(guest, "status")
        assert inside.returncode == 0, inside.stderr
        assert without_clock(inside.stdout) == without_clock(appliance.drover("status").stdout)
        assert f"  * Online: [ {NODE} ]\n  * GuestOnline: [ guest1 ]\n" in inside.stdout
        xml = await in_guest(guest, "tool", "crm_mon", "-1", "--output-as=xml")
        assert '<resource id="webserver"' in xml.stdout
        located = await in_guest(guest, "tool", "crm_resource", "--locate", "-r", "webserver")
        assert located.stdout == "resource webserver is running on: guest1\n"
        name = await in_guest(guest, "tool", "crm_node", "-n")
        assert name.stdout == "guest1\n"                     # the node the connection belongs to
    run(appliance, guest, scenario)


def test_default_policy_allows_own_node_attributes_only(tmp_path: Path, monkeypatch):
    appliance, guest = setup(tmp_path, monkeypatch)

    async def scenario():
        own = await in_guest(guest, "attribute", "--name", "rack", "--update", "r1", "--lifetime", "reboot")
        assert own.returncode == 0, own.stderr
        assert appliance.cib().status.transient("guest1").get("rack") == "r1"
        query = await in_guest(guest, "attribute", "--name", "rack", "--lifetime", "reboot", "--quiet")
        assert query.stdout == "r1\n"
        before = appliance.state_db.read_bytes()
        other = await in_guest(guest, "attribute", "--node", NODE, "--name", "rack", "--update", "x")
        assert other.returncode == 4
        assert "permission denied: guest guest1 may change only the attributes of guest1" in other.stderr
        config = await in_guest(guest, "resource", "move", "webserver", NODE)
        assert config.returncode == 4 and "permission denied" in config.stderr
        assert appliance.cib().configuration.constraint("cli-prefer-webserver") is None
        assert before == appliance.state_db.read_bytes() or appliance.cib().status.transient(NODE).get("rack") is None
    run(appliance, guest, scenario)


def test_read_only_policy_changes_nothing(tmp_path: Path, monkeypatch):
    appliance, guest = setup(tmp_path, monkeypatch, policy="read-only")

    async def scenario():
        assert (await in_guest(guest, "status")).returncode == 0
        denied = await in_guest(guest, "attribute", "--name", "rack", "--update", "r1", "--lifetime", "reboot")
        assert denied.returncode == 4 and "may only read (access policy read-only)" in denied.stderr
        assert appliance.cib().status.transient("guest1").get("rack") is None
        for argv in (("ticket", "grant", "ticketA"), ("tool", "crm_ticket", "-t", "ticketA", "-g", "--force")):
            refused = await in_guest(guest, *argv)
            assert refused.returncode == 4 and "may only read (access policy read-only)" in refused.stderr
        assert appliance.cib().status.tickets == ()
    run(appliance, guest, scenario)


def test_full_policy_may_change_the_configuration(tmp_path: Path, monkeypatch):
    appliance, guest = setup(tmp_path, monkeypatch, policy="full")

    async def scenario():
        moved = await in_guest(guest, "resource", "ban", "webserver", "guest1")
        assert moved.returncode == 0, moved.stderr
        await wait_for(lambda: appliance.placement().get("webserver") == [(NODE, "Started")], 20, "moved")
        other = await in_guest(guest, "attribute", "--node", NODE, "--name", "rack", "--update", "x")
        assert other.returncode == 0
        granted = await in_guest(guest, "tool", "crm_ticket", "-t", "ticketA", "-g", "--force")
        assert granted.returncode == 0, granted.stderr
        shown = await in_guest(guest, "ticket", "show")
        assert shown.stdout.startswith("ticketA\tgranted "), shown
        assert appliance.cib().status.ticket("ticketA").granted
    run(appliance, guest, scenario)


def test_agents_in_the_guest_find_the_tools_and_stateful_gets_promoted(tmp_path: Path, monkeypatch):
    appliance, guest = setup(tmp_path, monkeypatch)
    tools = guest.root / "run/drover/tools"
    appliance.drover("resource", "create", "stateful", "ocf:pacemaker:Stateful", "promotable")
    appliance.drover("constraint", "location", "stateful-clone", "avoids", NODE)

    async def scenario():
        await wait_for(lambda: ("guest1", "Promoted") in roles(appliance, "stateful"), 40,
                       "stateful promoted in guest1")
        # the agent set its promotion score through drover's crm_attribute in the guest
        assert appliance.cib().status.transient("guest1").get("master-stateful") is not None
        assert sorted(p.name for p in tools.iterdir()) == sorted(
            ["attrd_updater", "crm_attribute", "crm_master", "crm_mon", "crm_node", "crm_resource", "crm_ticket"])
        score = await in_guest(guest, "--promotion", "-G", "-q", program=[str(tools / "crm_attribute")],
                               env={"OCF_RESOURCE_INSTANCE": "stateful:0"})
        assert score.returncode == 0 and score.stdout.strip().isdigit()
    run(appliance, guest, scenario)
    assert not Path("/usr/sbin/crm_attribute").is_symlink()          # nothing of ours outside the run directory


def test_without_a_hypervisor_the_tools_say_so(tmp_path: Path):
    guest = GuestDaemon(tmp_path / "guest1").start()
    try:
        result = guest_cli(guest, "tool", "crm_attribute", "-n", "x", "-G")
        assert result.returncode == 102
        assert "not connected to the cluster" in result.stderr
    finally:
        guest.stop()
    gone = guest_cli(guest, "status")
    assert gone.returncode == 102 and "cannot reach the drover-guest daemon" in gone.stderr


@pytest.mark.parametrize(("args", "error"), [
    ({"program": "daemon", "argv": []}, "'daemon' is not a command a guest may run"),
    ({"program": "drover", "argv": ["cib", "import", "/etc/shadow"]}, "a guest may run: status"),
    ({"program": "drover", "argv": ["simulate", "-x", "/etc/shadow"]}, "a guest may run: status"),
    ({"program": "drover", "argv": ["authkey", "generate", "--force"]}, "a guest may run: status"),
    ({"program": "drover", "argv": ["status"] * 300}, "at most 256 strings"),
    ({"program": "drover", "argv": "status"}, "at most 256 strings"),
    ({"program": "drover", "argv": ["status", "a\0b"]}, "at most 256 strings"),
])
def test_hostile_requests_from_a_guest_are_refused(args: dict, error: str):
    with pytest.raises(RemoteError, match=error.replace("(", r"\(")):
        validate(args)


def test_an_unknown_policy_means_read_only():
    assert validate({"program": "drover", "argv": ["status"], "policy": "root"})[2] == "read-only"
    assert validate({"program": "crm_attribute", "argv": [], "policy": "full",
                     "env": {"OCF_RESOURCE_INSTANCE": "db:1", "LD_PRELOAD": "/x.so"}})[3] == \
        {"OCF_RESOURCE_INSTANCE": "db:1"}


def test_the_tools_answer_by_their_name_on_the_host(tmp_path: Path, root: Path):
    link = tmp_path / "crm_node"
    link.write_text(f"#!/bin/sh\nexec {sys.executable} -m appliance \"$@\"\n")
    os.symlink(sys.executable, tmp_path / "python")
    result = subprocess.run([sys.executable, "-c", "import sys, runpy; sys.argv[0] = 'crm_node'; "
                             "runpy.run_module('appliance', run_name='__main__')", "-n"],
                            env=clean_environment(PYTHONPATH=str(TOP), DROVER_ROOT=str(root)),
                            capture_output=True, text=True, timeout=60, cwd=TOP)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()                                  # this host's node name


def test_a_guest_cannot_run_more_than_a_few_commands_at_once(tmp_path: Path, root: Path, monkeypatch):
    from appliance.guestlink import cli_proxy

    class CountingRunner:
        running = peak = 0

        async def run_captured(self, argv, env, timeout, limit):
            CountingRunner.running += 1
            CountingRunner.peak = max(CountingRunner.peak, CountingRunner.running)
            await asyncio.sleep(0.05)
            CountingRunner.running -= 1
            return 0, "", ""

    proxy = cli_proxy.CliProxy(CountingRunner(), root)

    async def flood():
        await asyncio.gather(*(proxy.serve("guest1", "cli", {"program": "drover", "argv": ["status"]})
                               for _ in range(20)))
    asyncio.run(flood())
    assert CountingRunner.peak == cli_proxy.CONCURRENT_PER_NODE


@pytest.mark.parametrize("request_line", [
    b"not json\n", b"[1, 2]\n", b'{"program": "drover"}\n', b'{"program": 1, "argv": []}\n',
    b'{"program": "drover", "argv": ["status"], "env": "x"}\n', b"x" * 70_000 + b"\n",
])
def test_garbage_on_the_guest_socket_gets_a_clear_answer_and_the_daemon_keeps_serving(tmp_path: Path,
                                                                                    request_line: bytes):
    import socket

    from guest.server.local import socket_path
    guest = GuestDaemon(tmp_path / "guest1").start()
    try:
        path = socket_path(guest.root / "run/drover")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            sock.sendall(request_line)
            reply = sock.makefile("rb").readline()
        assert b'"rc": 64' in reply and b"bad local request" in reply
        after = guest_cli(guest, "tool", "crm_node", "-n")       # still answering (here: no hypervisor yet)
        assert after.returncode == 102 and "not connected to the cluster" in after.stderr
        assert guest.process.poll() is None
    finally:
        guest.stop()
