"""`PROGRAM config show|check`: print or validate the effective configuration."""

from __future__ import annotations

from collections.abc import Callable

from guest.common import config
from guest.common.cli import Command, Context
from guest.common.config import Schema
from guest.common.paths import Paths


def command(schema_for: Callable[[Paths], Schema], program: str) -> Command:
    usage = f"""
Usage:
  {program} config show
  {program} config check

show prints every option with where its value came from (default, FILE:LINE or
environment); check only validates, exiting 0 when all files are good.
"""

    def run(args: dict, context: Context) -> int:
        loaded = config.load(schema_for(context.paths), context.paths, context.environ)
        if args["show"]:
            print(loaded.render(), end="")
        else:
            files = ", ".join(map(str, loaded.files)) or "no files, embedded defaults"
            print(f"configuration is valid ({files})")
        return 0

    return Command(usage, run)
