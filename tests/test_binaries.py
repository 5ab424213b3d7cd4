"""The Nuitka binaries from `make build`: version stamp, a real command each, what they bundle."""

from __future__ import annotations

import stat
import subprocess

import pytest

from guest.common.version import VERSION
from tests.conftest import TOP, built_binary, clean_environment

pytestmark = pytest.mark.artifacts


def run(binary, *args, root=None, env=None):
    environment = clean_environment()
    if root is not None:
        environment["DROVER_ROOT"] = str(root)
    environment.update(env or {})
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=environment, timeout=60,
                          cwd="/")


def head_commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=TOP, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("program", ["drover", "drover-guest"])
def test_version_is_stamped(program):
    result = run(built_binary(program), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{program} {VERSION} (")
    assert "source" not in result.stdout  # stamped by build.py, not running from the tree
    # make test rebuilds when sources change, so the stamp names a real commit of this repository.
    stamped = result.stdout.split("(")[1].split()[0].removesuffix("-dirty")
    assert subprocess.run(["git", "cat-file", "-e", f"{stamped}^{{commit}}"], cwd=TOP).returncode == 0, stamped
    assert len(stamped) == len(head_commit())


def test_drover_generates_an_authkey(root):
    result = run(built_binary("drover"), "authkey", "generate", root=root)
    assert result.returncode == 0, result.stderr
    key = root / "etc/pacemaker/authkey"
    assert key.stat().st_size == 4096
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_drover_guest_reads_its_config(root):
    dropins = root / "etc/drover/guest.conf.d"
    dropins.mkdir(parents=True)
    (dropins / "50-local.conf").write_text("[access]\npolicy = full\n")
    result = run(built_binary("drover-guest"), "config", "show", root=root)
    assert result.returncode == 0, result.stderr
    assert f"policy = full  # {dropins}/50-local.conf:2\n" in result.stdout


def test_built_binary_reports_bad_config_clearly(root):
    (root / "etc/drover").mkdir(parents=True)
    (root / "etc/drover/drover.conf").write_text("[state]\nscheduler_inputs_kept = none\n")
    result = run(built_binary("drover"), "config", "check", root=root)
    assert result.returncode == 1
    expected = f"drover: {root}/etc/drover/drover.conf:2: bad value for state.scheduler_inputs_kept"
    assert result.stderr.startswith(expected)


def test_guest_binary_carries_no_appliance_code_and_no_libvirt():
    dist = built_binary("drover-guest").parent
    names = {p.name for p in dist.rglob("*")}
    assert not any(n.startswith(("libvirt", "appliance", "sqlite_utils")) for n in names), sorted(names)


def test_libvirt_library_is_not_bundled():
    dist = built_binary("drover").parent
    assert not [p for p in dist.rglob("libvirt*.so*") if not p.name.startswith("libvirtmod")]


def test_built_guest_daemon_serves_over_tls(tmp_path):
    import asyncio

    from appliance.guestlink.client import GuestClient
    from guest.agents.results import AgentSpec, Operation
    from tests.guestd import GuestDaemon

    guest = GuestDaemon(tmp_path, command=[str(built_binary("drover-guest"))]).start()

    async def scenario():
        client = await GuestClient.connect("127.0.0.1", guest.port, guest.identities, "drover test", "node1")
        params = {"state": str(tmp_path / "web.state")}
        rcs = [(await client.execute(Operation("web", AgentSpec("ocf", "Dummy", "heartbeat"), action,
                                               params=params))).rc for action in ("monitor", "start", "monitor")]
        await client.close()
        return client.connection.peer.software, rcs

    try:
        software, rcs = asyncio.run(scenario())
    finally:
        assert guest.stop() == 0, guest.log()
    assert software.startswith(f"drover-guest {VERSION} (") and "source" not in software
    assert rcs == [7, 0, 0]


def test_built_binaries_run_the_walkthrough_and_the_guest_tools(tmp_path):
    from tests.appliance_harness import Appliance, wait_for_sync
    from tests.guestd import GuestDaemon

    guest_binary, drover_binary = built_binary("drover-guest"), built_binary("drover")
    guest = GuestDaemon(tmp_path / "guest1", command=[str(guest_binary)]).start(
        env={"HA_VARRUN": str(tmp_path / "guest1")})
    appliance = Appliance(tmp_path, guest)
    appliance.walkthrough()
    appliance.start_process([str(drover_binary)])
    try:
        wait_for_sync(lambda: appliance.placement().get("webserver") == [("guest1", "Started")], 60,
                      "webserver in guest1", appliance.log)
        inside = run(guest_binary, "status", root=guest.root)
        assert inside.returncode == 0, inside.stderr
        assert "webserver\t(ocf:heartbeat:Dummy):\t Started guest1" in inside.stdout
        tool = guest.root / "run/drover/tools/crm_node"
        assert f"exec {guest_binary} tool crm_node" in tool.read_text()
        named = subprocess.run([str(tool), "-n"], capture_output=True, text=True, timeout=60,
                               env=clean_environment(DROVER_ROOT=str(guest.root)))
        assert named.stdout == "guest1\n", named.stderr
        host = run(drover_binary, "tool", "crm_mon", "-1", root=appliance.root)
        assert "  * Online: [ node1 ]\n  * GuestOnline: [ guest1 ]\n" in host.stdout
    finally:
        appliance.kill_process()
        guest.stop()
