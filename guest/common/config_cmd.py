"""`PROGRAM config show|check`: print or validate the effective configuration."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from guest.common import authkey, config
from guest.common.cli import Command, Context
from guest.common.config import Schema
from guest.common.paths import Paths


def command(schema_for: Callable[[Paths], Schema], program: str) -> Command:
    usage = f"""
Usage:
  {program} config show
  {program} config check

show prints every option with where its value came from (default, FILE:LINE or
environment); check validates the files and the authkey(s) they name (present,
long enough, not readable by everyone, writable by its owner only), exiting 0
when all are good.
"""

    def run(args: dict, context: Context) -> int:
        loaded = config.load(schema_for(context.paths), context.paths, context.environ,
                             warn=lambda message: print(f"{program}: warning: {message}", file=sys.stderr))
        if args["show"]:
            print(loaded.render(), end="")
        else:
            keys = [Path(loaded[name]) for name in ("remote.authkey", "remote.also_accept_authkey") if loaded[name]]
            for key in keys:
                authkey.load(key)
            files = ", ".join(map(str, loaded.files)) or "no files, embedded defaults"
            print(f"configuration is valid ({files}); authkey {', '.join(map(str, keys))} usable")
        return 0

    return Command(usage, run)
