"""Command-line behaviour: version, help, usage errors, missing modules, and drover refusing bad input."""

from __future__ import annotations

import re

import pytest

from appliance.cli.main import COMMANDS as APPLIANCE_COMMANDS
from guest.cli import COMMANDS, PROXIED
from guest.common.version import VERSION
from tests.conftest import run_source


@pytest.mark.parametrize("program", ["drover", "drover-guest"])
def test_version(program):
    result = run_source(program, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"{program} {VERSION} (")


GUEST_COMMANDS = [*COMMANDS, *PROXIED, "tool"]


@pytest.mark.parametrize(("program", "commands"), [("drover", [*APPLIANCE_COMMANDS, "tool"]),
                                                   ("drover-guest", GUEST_COMMANDS)])
def test_help_lists_every_command(program, commands):
    result = run_source(program, "--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(commands)


def test_no_arguments_is_a_usage_error():
    result = run_source("drover")
    assert result.returncode == 64
    assert "Usage:" in result.stdout


def test_unknown_command():
    result = run_source("drover", "frobnicate")
    assert result.returncode == 64
    assert result.stderr == f"drover: unknown command 'frobnicate'; commands: {', '.join(APPLIANCE_COMMANDS)}\n"


@pytest.mark.parametrize(("argv", "hint"), [
    (["stauts"], "drover: unknown command 'stauts'; did you mean 'status'?; commands: "),
    (["resource", "craete", "web", "Dummy"], "drover: invalid arguments: resource craete web Dummy; did you mean "
                                             "'create'?\nUsage:\n"),
    (["constraint", "locaton", "web", "prefers", "n1"], "; did you mean 'location'?\n"),
    (["resource", "frobnicate"], "drover: invalid arguments: resource frobnicate; resource takes create, delete,"),
])
def test_a_typo_gets_a_did_you_mean(argv: list[str], hint: str):
    result = run_source("drover", *argv)
    assert result.returncode == 64 and hint in result.stderr, result.stderr


def test_bad_arguments_print_the_command_usage():
    result = run_source("drover", "authkey", "generate", "a", "b")
    assert result.returncode == 64
    expected = "drover: invalid arguments: authkey generate a b\nUsage:\n  drover authkey generate"
    assert result.stderr.startswith(expected)
    assert "Traceback" not in result.stderr


def test_command_help():
    result = run_source("drover-guest", "config", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage:\n  drover-guest config show")


def test_guest_has_no_appliance_commands():
    assert run_source("drover-guest", "authkey", "generate").returncode == 64


@pytest.mark.parametrize(("program", "package", "argv"), [("drover", "drover", ("status",)),
                                                           ("drover-guest", "drover-guest", ("config", "show"))])
def test_missing_python_module_says_what_to_do(program, package, argv):
    result = run_source(program, *argv, python_flags=("-S",))  # -S: no site-packages, so no docopt
    assert result.returncode == 1
    assert re.fullmatch(f"{program}: Python module '(docopt|sqlite_utils)' is missing; run `make venv` and use "
                        rf"\.venv/bin/python, or install the {package} RPM\n", result.stderr)


def test_a_constraint_between_a_resource_and_itself_is_refused(root):
    assert run_source("drover", "resource", "create", "a", "ocf:heartbeat:Dummy", root=root).returncode == 0
    for args, message in ((("order", "a", "then", "a"), "resource 'a' cannot be ordered before or after itself"),
                          (("order", "stop", "a", "then", "start", "a"),
                           "resource 'a' cannot be ordered before or after itself"),
                          (("colocation", "add", "a", "with", "a"), "resource 'a' cannot be colocated with itself")):
        result = run_source("drover", "constraint", *args, root=root)
        assert (result.returncode, result.stderr) == (1, f"drover: {message}\n")


def test_an_agent_name_that_leaves_its_directory_is_refused_even_with_force(root):
    result = run_source("drover", "resource", "create", "x", "ocf:heartbeat:../../../../bin/true", "--force",
                        root=root)
    assert result.returncode == 1
    assert result.stderr.startswith("drover: invalid agent type '../../../../bin/true': ")
