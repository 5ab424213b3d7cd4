"""Write the golden cases of `drover simulate --op-fail` (tests/scheduler/op_fail/) with real Pacemaker's results.

    python -m tests.scheduler.op_fail_cases [OUT_DIR]

Each case is a small CIB and the actions to fail (meta.json's "op_fail"); expected.json is crm_simulate's revised
status after running the transition with `--op-fail` (tests/scheduler/oracle.py): what ran before the failure,
the failure recorded, nothing after it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.golden import document, write_case

OUT = Path(__file__).resolve().parent / "op_fail"
WHEN = 1_500_000_000


def _dummy(rid: str, meta: str = "") -> str:
    block = f'<meta_attributes id="{rid}-meta">{meta}</meta_attributes>' if meta else ""
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy">{block}'
            f'<operations><op id="{rid}-monitor" name="monitor" interval="10s"/></operations></primitive>')


def _stateful(rid: str) -> str:
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Stateful"><operations>'
            f'<op id="{rid}-mon-p" name="monitor" interval="10s" role="Promoted"/>'
            f'<op id="{rid}-mon-u" name="monitor" interval="11s" role="Unpromoted"/></operations></primitive>')


def _op(rid: str, task: str, rc: int, call: int, interval: int = 0, target: int = 0) -> str:
    key = f"{rid}_{task}_{interval}"
    op_id = key if interval else f"{rid}_last_0"
    magic = f"0:0:{target}:d4c0de00-0000-4000-8000-000000000000"
    return (f'<lrm_rsc_op id="{op_id}" operation_key="{key}" operation="{task}" call-id="{call}" rc-code="{rc}" '
            f'op-status="0" interval="{interval}" last-rc-change="{WHEN}" transition-key="{magic}" '
            f'transition-magic="0:{rc};{magic}"/>')


def _history(rid: str, agent: str, *ops: str) -> str:
    kind = 'class="stonith"' if agent.startswith("fence_") else 'class="ocf" provider="pacemaker"'
    return f'<lrm_resource id="{rid}" {kind} type="{agent}">{"".join(ops)}</lrm_resource>'


def _state(number: int, lrm: str = "", attrs: str = "") -> str:
    transient = (f'<transient_attributes id="{number}"><instance_attributes id="status-{number}">{attrs}'
                 '</instance_attributes></transient_attributes>') if attrs else ""
    return (f'<node_state id="{number}" uname="node{number}" in_ccm="true" crmd="online" join="member" '
            f'expected="member">{transient}<lrm id="{number}"><lrm_resources>{lrm}</lrm_resources></lrm>'
            '</node_state>')


def _nodes(count: int) -> str:
    return "".join(f'<node id="{n}" uname="node{n}"/>' for n in range(1, count + 1))


def _probed(rid: str, agent: str = "Dummy") -> str:
    return _history(rid, agent, _op(rid, "monitor", 7, 1, target=7))


def _running(rid: str, agent: str = "Dummy", call: int = 2) -> str:
    return _history(rid, agent, _op(rid, "start", 0, call), _op(rid, "monitor", 0, call + 1, interval=10000))


def _fencing(cib: str) -> str:
    return cib.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


FENCE_DEVICE = '<primitive id="fencer" class="stonith" type="fence_dummy"/>'


def cases() -> dict[str, tuple[str, tuple[str, ...]]]:
    group = f'<group id="site">{_dummy("vip")}{_dummy("web")}{_dummy("mail")}</group>'
    on_node1 = '<rsc_location id="site-on-node1" rsc="site" node="node1" score="100"/>'
    fresh = "".join(_state(n, _probed("vip") + _probed("web") + _probed("mail")) for n in (1, 2))
    moves = '<rsc_location id="db-on-node2" rsc="db" node="node2" score="INFINITY"/>'
    db_on_node1 = _state(1, _running("db")) + _state(2, _probed("db"))
    fenced_on_node1 = _state(1, _running("db") + _running("fencer", "fence_dummy", 5)) + \
        _state(2, _probed("db") + _probed("fencer", "fence_dummy"))
    promotable = (f'<clone id="db-clone"><meta_attributes id="db-clone-meta">'
                  '<nvpair id="db-clone-promotable" name="promotable" value="true"/>'
                  f'<nvpair id="db-clone-promoted-max" name="promoted-max" value="1"/></meta_attributes>'
                  f'{_stateful("db")}</clone>')
    unpromoted = "".join(_state(n, _history("db", "Stateful", _op("db", "start", 0, 2),
                                            _op("db", "monitor", 0, 3, interval=11000)),
                                f'<nvpair id="status-{n}-master-db" name="master-db" value="{10 * n}"/>')
                         for n in (1, 2))
    anonymous = f'<clone id="cache-clone">{_dummy("cache")}</clone>'
    return {
        # the group starts on node1; its second member's start fails: the first runs, the rest never start
        "group-member-start-fails": (document(_nodes(2), group, on_node1, fresh), ("web_start_0@node1=1",)),
        # a resource moves; its start on the new node fails after the stop on the old one
        "start-after-a-move-fails": (document(_nodes(2), _dummy("db"), moves, db_on_node1),
                                     ("db_start_0@node2=1",)),
        # the stop of a moving resource fails with fencing configured: its node must be fenced, it is FAILED
        "stop-fails-with-fencing": (_fencing(document(_nodes(2), FENCE_DEVICE + _dummy("db"), moves,
                                                      fenced_on_node1)), ("db_stop_0@node1=1",)),
        # the same without fencing: the resource is blocked where it is
        "stop-fails-without-fencing": (document(_nodes(2), _dummy("db"), moves, db_on_node1),
                                       ("db_stop_0@node1=1",)),
        # a promotion fails: the instance stays FAILED in the Promoted role it was given
        "promotion-fails": (document(_nodes(2), promotable, "", unpromoted), ("db_promote_0@node2=1",)),
        # a probe finds the resource already running elsewhere: the transition stops before starting it
        "probe-finds-it-active": (document(_nodes(2), _dummy("db"), "",
                                           _state(1, _probed("db").replace("db_last_0", "db_probe_x")) + _state(2)),
                                  ("db_monitor_0@node2=0",)),
        # an anonymous clone's instance is named without its number
        "anonymous-instance-start-fails": (document(_nodes(3), anonymous, "",
                                                    "".join(_state(n, _probed("cache")) for n in (1, 2, 3))),
                                           ("cache_start_0@node2=1",)),
        # a recurring monitor fails once everything started
        "monitor-fails-after-start": (document(_nodes(2), group, on_node1, fresh), ("mail_monitor_10000@node1=7",)),
        # an action the transition does not have: everything runs
        "unmatched-action-runs-everything": (document(_nodes(2), group, on_node1, fresh),
                                             ("web_start_0@node2=1",)),
    }


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    for name, (text, specs) in cases().items():
        _case, placement = write_case(out, name, text, "op-fail", "op_fail_cases.py", specs)
        print(name, specs, placement["resources"], placement["nodes"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
