"""Write the live-migration golden cases (tests/scheduler/migrations/) with real Pacemaker's results.

    python -m tests.scheduler.migration_cases [OUT_DIR]

Each case is a small CIB (three nodes) with an `allow-migrate` primitive that moves, or the history an
interrupted migration leaves behind (migrate_to done but not migrate_from, both done without the source's
stop, either one failed). expected.json (placement) and actions.json (the resource actions crm_simulate
executes: start, stop, promote, demote, migrate_to, migrate_from per resource and node) come from crm_simulate.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.scheduler.failure_cases import PAST, _cib
from tests.scheduler.golden import write_all

OUT = Path(__file__).resolve().parent / "migrations"
NODES = '<node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/>'
ACTION = re.compile(r"Resource action: (\S+)\s+(start|stop|promote|demote|migrate_to|migrate_from) on (\S+)")
KEY = "d4c0de00-0000-4000-8000-000000000000"
# Pacemaker's op-digest of these cases' operations (read off crm_simulate's own records), so that no history
# looks like a changed definition: one-off operations of a primitive without parameters, the VM's (config=...),
# and a recurring monitor without parameters or timeout
NO_PARAMS, VM_PARAMS, RECURRING = ("f2317cad3d54cec5d7d7aa7d0bf35cf8", "1c980f6d3645234adb16dfc22c8dc8d2",
                                   "4811cef7f7f94e3a35a70be7916cb2fd")


def _op(rid: str, task: str, rc: int, call: int, when: int = PAST, status: int = 0, interval: int = 0,
        target: int = 0, last: str = "last_0", migrate: tuple[str, str] | None = None) -> str:
    key = f"{task}_{interval}"
    digest = RECURRING if interval else VM_PARAMS if rid == "vm-guest1" else NO_PARAMS
    extra = f' migrate_source="{migrate[0]}" migrate_target="{migrate[1]}"' if migrate else ""
    op_id = f"{rid}_{last}" if not interval else f"{rid}_monitor_{interval}"
    return (f'<lrm_rsc_op id="{op_id}" operation_key="{rid}_{key}" operation="{task}" call-id="{call}" '
            f'rc-code="{rc}" op-status="{status}" interval="{interval}" last-rc-change="{when}" '
            f'transition-key="0:0:{target}:{KEY}" transition-magic="{status}:{rc};0:0:{target}:{KEY}" '
            f'op-digest="{digest}"{extra}/>')


def _lrm(rid: str, *ops: str, agent: str = 'class="ocf" provider="pacemaker" type="Dummy"') -> str:
    return f'<lrm_resource id="{rid}" {agent}>{"".join(ops)}</lrm_resource>'


def _state(number: int, lrm: str = "", attrs: str = "") -> str:
    return (f'<node_state id="{number}" uname="node{number}" in_ccm="true" crmd="online" join="member" '
            f'expected="member"><transient_attributes id="{number}"><instance_attributes id="status-{number}">'
            f'{attrs}</instance_attributes></transient_attributes><lrm id="{number}"><lrm_resources>{lrm}'
            f'</lrm_resources></lrm></node_state>')


def _db(allow: str = "true", extra_meta: str = "") -> str:
    return (f'<primitive id="db" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="db-ma">'
            f'<nvpair id="db-am" name="allow-migrate" value="{allow}"/>{extra_meta}</meta_attributes>'
            f'<operations><op id="db-mon" name="monitor" interval="10s"/></operations></primitive>')


def _location(rid: str, node: str, score: str) -> str:
    return f'<rsc_location id="loc-{rid}-{node}" rsc="{rid}" node="{node}" score="{score}"/>'


VM = """<primitive id="vm-guest1" class="ocf" provider="heartbeat" type="VirtualDomain">
  <instance_attributes id="vm-ia"><nvpair id="vm-ia-config" name="config" value="/etc/drover/vm-guest1.xml"/>
  </instance_attributes>
  <meta_attributes id="vm-ma"><nvpair id="vm-ma-rn" name="remote-node" value="guest1"/>
    <nvpair id="vm-ma-am" name="allow-migrate" value="true"/></meta_attributes>
  <operations><op id="vm-mon" name="monitor" interval="10s"/></operations>
</primitive>
<primitive id="webserver" class="ocf" provider="heartbeat" type="Dummy">
  <operations><op id="web-mon" name="monitor" interval="30s"/></operations>
