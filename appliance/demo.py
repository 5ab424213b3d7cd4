"""`make demo`: the user's walk-through on embedded defaults, in a throw-away directory.

Until the controller lands (the appliance issue) it runs the parts that exist:
an authkey and the effective configuration under a temporary DROVER_ROOT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile


def drover(root: str, *args: str) -> None:
    print(f"$ drover {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "appliance", *args], env=dict(os.environ, DROVER_ROOT=root), check=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drover-demo-") as root:
        print(f"demo: state and config under DROVER_ROOT={root}")
        drover(root, "authkey", "generate")
        drover(root, "config", "check")
    print("demo: not yet: the controller, guest daemon and walk-through land with issues 3-6; "
          "this demo grows with them.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
