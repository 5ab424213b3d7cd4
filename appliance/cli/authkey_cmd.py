"""`drover authkey generate`: the shared key every node needs, replacing the `dd` step."""

from __future__ import annotations

from pathlib import Path

from guest.common import authkey, config
from guest.common.cli import Command, Context
from guest.common.schemas import drover_schema

USAGE = """
Usage:
  drover authkey generate [--force] [PATH]

Writes 4096 random bytes, mode 0600, to PATH (default: remote.authkey from
drover.conf, normally /etc/pacemaker/authkey). Copy the same file to every
guest. An existing key is kept unless --force is given.
"""


def run(args: dict, context: Context) -> int:
    if args["PATH"]:
        path = Path(args["PATH"])
    else:
        path = Path(config.load(drover_schema(context.paths), context.paths, context.environ)["remote.authkey"])
    authkey.generate(path, force=args["--force"])
    print(f"wrote {authkey.KEY_BYTES}-byte authkey to {path} (mode 0600); copy it to every guest")
    return 0


COMMAND = Command(USAGE, run)
