"""Entry point of the `drover-guest` binary (and `python -m guest`)."""

import os
import sys


def _main() -> int:
    try:
        from guest.cli import main
        from guest.common.tooldir import TOOLS
        name = os.path.basename(sys.argv[0])      # called as crm_attribute, crm_mon, ... (multi-call link)
        return main(["tool", name, *sys.argv[1:]] if name in TOOLS else sys.argv[1:])
    except ImportError as error:                  # commands import what they need when they run
        if error.name is None or error.name.split(".")[0] in ("appliance", "guest"):
            raise
        print(f"drover-guest: Python module '{error.name}' is missing; run `make venv` and use .venv/bin/python, "
              "or install the drover-guest RPM", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_main())
