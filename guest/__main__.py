"""Entry point of the `drover-guest` binary (and `python -m guest`)."""

import sys


def _main() -> int:
    try:
        from guest.cli import main
    except ImportError as error:
        print(f"drover-guest: Python module '{error.name}' is missing; run `make venv` and use .venv/bin/python, "
              "or install the drover-guest RPM", file=sys.stderr)
        return 1
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
