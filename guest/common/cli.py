"""Multi-command CLI runner shared by drover and drover-guest.

The top-level usage picks a command; each command module has its own docopt
usage and a `run(args, context) -> int`. UserError becomes `PROGRAM: message`
on stderr with its exit code; usage errors exit 64 (Pacemaker's CRM_EX_USAGE);
nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from docopt import DocoptExit, docopt

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


def run_program(program: str, usage: str, commands: Mapping[str, Command], argv: Sequence[str]) -> int:
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
