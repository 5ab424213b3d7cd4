"""Entry point of the `drover` binary (and `python -m appliance`)."""

import sys


def _main() -> int:
    try:
        from appliance.cli.main import main
    except ImportError as error:
        print(f"drover: Python module '{error.name}' is missing; run `make venv` and use .venv/bin/python, "
              "or install the drover RPM", file=sys.stderr)
        return 1
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
