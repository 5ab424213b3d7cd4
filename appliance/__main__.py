"""Entry point of the `drover` binary (and `python -m appliance`)."""

import sys


def _main() -> int:
    if sys.argv[1:] == ["--version"] and _called_as_drover():
        from guest.common.version import version_line  # nothing else is needed to answer this
        print(version_line("drover"))
        return 0
    try:
        from appliance.cli.main import main
        from appliance.cli.pcmk_tools import tool_name
        tool = tool_name(sys.argv[0])          # called as crm_attribute, crm_mon, ... (multi-call)
        return main(["tool", tool, *sys.argv[1:]] if tool else sys.argv[1:])
    except ImportError as error:               # commands import what they need when they run
        if error.name is None or error.name.split(".")[0] in ("appliance", "guest"):
            raise
        print(f"drover: Python module '{error.name}' is missing; run `make venv` and use .venv/bin/python, "
              "or install the drover RPM", file=sys.stderr)
        return 1


def _called_as_drover() -> bool:
    """Not through one of the Pacemaker tool names (crm_mon --version answers as that tool)."""
    return sys.argv[0].rsplit("/", 1)[-1] in ("drover", "__main__.py")


if __name__ == "__main__":
    sys.exit(_main())
