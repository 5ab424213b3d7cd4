"""Write the golden cases of hosts' membership states (tests/scheduler/node_states/) with real Pacemaker's
results; tests/test_scheduler_actions.py compares each transition with crm_simulate's, test_simulate_fencing.py
its fencing lines, test_scheduler_node_states.py its placement.

    python -m tests.scheduler.node_state_cases [OUT_DIR]

As Pacemaker 2.1.5's determine_online_status reads a <node_state>: with fencing, a host the cluster layer has
never seen (no in_ccm), one refused at join (join=banned), one asked to terminate, one gone while expected up are
fenced; a host still joining (join=pending, or up while expected down) is online but runs nothing and is not
probed; one shutting down cleanly is simply offline. Without fencing, a host expected up whose controller is gone
is unclean ("peer is unexpectedly down") and what its history says runs there is not read. With shutdown-lock,
what ran on a host shutting down cleanly waits for it (unless the lock expired), clone instances aside.
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.model.status import pacemaker_digest
from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "node_states"
KEY = "0:0:0:d4c0de00-0000-4000-8000-000000000000"
PROBE_KEY = "0:0:7:d4c0de00-0000-4000-8000-000000000000"


def _started(rid: str, task: str = "start", lock: int | None = None) -> str:
    """`task`'s success recorded (start, or stop); `lock`: the shutdown-lock the entry records."""
    locked = f' shutdown-lock="{lock}"' if lock is not None else ""
    return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy"{locked}>'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_{task}_0" operation="{task}" call-id="2" '
            f'rc-code="0" op-status="0" interval="0" last-rc-change="1500000000" transition-key="{KEY}" '
            f'transition-magic="0:0;{KEY}" op-digest="{pacemaker_digest({})}"/></lrm_resource>')


def _probed(rid: str, agent: str = 'class="ocf" provider="pacemaker" type="Dummy"') -> str:
    return (f'<lrm_resource id="{rid}" {agent}>'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_monitor_0" operation="monitor" call-id="1" '
            f'rc-code="7" op-status="0" interval="0" last-rc-change="1500000000" transition-key="{PROBE_KEY}" '
            f'transition-magic="0:7;{PROBE_KEY}"/></lrm_resource>')


def _cib(node3: str, fencing: bool = True, node3_history: str = "", node3_attrs: str = "", options: str = "",
         extra_resources: str = "") -> str:
    """node1 and node2 up (node1 runs the fence device, both probed everything); node3's <node_state> opens with
    `node3` (its attributes), with `node3_history` and transient `node3_attrs` (nvpairs)."""
    nodes = "".join(f'<node id="{n}" uname="node{n}"/>' for n in (1, 2, 3))
    resources = ('<primitive id="fencer" class="stonith" type="fence_dummy"/>'
                 '<primitive id="web" class="ocf" provider="pacemaker" type="Dummy"/>'
                 '<primitive id="db" class="ocf" provider="pacemaker" type="Dummy"/>' + extra_resources)
    fencer = 'class="stonith" type="fence_dummy"'
    states = "".join(
        f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" expected="member">'
        f'<lrm id="{n}"><lrm_resources>{_probed("web")}{_probed("db")}'
        f'{_started("fencer").replace(chr(34) + "ocf" + chr(34) + " provider=" + chr(34) + "pacemaker" + chr(34) + " type=" + chr(34) + "Dummy" + chr(34), chr(34) + "stonith" + chr(34) + " type=" + chr(34) + "fence_dummy" + chr(34)) if n == 1 else _probed("fencer", fencer)}'  # noqa: E501
        '</lrm_resources></lrm></node_state>' for n in (1, 2))
    attrs = (f'<transient_attributes id="3"><instance_attributes id="status-3">{node3_attrs}'
             '</instance_attributes></transient_attributes>') if node3_attrs else ""
    states += (f'<node_state id="3" uname="node3" {node3}>{attrs}<lrm id="3"><lrm_resources>{node3_history}'
               '</lrm_resources></lrm></node_state>')
    # web prefers node3, so where it goes says whether node3 can run it
    constraints = '<rsc_location id="web-prefers-node3" rsc="web" node="node3" score="100"/>'
    text = document(nodes, resources, constraints, states, options)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"') \
        if fencing else text


