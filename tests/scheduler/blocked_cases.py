"""Write the golden cases of resources left where they are (tests/scheduler/blocked/) with real Pacemaker's
results; tests/test_scheduler_actions.py compares each transition with crm_simulate's.

    python -m tests.scheduler.blocked_cases [OUT_DIR]

Without fencing, a stop that failed leaves the resource blocked where it is: it will not start (nor be
recovered) anywhere, so what must start after it (a mandatory order) does not start either, while what is only
optionally ordered after it does. With stop-orphan-resources=false a deleted resource still running is left
running, unmanaged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.model.status import pacemaker_digest
from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "blocked"
KEY = "0:0:0:d4c0de00-0000-4000-8000-000000000000"


def _dummy(rid: str) -> str:
    return f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"/>'


def _recorded(rid: str, task: str, rc: int, digest: bool = False) -> str:
    """A history whose last operation, `task`, returned `rc` (expecting 0); `digest`: with Pacemaker's digest of
    the (parameterless) definition, so nothing counts as changed."""
    recorded = f' op-digest="{pacemaker_digest({})}"' if digest else ""
    return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy">'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_{task}_0" operation="{task}" call-id="3" '
            f'rc-code="{rc}" op-status="0" interval="0" last-rc-change="1500000000" transition-key="{KEY}" '
            f'transition-magic="0:{rc};{KEY}"{recorded}/></lrm_resource>')


def _order(oid: str, first: str, then: str, kind: str = "") -> str:
    extra = f' kind="{kind}"' if kind else ""
    return f'<rsc_order id="{oid}" first="{first}" first-action="start" then="{then}" then-action="start"{extra}/>'


def _cib(constraints: str, on_node1: str = "", options: str = "", resources: str = "", hosts: int = 2) -> str:
    nodes = "".join(f'<node id="{n}" uname="node{n}"/>' for n in range(1, hosts + 1))
    states = "".join(
        f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" expected="member">'
        f'<lrm id="{n}"><lrm_resources>{on_node1 if n == 1 else ""}</lrm_resources></lrm></node_state>'
        for n in range(1, hosts + 1))
    return document(nodes, resources or _dummy("db") + _dummy("web") + _dummy("cache"), constraints, states, options)


def cases() -> dict[str, str]:
    return {
        # web must start after db (mandatory), cache only optionally: web stays stopped, cache starts
        "a-blocked-first-keeps-its-mandatory-then-stopped": _cib(
            _order("db-then-web", "db", "web") + _order("db-then-cache", "db", "cache", "Optional"),
            _recorded("db", "stop", 1)),
        # central must start after gate, which is kept stopped, so central stops; engine, colocated with central
        # (INFINITY), stops too although it could stay: its start is unrunnable ("due to colocation with
        # central")
        "a-dependent-stops-with-a-primary-that-cannot-start": _cib(
            _order("gate-then-central", "gate", "central")
            + '<rsc_colocation id="engine-with-central" rsc="engine" with-rsc="central" score="INFINITY"/>',
            _recorded("central", "start", 0, digest=True) + _recorded("engine", "start", 0, digest=True), "",
            '<primitive id="gate" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="gate-meta">'
            '<nvpair id="gate-role" name="target-role" value="Stopped"/></meta_attributes></primitive>'
            + _dummy("central") + _dummy("engine")),
        # group app must be with db's promoted instance, but db can run nowhere: app's first member, unmanaged,
        # stays where it runs, the others do not start (the group's start is blocked, not only its first member's)
        "a-group-stays-stopped-with-a-primary-that-cannot-run": _cib(
            '<rsc_location id="db-not-node1" rsc="db-clone" node="node1" score="-INFINITY"/>'
            '<rsc_location id="db-not-node2" rsc="db-clone" node="node2" score="-INFINITY"/>'
            '<rsc_colocation id="app-with-db" rsc="app" with-rsc="db-clone" with-rsc-role="Promoted" '
            'score="INFINITY"/>',
            _recorded("a1", "start", 0, digest=True), "",
            '<clone id="db-clone"><meta_attributes id="db-clone-meta"><nvpair id="db-promotable" name="promotable" '
            'value="true"/></meta_attributes><primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/>'
            '</clone><group id="app"><primitive id="a1" class="ocf" provider="pacemaker" type="Dummy">'
            '<meta_attributes id="a1-meta"><nvpair id="a1-managed" name="is-managed" value="false"/>'
            '</meta_attributes></primitive>' + _dummy("a2") + _dummy("a3") + '</group>'),
        # one host, group g1..g4: g1 is not running, g2 and g3 run, g4's stop failed (blocked). Starting g1 would
        # restart g2 and g3, but their stops must follow g4's, which cannot run: they stay, not started again
        "a-restart-behind-a-blocked-stop-does-not-happen": _cib(
            "", _recorded("g2", "start", 0, digest=True) + _recorded("g3", "start", 0, digest=True)
            + _recorded("g4", "stop", 1, digest=True), "",
            '<group id="g">' + "".join(_dummy(f"g{n}") for n in range(1, 5)) + '</group>', hosts=1),
        # "old" is no longer configured but runs on node1: with stop-orphan-resources=false it is left running
        "an-orphan-is-left-running-when-orphans-are-kept": _cib(
            "", _recorded("old", "start", 0), '<nvpair id="opts-sor" name="stop-orphan-resources" value="false"/>',
            _dummy("web")),
        # ... and stopped by default
        "an-orphan-is-stopped-by-default": _cib("", _recorded("old", "start", 0), "", _dummy("web")),
    }


def main() -> int:
    return write_all(cases(), OUT, "blocked", "blocked_cases.py")


if __name__ == "__main__":
    sys.exit(main())
