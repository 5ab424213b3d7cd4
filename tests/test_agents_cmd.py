"""`drover resource agents|describe|standards|providers` against the agents installed here (resource-agents,
pacemaker's) and drover's built-in VirtualDomain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_source

pytestmark = pytest.mark.timeout(60)


def drover(root: Path, *args: str):
    return run_source("drover", *args, root=root)


def test_standards_and_providers_are_what_is_installed(tmp_path: Path):
    standards = drover(tmp_path, "resource", "standards")
    assert standards.returncode == 0 and "ocf" in standards.stdout.split()
    providers = drover(tmp_path, "resource", "providers").stdout.split()
    assert {"heartbeat", "pacemaker"} <= set(providers)


def test_agents_of_a_provider_include_the_built_in_virtual_domain(tmp_path: Path):
    listed = drover(tmp_path, "resource", "agents", "ocf:heartbeat")
    assert listed.returncode == 0
    names = listed.stdout.split()
    assert {"apache", "Dummy", "VirtualDomain", "IPaddr2"} <= set(names)
    assert names == sorted(names, key=str.lower)
    everything = drover(tmp_path, "resource", "agents").stdout.split()
    assert "ocf:pacemaker:remote" in everything and "ocf:heartbeat:apache" in everything


@pytest.mark.parametrize(("which", "message"), [
    ("nonsense", "invalid standard 'nonsense': expected one of ocf, lsb, service, systemd, stonith"),
    ("lsb:heartbeat", "only ocf agents have a provider: 'lsb:heartbeat'"),
    ("ocf:nobody", "no ocf provider 'nobody' here; providers: "),
])
def test_bad_filters_are_named(tmp_path: Path, which: str, message: str):
    refused = drover(tmp_path, "resource", "agents", which)
    assert refused.returncode == 1 and message in refused.stderr


def test_describe_prints_parameters_and_default_operations_as_pcs_does(tmp_path: Path):
    shown = drover(tmp_path, "resource", "describe", "apache")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:3] == ["Assumed agent name 'ocf:heartbeat:apache' (deduced from 'apache')", "",
                         "ocf:heartbeat:apache - Manages an Apache Web server instance"]
    assert "  configfile (default: /etc/httpd/conf/httpd.conf): configuration file path" in lines
    assert "  start: interval=0s timeout=40s" in lines and "  stop: interval=0s timeout=60s" in lines
    vm = drover(tmp_path, "resource", "describe", "ocf:heartbeat:VirtualDomain").stdout
    assert vm.startswith("ocf:heartbeat:VirtualDomain") and "  config (required): " in vm
    assert vm.split("Default operations:\n")[1].splitlines() == [
        "  start: interval=0s timeout=90s", "  stop: interval=0s timeout=90s",
        "  migrate_to: interval=0s timeout=120s", "  migrate_from: interval=0s timeout=60s",
        "  monitor: interval=10s timeout=30s"]
    fence = drover(tmp_path, "resource", "describe", "stonith:fence_ipmilan").stdout
    assert fence.split("Default operations:\n")[1].splitlines() == ["  monitor: interval=60s"]
    ambiguous = drover(tmp_path, "resource", "describe", "Dummy")
    assert ambiguous.returncode == 1 and "Multiple agents match 'Dummy'" in ambiguous.stderr