LOCK = '<nvpair id="opts-lock" name="shutdown-lock" value="true"/>'
SUICIDE = '<nvpair id="opts-nqp" name="no-quorum-policy" value="suicide"/>'
CLONE = '<clone id="cl-clone"><primitive id="cl" class="ocf" provider="pacemaker" type="Dummy"/></clone>'


def cases() -> dict[str, str]:
    return {
        # a node_state without in_ccm: never seen by the cluster layer, fenced
        "never-seen-by-the-cluster-is-fenced": _cib('crmd="offline" join="down"'),
        # refused at join
        "banned-at-join-is-fenced": _cib('in_ccm="true" crmd="online" join="banned" expected="member"'),
        # asked to terminate (the terminate attribute) while up
        "termination-requested-is-fenced": _cib(
            'in_ccm="true" crmd="online" join="member" expected="member"',
            node3_attrs='<nvpair id="status-3-terminate" name="terminate" value="true"/>'),
        # still joining: online but not ready, so nothing runs or is probed there
        "joining-host-runs-nothing": _cib('in_ccm="true" crmd="online" join="pending" expected="member"'),
        # up while expected down (it is coming up): the same
        "host-coming-up-runs-nothing": _cib('in_ccm="true" crmd="online" join="down" expected="down"'),
        # shutting down (the shutdown attribute) with its controller gone: offline, not fenced, history still read
        "host-shut-down-cleanly-is-offline": _cib(
            'in_ccm="false" crmd="offline" join="down" expected="member"', node3_history=_started("db"),
            node3_attrs='<nvpair id="status-3-shutdown" name="shutdown" value="1500000000"/>'),
        # shutdown-lock: node3 shuts down cleanly; db (a primitive) stops and waits for it, an instance of the
        # clone is not locked
        "shutdown-lock-keeps-a-resource-for-its-host": _cib(
            'in_ccm="true" crmd="online" join="member" expected="member"',
            node3_history=_started("db") + _started("cl"), options=LOCK, extra_resources=CLONE,
            node3_attrs='<nvpair id="status-3-shutdown" name="shutdown" value="1500000000"/>'),
        # node3 is down; db's entry there records its lock: db stays stopped, waiting for node3
        "shutdown-locked-resource-waits-for-its-host": _cib(
            'in_ccm="false" crmd="offline" join="down" expected="down"', options=LOCK,
            node3_history=_started("db", "stop", lock=1500000000)),
        # the same with shutdown-lock-limit=10min, long past: the lock expired, db starts elsewhere
        # (scheduled as of the CIB's execution-date, 2020)
        "expired-shutdown-lock-lets-it-start-elsewhere": _cib(
            'in_ccm="false" crmd="offline" join="down" expected="down"',
            options=LOCK + '<nvpair id="opts-lock-limit" name="shutdown-lock-limit" value="10min"/>',
            node3_history=_started("db", "stop", lock=1500000000)).replace(
                'have-quorum="1"', 'have-quorum="1" execution-date="1600000000"'),
        # node3 in maintenance: db, running there, is left alone (unmanaged), not moved
        "host-in-maintenance-leaves-its-resources-alone": _cib(
            'in_ccm="true" crmd="online" join="member" expected="member"', node3_history=_started("db"),
            node3_attrs='<nvpair id="status-3-maintenance" name="maintenance" value="true"/>'),
        # no quorum with no-quorum-policy=suicide (and the CIB's no-quorum-panic): every host is fenced ...
        "no-quorum-suicide-fences-every-host": _cib(
            'in_ccm="true" crmd="online" join="member" expected="member"', node3_history=_started("db"),
            options=SUICIDE).replace('have-quorum="1"', 'have-quorum="0" no-quorum-panic="1"'),
        # ... but a cluster that has never had quorum (no no-quorum-panic) stops instead
        "no-quorum-suicide-without-panic-stops": _cib(
            'in_ccm="true" crmd="online" join="member" expected="member"', node3_history=_started("db"),
            options=SUICIDE).replace('have-quorum="1"', 'have-quorum="0"'),
        # without fencing: its controller gone while expected up, it is unclean and its history is not read, so
        # db starts elsewhere
        "controller-gone-without-fencing-is-unclean": _cib(
            'in_ccm="true" crmd="offline" join="member" expected="member"', fencing=False,
            node3_history=_started("db")),
    }


def main() -> int:
    return write_all(cases(), OUT, "node_states", "node_state_cases.py")


if __name__ == "__main__":
    sys.exit(main())
