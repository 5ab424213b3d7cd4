"""Write the golden cases of a resource found active on several nodes (tests/scheduler/multiple_active/) with real
Pacemaker's results; tests/test_scheduler_actions.py compares each transition with crm_simulate's.

    python -m tests.scheduler.multiple_active_cases [OUT_DIR]

The multiple-active meta attribute says what then happens: stop_start (the default) stops it everywhere and
starts it where it is placed, stop_only stops it everywhere and keeps it stopped, block leaves it alone
unmanaged (a group set to block: every member), stop_unexpected stops it only where it should not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "multiple_active"
NO_PARAMETERS = "f2317cad3d54cec5d7d7aa7d0bf35cf8"      # the op-digest of no parameters at all
KEY = "0:0:0:d4c0de00-0000-4000-8000-000000000000"


def _dummy(rid: str, recovery: str = "") -> str:
    meta = (f'<meta_attributes id="{rid}-meta"><nvpair id="{rid}-ma" name="multiple-active" value="{recovery}"/>'
            '</meta_attributes>') if recovery else ""
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy">{meta}<operations>'
            f'<op id="{rid}-monitor" name="monitor" interval="10s"/></operations></primitive>')


def _group(gid: str, members: str, recovery: str = "") -> str:
    meta = (f'<meta_attributes id="{gid}-meta"><nvpair id="{gid}-ma" name="multiple-active" value="{recovery}"/>'
            '</meta_attributes>') if recovery else ""
    return f'<group id="{gid}">{meta}{members}</group>'


def _running(rid: str) -> str:
    """Started (with the parameters it has now) and monitored."""
    return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy">'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_start_0" operation="start" call-id="2" rc-code="0" '
            f'op-status="0" interval="0" last-rc-change="1500000000" transition-key="{KEY}" '
            f'transition-magic="0:0;{KEY}" op-digest="{NO_PARAMETERS}"/>'
            f'<lrm_rsc_op id="{rid}_monitor_10000" operation_key="{rid}_monitor_10000" operation="monitor" '
            f'call-id="3" rc-code="0" op-status="0" interval="10000" last-rc-change="1500000000" '
            f'transition-key="{KEY}" transition-magic="0:0;{KEY}"/></lrm_resource>')


def _cib(resources: str, on_node1: tuple[str, ...], on_node2: tuple[str, ...]) -> str:
    """Two nodes; the resources on_node1 and on_node2 run there (the first node preferred by stickiness)."""
    nodes = "".join(f'<node id="{n}" uname="node{n}"/>' for n in (1, 2))
    running = {1: on_node1, 2: on_node2}
    states = "".join(
        f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" expected="member">'
        f'<lrm id="{n}"><lrm_resources>{"".join(_running(r) for r in running[n])}</lrm_resources></lrm>'
        '</node_state>' for n in (1, 2))
    prefer = '<rsc_location id="prefer-node1" rsc="{rid}" node="node1" score="50"/>'
    first = resources.split('id="', 1)[1].split('"', 1)[0]
    return document(nodes, resources, prefer.format(rid=first), states)


def cases() -> dict[str, str]:
    both = ("web",)
    chain = ("a", "b", "c")
    members = "".join(_dummy(r) for r in chain)
    return {
        "stop-start-restarts-it-where-placed": _cib(_dummy("web"), both, both),
        "stop-only-stops-it-everywhere": _cib(_dummy("web", "stop_only"), both, both),
        "block-leaves-it-unmanaged": _cib(_dummy("web", "block"), both, both),
        "block-on-a-group-blocks-every-member": _cib(_group("g", members, "block"), chain, ("a",)),
        # only the copy where it should not run stops; what follows it in its group restarts
        "stop-unexpected-stops-only-the-unexpected-copy": _cib(
            _group("g", _dummy("a", "stop_unexpected") + _dummy("b") + _dummy("c")), chain, ("a",)),
    }


def main() -> int:
    return write_all(cases(), OUT, "multiple-active", "multiple_active_cases.py")


if __name__ == "__main__":
    sys.exit(main())
