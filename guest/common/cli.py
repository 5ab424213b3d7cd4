"""Multi-command CLI runner shared by drover and drover-guest.

The top-level usage picks a command; each command module has its own docopt
usage and a `run(args, context) -> int`. UserError becomes `PROGRAM: message`
on stderr with its exit code; usage errors exit 64 (Pacemaker's CRM_EX_USAGE);
nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from guest.common.errors import UserError
from guest.common.paths import Paths
from guest.common.version import version_line

EXIT_USAGE = 64


@dataclass(frozen=True)
class Context:
    program: str
    paths: Paths
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    usage: str
    run: Callable[[dict, Context], int]
    prepare: Callable[[list[str]], list[str]] | None = None   # rewrites argv before docopt (e.g. negative scores)


class LazyCommand:
    """A command whose module is imported only when it runs or its help is shown, so that a call pays at
    start-up for the command it makes and nothing else. `module` is a package-qualified module with a COMMAND
    (or `factory(module)` makes the Command)."""

    def __init__(self, module: str, factory: Callable[[ModuleType], Command] | None = None):
        self.module, self.factory = module, factory
        self._command: Command | None = None

    @property
    def command(self) -> Command:
        if self._command is None:
            loaded = importlib.import_module(self.module)
            self._command = self.factory(loaded) if self.factory else loaded.COMMAND
        return self._command

    @property
    def usage(self) -> str:
        return self.command.usage

    @property
    def run(self) -> Callable[[dict, Context], int]:
        return self.command.run

    @property
    def prepare(self) -> Callable[[list[str]], list[str]] | None:
        return self.command.prepare


def _did_you_mean(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


def _subcommands(usage: str) -> list[str]:
    """The words that may follow `PROGRAM COMMAND` in a usage's synopsis (setup, status, ...)."""
    words = []
    for line in usage.strip().split("\n\n")[0].splitlines()[1:]:
        parts = line.split()
        if len(parts) > 2 and re.fullmatch(r"[a-z][a-z-]*", parts[2]) and parts[2] not in words:
            words.append(parts[2])
    return words


def parse(usage: str, argv: Sequence[str]) -> dict:
    """docopt with usage errors turned into UserError (exit 64) instead of SystemExit."""
    from docopt import DocoptExit, docopt  # not for --version and --help
    try:
        return docopt(usage, argv=list(argv), default_help=False)
    except DocoptExit:
        synopsis = usage.strip().split("\n\n")[0]
        known = _subcommands(usage)
        hint = ""
        if len(argv) > 1 and known and argv[1] not in known and not argv[1].startswith("-"):
            hint = _did_you_mean(argv[1], known) or f"; {argv[0]} takes {', '.join(known)}"
        raise UserError(f"invalid arguments: {' '.join(argv)}{hint}\n{synopsis}", EXIT_USAGE) from None


def _wants_help(argv: Sequence[str]) -> bool:
    return any(a in ("-h", "--help") for a in argv)


def run_program(program: str, usage: str, commands: Mapping[str, Command | LazyCommand], argv: Sequence[str]) -> int:
    context = Context(program, Paths.from_environment(), dict(os.environ))
    try:
        if not argv or argv[0] in ("-h", "--help", "help"):
            print(usage.strip())
            return 0 if argv else EXIT_USAGE
        if argv[0] == "--version":
            print(version_line(program))
            return 0
        command = commands.get(argv[0])
        if command is None:
            raise UserError(f"unknown command '{argv[0]}'{_did_you_mean(argv[0], list(commands))}; commands: "
                            f"{', '.join(commands)}", EXIT_USAGE)
        if _wants_help(argv[1:]):
            print(command.usage.strip())
            return 0
        arguments = command.prepare(list(argv)) if command.prepare else list(argv)
        return command.run(parse(command.usage, arguments), context)
    except UserError as error:
        print(f"{program}: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 141
