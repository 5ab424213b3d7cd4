"""What an agent's meta-data says about reloading, read as Pacemaker 2.1.5's controller reads it
(controld_metadata.c, append_restart_list): real agents' meta-data, and the edge cases of the rules."""

from __future__ import annotations

import subprocess

import pytest

from guest.agents.metadata import parse_metadata


def real(agent: str) -> str:
    return subprocess.run([f"/usr/lib/ocf/resource.d/{agent}", "meta-data"], capture_output=True, text=True,
                          env={"OCF_ROOT": "/usr/lib/ocf"}, check=True, timeout=10).stdout


@pytest.mark.parametrize(("agent", "action", "restart"), [
    ("pacemaker/Dummy", "reload-agent", ("state",)),          # OCF 1.1: what is not reloadable="1"
    ("heartbeat/Dummy", "reload", ("state",)),                # OCF 1.0 with reload: what is unique="1"
    ("heartbeat/IPaddr2", None, None),                        # no reload at all: every change restarts
])
def test_real_agents(agent: str, action: str | None, restart: tuple[str, ...] | None):
    metadata = parse_metadata(real(agent), agent)
    assert metadata.reload_action == action
    assert metadata.restart_parameters() == restart


def sample(version: str, actions: str, parameters: str = "") -> str:
    return (f'<resource-agent name="x"><version>{version}</version><parameters>{parameters}</parameters>'
            f'<actions>{actions}</actions></resource-agent>')


@pytest.mark.parametrize(("version", "actions", "expected"), [
    ("1.1", '<action name="reload"/>', None),                # an OCF 1.1 agent's reload is the service's own
    ("1.0", '<action name="reload-agent"/>', None),          # reload-agent is not used before OCF 1.1
    ("1.1", '<action name="reload-agent"/><action name="reload"/>', "reload-agent"),
    ("1.10", '<action name="reload-agent"/>', "reload-agent"),
])
def test_which_reload_an_agent_offers(version: str, actions: str, expected: str | None):
    assert parse_metadata(sample(version, actions), "x").reload_action == expected


def test_an_agent_that_reloads_everything_restarts_for_nothing():
    metadata = parse_metadata(sample("1.1", '<action name="reload-agent"/>',
                                     '<parameter name="a" reloadable="true"/><parameter name="b" reloadable="1"/>'),
                              "x")
    assert metadata.restart_parameters() == ()
