"""How a program starts another copy of itself (the appliance runs proxied commands, both link their tools).

Rules: a Nuitka-compiled binary is /proc/self/exe (every compiled module has
`__compiled__`; its sys.executable names a `python` that does not exist);
from source it is this Python with `-m PACKAGE`, run through env(1) with
PYTHONPATH pointing at this source tree, so it works from any working
directory and environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SOURCE_TREE = Path(__file__).resolve().parents[2]


def is_compiled() -> bool:
    return "__compiled__" in globals()


def self_command(package: str) -> list[str]:
    """argv prefix that runs this program again: [binary] or [env, PYTHONPATH=..., python, -m, package]."""
    if is_compiled():
        return [os.readlink("/proc/self/exe")]
    return ["/usr/bin/env", f"PYTHONPATH={SOURCE_TREE}", sys.executable, "-m", package]
