"""Test OCF agents and LSB scripts written into a private tree (real shell scripts, really run)."""

from __future__ import annotations

from pathlib import Path

ENV_DUMPER = """#!/bin/sh
# Records its environment and action, then exits with $OCF_RESKEY_rc (default 0).
env | sort > "$OCF_RESKEY_dump.$1"
[ -n "$OCF_RESKEY_reason" ] && echo "ocf-exit-reason:$OCF_RESKEY_reason" >&2
exit ${OCF_RESKEY_rc:-0}
"""

SLOW = """#!/bin/sh
# Sleeps $OCF_RESKEY_seconds in a child (to check the process group is killed), then marks it finished.
sleep "${OCF_RESKEY_seconds:-5}" &
wait $!
echo done > "$OCF_RESKEY_marker"
exit 0
"""

LOGGING_AGENT = """#!/bin/sh
%(about)s
state="%(state)s"
case "$1" in
meta-data) cat <<'END'
<?xml version="1.0"?>
<resource-agent name="%(name)s" version="1.0">
<version>1.0</version>
<shortdesc lang="en">%(shortdesc)s</shortdesc>
<parameters>
<parameter name="log" required="1"><content type="string"/></parameter>
<parameter name="start_seconds"><content type="integer" default="0"/></parameter>
</parameters>
<actions><action name="start" timeout="30s"/><action name="stop" timeout="30s"/>
<action name="monitor" timeout="10s" interval="10s"/><action name="meta-data" timeout="5s"/></actions>
</resource-agent>
END
exit 0;;
start) echo %(start)s >> "$OCF_RESKEY_log"; sleep "${OCF_RESKEY_start_seconds:-0}"; touch "$state"; exit 0;;
stop) echo %(stop)s >> "$OCF_RESKEY_log"; rm -f "$state"; exit 0;;
monitor) [ -f "$state" ] && exit 0; exit 7;;
*) exit 3;;
esac
"""

COUNTED = LOGGING_AGENT % {
    "name": "counted", "shortdesc": "counts its actions", "state": "$OCF_RESKEY_log.state",
    "start": "start", "stop": "stop",
    "about": "# Logs every action to $OCF_RESKEY_log; start takes $OCF_RESKEY_start_seconds; "
             "state in $OCF_RESKEY_log.state."}

PLACED = LOGGING_AGENT % {
    "name": "placed", "shortdesc": "logs its actions and where they ran",
    "state": '${HA_RSCTMP:-/tmp}/placed-$(basename "$OCF_RESKEY_log").state',
    "start": '"start $HA_RSCTMP"', "stop": '"stop $HA_RSCTMP"',
    "about": "# As counted, but per node: its state lives in the node's $HA_RSCTMP and each log line names that "
             "directory\n# (\"start DIR\", \"stop DIR\"), so one log shows where a resource ran and whether it "
             "ever ran in two places."}

LSB_SCRIPT = """#!/bin/sh
# An init script whose exit code for each verb is read from a file.
code=$(cat "%(dir)s/$1.code" 2>/dev/null || echo 0)
echo "$1" >> "%(dir)s/calls"
exit "$code"
"""


def make_agent_tree(base: Path) -> tuple[Path, Path]:
    """Returns (ocf_root, lsb_dir) with ocf:test:{envdump,slow,counted,placed} and lsb:testsvc installed."""
    ocf_root = base / "ocf"
    agents = ocf_root / "resource.d" / "test"
    agents.mkdir(parents=True)
    for name, text in (("envdump", ENV_DUMPER), ("slow", SLOW), ("counted", COUNTED), ("placed", PLACED)):
        (agents / name).write_text(text)
        (agents / name).chmod(0o755)
    lsb_dir = base / "init.d"
    lsb_dir.mkdir()
    (lsb_dir / "testsvc").write_text(LSB_SCRIPT % {"dir": lsb_dir})
    (lsb_dir / "testsvc").chmod(0o755)
    return ocf_root, lsb_dir


def processes_in_group(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def processes_with_argument(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found
