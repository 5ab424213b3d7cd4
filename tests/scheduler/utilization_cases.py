"""Write the utilization golden cases (tests/scheduler/utilization/) with real Pacemaker's results.

    python -m tests.scheduler.utilization_cases [OUT_DIR]

Hypervisors with cpu/memory capacities and VMs (Dummy primitives) that need some, under each placement-strategy:
what does not fit stays stopped, groups and colocated resources need room together, balanced spreads by free
capacity, minimal fills nodes in name order, and running VMs keep their capacity. expected.json comes from
crm_simulate (tests/scheduler/oracle.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.failure_cases import PAST, _op
from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "utilization"


def _node(number: int, cpu: int, memory: int) -> str:
    return (f'<node id="{number}" uname="hv{number}"><utilization id="hv{number}-u">'
            f'<nvpair id="hv{number}-u-cpu" name="cpu" value="{cpu}"/>'
            f'<nvpair id="hv{number}-u-mem" name="memory" value="{memory}"/></utilization></node>')


def _vm(name: str, cpu: int, memory: int, meta: str = "") -> str:
    return (f'<primitive id="{name}" class="ocf" provider="pacemaker" type="Dummy">'
            + (f'<meta_attributes id="{name}-m">{meta}</meta_attributes>' if meta else "")
            + f'<utilization id="{name}-u"><nvpair id="{name}-u-cpu" name="cpu" value="{cpu}"/>'
              f'<nvpair id="{name}-u-mem" name="memory" value="{memory}"/></utilization>'
              f'<operations><op id="{name}-mon" name="monitor" interval="10s"/></operations></primitive>')


def _running(name: str) -> str:
    return (f'<lrm_resource id="{name}" class="ocf" provider="pacemaker" type="Dummy">'
            + _op(name, f"{name}_last_0", "start", 0, 0, PAST, 2) + "</lrm_resource>")


def _cib(strategy: str | None, nodes: str, resources: str, constraints: str = "",
         running: dict[int, list[str]] | None = None, count: int = 3) -> str:
    option = (f'<nvpair id="opts-placement" name="placement-strategy" value="{strategy}"/>' if strategy else "")
    states = "".join(
        f'<node_state id="{n}" uname="hv{n}" in_ccm="true" crmd="online" join="member" expected="member">'
        f'<lrm id="{n}"><lrm_resources>{"".join(_running(r) for r in (running or {}).get(n, []))}'
        "</lrm_resources></lrm></node_state>" for n in range(1, count + 1))
    return document(nodes, resources, constraints, states, option)


THREE = _node(1, 4, 4096) + _node(2, 8, 8192) + _node(3, 16, 16384)
FOUR_VMS = _vm("vm1", 2, 2048) + _vm("vm2", 2, 2048) + _vm("vm3", 4, 4096) + _vm("vm4", 4, 4096)


def cases() -> dict[str, str]:
    return {
        # the default strategy ignores utilization: the VMs spread by count, whatever they need
        "default-ignores-utilization": _cib(None, THREE, FOUR_VMS + _vm("vm5", 32, 1024)),
        # utilization: a VM larger than every hypervisor stays stopped, the others fit where there is room
        "utilization-leaves-what-does-not-fit-stopped": _cib("utilization", THREE, FOUR_VMS + _vm("big", 32, 1024)),
        # balanced: each VM goes where the most capacity is left
        "balanced-spreads-by-free-capacity": _cib("balanced", THREE, FOUR_VMS),
        # minimal: VMs fill the hypervisors in name order
        "minimal-fills-hypervisors-in-order": _cib("minimal", THREE, FOUR_VMS),
        # VMs already running are placed again like the others (no stickiness: balanced moves vm1), and the 8-cpu
        # vm5 finds no room left
        "running-vms-keep-their-capacity": _cib(
            "balanced", THREE, FOUR_VMS + _vm("vm5", 8, 8192), running={3: ["vm3", "vm4"], 2: ["vm1"]}),
        # a group needs room for all its members on one node
        "a-group-needs-room-for-all-its-members": _cib(
            "utilization", _node(1, 3, 4096) + _node(2, 4, 4096), '<group id="grp">' + _vm("a", 2, 1024)
            + _vm("b", 2, 1024) + "</group>", count=2),
        # colocated VMs need room together: the dependent's primary goes where both fit
        "colocated-vms-need-room-together": _cib(
            "utilization", _node(1, 3, 4096) + _node(2, 4, 4096), _vm("db", 2, 1024) + _vm("app", 2, 1024),
            '<rsc_colocation id="app-with-db" rsc="app" with-rsc="db" score="INFINITY"/>', count=2),
        # a location preference yields to capacity: the preferred node is too small
        "capacity-beats-a-location-preference": _cib(
            "balanced", THREE, _vm("vm1", 6, 2048),
            '<rsc_location id="vm1-hv1" rsc="vm1" node="hv1" score="100"/>'),
        # priority decides who gets the last room
        "priority-decides-who-gets-the-room": _cib(
            "utilization", _node(1, 4, 4096), _vm("low", 4, 1024) + _vm("high", 4, 1024, '<nvpair id="high-p" '
                                                                          'name="priority" value="10"/>'),
            count=1),
    }


def main() -> int:
    return write_all(cases(), OUT, "utilization", "utilization_cases.py")


if __name__ == "__main__":
    sys.exit(main())