</primitive>"""
VM_AGENT = 'class="ocf" provider="heartbeat" type="VirtualDomain"'
REMOTE_AGENT = 'class="ocf" provider="pacemaker" type="remote"'
WEB_AGENT = 'class="ocf" provider="heartbeat" type="Dummy"'


def _guest_case(constraints: str, node1_attrs: str = "") -> str:
    node1 = (_lrm("vm-guest1", _op("vm-guest1", "start", 0, 2), agent=VM_AGENT)
             + _lrm("guest1", _op("guest1", "start", 0, 4), agent=REMOTE_AGENT + ' container="vm-guest1"'))
    probed = (_lrm("vm-guest1", _op("vm-guest1", "monitor", 7, 1, target=7), agent=VM_AGENT)
              + _lrm("guest1", _op("guest1", "monitor", 7, 1, target=7), agent=REMOTE_AGENT))
    guest = ('<node_state id="guest1" uname="guest1" in_ccm="true" crmd="online" remote_node="true">'
             '<lrm id="guest1"><lrm_resources>'
             + _lrm("webserver", _op("webserver", "start", 0, 2), _op("webserver", "monitor", 0, 3, interval=30000),
                    agent=WEB_AGENT)
             + "</lrm_resources></lrm></node_state>")
    return _cib(VM, constraints + '<rsc_location id="web-g" rsc="webserver" node="guest1" score="INFINITY"/>',
                node1, node1_attrs, _state(2, probed) + _state(3, probed) + guest, nodes=NODES)


def cases() -> dict[str, str]:
    started = _lrm("db", _op("db", "start", 0, 2), _op("db", "monitor", 0, 3, interval=10000))
    probed = _lrm("db", _op("db", "monitor", 7, 1, target=7))
    migrated_to = _lrm("db", _op("db", "migrate_to", 0, 4, when=PAST + 10, migrate=("node1", "node2")))
    migrated_from = _lrm("db", _op("db", "migrate_from", 0, 4, when=PAST + 20, migrate=("node1", "node2")))
    to_failed = _lrm("db", _op("db", "migrate_to", 1, 4, when=PAST + 10, migrate=("node1", "node2")),
                     _op("db", "migrate_to", 1, 4, when=PAST + 10, migrate=("node1", "node2"), last="last_failure_0"))
    from_failed = _lrm("db", _op("db", "migrate_from", 1, 4, when=PAST + 20, migrate=("node1", "node2")),
                       _op("db", "migrate_from", 1, 4, when=PAST + 20, migrate=("node1", "node2"),
                           last="last_failure_0"))
    failed_monitor = _lrm("db", _op("db", "start", 0, 2), _op("db", "monitor", 7, 3, interval=10000),
                          _op("db", "monitor", 7, 3, last="last_failure_0", interval=10000))
    prefer2 = _location("db", "node2", "100")
    other = ('<primitive id="base" class="ocf" provider="pacemaker" type="Dummy"/>')
    base_running = _lrm("base", _op("base", "start", 0, 1))
    base_probed = _lrm("base", _op("base", "monitor", 7, 1, target=7))
    order = '<rsc_order id="base-then-db" first="base" then="db" kind="Mandatory"/>'
    return {
        # the walk-through's VM with allow-migrate: it migrates, its guest's connection moves after it and the
        # web server in the guest keeps running (only its monitor is registered again)
        "guest-vm-migrates": _guest_case(_location("vm-guest1", "node1", "-INFINITY")
                                         + _location("vm-guest1", "node2", "100")),
        # a standby host is drained by migrating its VM
        "guest-vm-migrates-off-standby-host": _guest_case(
            _location("vm-guest1", "node2", "100"), '<nvpair id="s1" name="standby" value="on"/>'),
        "migrate-moves-without-restart": _cib(_db(), prefer2, started, "", _state(2, probed) + _state(3, probed),
                                              nodes=NODES),
        "no-migration-without-allow-migrate": _cib(_db("false"), prefer2, started, "",
                                                   _state(2, probed) + _state(3, probed), nodes=NODES),
        # migrate_to done, migrate_from not: the migration continues where it was going ...
        "partial-migration-continues": _cib(_db(), prefer2, migrated_to, "", _state(2, probed) + _state(3, probed),
                                            nodes=NODES),
        # ... or, the target no longer chosen, it is stopped on both and started where it goes
        "partial-migration-target-changed": _cib(_db(), _location("db", "node3", "100")
                                                 + _location("db", "node2", "-INFINITY"), migrated_to, "",
                                                 _state(2, probed) + _state(3, probed), nodes=NODES),
        # both halves done, the source not stopped yet: it is stopped there only
        "dangling-migration-stops-the-source": _cib(_db(), prefer2, migrated_to, "",
                                                    _state(2, migrated_from) + _state(3, probed), nodes=NODES),
        "failed-migrate-to": _cib(_db(), prefer2, to_failed, "", _state(2, probed) + _state(3, probed), nodes=NODES),
        "failed-migrate-from": _cib(_db(), prefer2, migrated_to, "", _state(2, from_failed) + _state(3, probed),
                                    nodes=NODES),
        # a failed resource is recovered by stop and start, never migrated
        "failed-resource-is-not-migrated": _cib(
            _db(extra_meta='<nvpair id="db-mt" name="migration-threshold" value="1"/>'), "", failed_monitor,
            '<nvpair id="fc" name="fail-count-db#monitor_10000" value="1"/>'
            f'<nvpair id="lf" name="last-failure-db#monitor_10000" value="{PAST}"/>',
            _state(2, probed) + _state(3, probed), nodes=NODES),
        # an order whose 'first' stays put does not stop the migration
        "ordered-after-a-resource-that-stays": _cib(other + _db(), prefer2 + order + _location("base", "node3", "50"),
                                                    started + base_probed, "",
                                                    _state(2, probed + base_probed) + _state(3, probed + base_running),
                                                    nodes=NODES),
    }


def pacemaker_actions(cib: Path) -> list[list[str]]:
    out = subprocess.run(["crm_simulate", "-x", str(cib), "-S"], capture_output=True, text=True, timeout=120,
                         env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}).stdout
    executed = out.split("Executing Cluster Transition:")[1].split("Revised Cluster Status:")[0]
    return sorted([m.group(2), m.group(1), m.group(3)] for m in ACTION.finditer(executed))


def _write_actions(case: Path) -> str:
    """crm_simulate's resource actions beside the case (actions.json); returned for the generator's listing."""
    text = json.dumps(pacemaker_actions(case / "cib.xml"), indent=1)
    (case / "actions.json").write_text(text + "\n")
    return text.replace("\n", "")


def main() -> int:
    return write_all(cases(), OUT, "migrations", "migration_cases.py", _write_actions)

if __name__ == "__main__":
    sys.exit(main())
