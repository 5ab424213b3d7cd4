"""Pacemaker's tool names translated into drover commands (the options agents and admins use)."""

from __future__ import annotations

import pytest

from appliance.cli.pcmk_tools import tool_name, translate
from guest.common.errors import UserError

AGENT = {"OCF_RESOURCE_INSTANCE": "db:2"}


@pytest.mark.parametrize(("tool", "argv", "expected"), [
    ("crm_mon", ["-1"], ["status"]),
    ("crm_mon", ["-1", "--output-as=xml"], ["status", "--output-as=xml"]),
    ("crm_mon", ["-1", "-X"], ["status", "--output-as=xml"]),
    ("crm_attribute", ["--promotion", "-v", "10"],
     ["attribute", "--name=master-db", "--lifetime=reboot", "--update=10"]),
    ("crm_attribute", ["-p", "-D"], ["attribute", "--name=master-db", "--lifetime=reboot", "--delete"]),
    ("crm_attribute", ["--promotion=web", "-G", "-q"],
     ["attribute", "--name=master-web", "--lifetime=reboot", "--query", "--quiet"]),
    ("crm_attribute", ["-N", "n1", "-n", "rack", "-v", "r2"],
     ["attribute", "--name=rack", "--lifetime=forever", "--node=n1", "--update=r2"]),
    ("crm_attribute", ["--node", "n1", "--name", "rack", "--delete", "--lifetime", "reboot"],
     ["attribute", "--name=rack", "--lifetime=reboot", "--node=n1", "--delete"]),
    ("crm_attribute", ["-n", "rack", "-G", "-d", "none"],
     ["attribute", "--name=rack", "--lifetime=forever", "--query", "--default=none"]),
    ("crm_attribute", ["-t", "status", "-n", "x", "-v", "1"],
     ["attribute", "--name=x", "--lifetime=reboot", "--update=1"]),
    ("crm_master", ["-l", "reboot", "-v", "5"], ["attribute", "--name=master-db", "--lifetime=reboot", "--update=5"]),
    ("crm_master", ["-D", "-l", "reboot"], ["attribute", "--name=master-db", "--lifetime=reboot", "--delete"]),
    ("attrd_updater", ["-n", "pingd", "-U", "100"], ["attribute", "--name=pingd", "--lifetime=reboot", "--update=100"]),
    ("attrd_updater", ["-n", "pingd", "-Q"], ["attribute", "--name=pingd", "--lifetime=reboot", "--query"]),
    ("crm_resource", ["--locate", "-r", "web"], ["resource", "locate", "web"]),
    ("crm_resource", ["-M", "-r", "web", "-N", "n2"], ["resource", "move", "web", "n2"]),
    ("crm_resource", ["--move", "--resource", "web"], ["resource", "move", "web"]),
    ("crm_resource", ["-B", "-r", "web", "-N", "n2"], ["resource", "ban", "web", "n2"]),
    ("crm_resource", ["--clear", "-r", "web"], ["resource", "clear", "web"]),
    ("crm_resource", ["-C", "-r", "web", "-N", "n2"], ["resource", "cleanup", "web", "--node=n2"]),
    ("crm_resource", ["--cleanup"], ["resource", "cleanup"]),
    ("crm_resource", ["-R", "-r", "web", "-N", "n2"], ["resource", "refresh", "web", "--node=n2"]),
    ("crm_resource", ["--refresh"], ["resource", "refresh"]),
    ("crm_resource", ["-L"], ["resource", "list"]),
    ("crm_node", ["-n"], ["node", "name"]),
    ("crm_node", ["-l"], ["node", "members"]),
    ("crm_attribute", ["-t", "crm_config", "-n", "x", "-v", "1"], ["property", "set", "x=1", "--force"]),
    ("crm_attribute", ["--type", "crm_config", "--name", "x", "-D"], ["property", "unset", "x"]),
    ("crm_attribute", ["-t", "crm_config", "-n", "x", "-G", "-q"], ["property", "get", "x", "--quiet"]),
    ("crm_node", ["--quorum"], ["node", "quorum"]),
])
def test_translations(tool: str, argv: list[str], expected: list[str]):
    assert translate(tool, argv, AGENT) == expected


@pytest.mark.parametrize(("tool", "argv", "message"), [
    ("crm_resource", ["--bogus"], "option --bogus not recognized"),
    ("crm_resource", ["--locate"], "--resource is required"),
    ("crm_attribute", ["-v", "1"], "--name is required"),
    ("crm_attribute", ["-t", "rsc_defaults", "-n", "x", "-v", "1"], "not supported here"),
    ("crm_mon", ["stray"], "unexpected argument 'stray'"),
])
def test_unsupported_or_wrong_options_are_usage_errors(tool: str, argv: list[str], message: str):
    with pytest.raises(UserError) as raised:
        translate(tool, argv, AGENT)
    assert raised.value.exit_code == 64 and message in raised.value.message


def test_promotion_without_an_agent_needs_a_resource():
    with pytest.raises(UserError, match="needs a resource"):
        translate("crm_attribute", ["--promotion", "-v", "1"], {})


def test_called_by_name():
    assert tool_name("/run/drover/tools/crm_attribute") == "crm_attribute"
    assert tool_name("/usr/sbin/drover") is None
