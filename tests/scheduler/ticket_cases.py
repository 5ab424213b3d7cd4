"""Write the ticket golden cases (tests/scheduler/tickets/) with real Pacemaker's results.

    python -m tests.scheduler.ticket_cases [OUT_DIR]

Each case is a small two-node CIB: the web server (or a promotable clone) depends on ticketA through an
rsc_ticket, with the ticket granted, revoked or in standby in the status section, and each loss-policy.
expected.json comes from crm_simulate (tests/scheduler/oracle.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.failure_cases import NODE2, PAST, TWO_NODES, _cib, _op
from tests.scheduler.golden import write_all

OUT = Path(__file__).resolve().parent / "tickets"
WEB = """<primitive id="webserver" class="ocf" provider="heartbeat" type="Dummy">
  <operations><op id="web-mon" name="monitor" interval="30s"/></operations>
</primitive>"""
DB = """<clone id="db-clone"><meta_attributes id="db-ma"><nvpair id="db-ma-p" name="promotable" value="true"/>
  </meta_attributes>
  <primitive id="db" class="ocf" provider="pacemaker" type="Stateful">
    <operations><op id="db-mon-p" name="monitor" interval="10s" role="Promoted"/>
      <op id="db-mon-u" name="monitor" interval="11s" role="Unpromoted"/></operations>
  </primitive>
</clone>"""
PROMOTED_RULE = ('<rsc_location id="db-promoted-on-node2" rsc="db-clone"><rule id="db-promoted-rule" role="Promoted" '
                 'score="10"><expression id="db-promoted-expr" attribute="#uname" operation="eq" value="node2"/>'
                 '</rule></rsc_location>')
FENCE = '<primitive id="fence1" class="stonith" type="fence_dummy"/>'
WEB_ON_NODE1 = ('<lrm_resource id="webserver" class="ocf" provider="heartbeat" type="Dummy">'
                + _op("webserver", "webserver_last_0", "start", 0, 0, PAST, 2) + "</lrm_resource>")
DB_PROMOTED_ON_NODE1 = ('<lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">'
                        + _op("db", "db_last_0", "promote", 0, 0, PAST, 3) + "</lrm_resource>")
DB_UNPROMOTED_ON_NODE2 = ('<lrm id="2"><lrm_resources><lrm_resource id="db" class="ocf" provider="pacemaker" '
                          'type="Stateful">' + _op("db", "db_last_0", "start", 0, 0, PAST, 2)
                          + "</lrm_resource></lrm_resources></lrm>")


def _ticket(rsc: str, policy: str | None, role: str | None = None) -> str:
    return (f'<rsc_ticket id="{rsc}-needs-ticketA" rsc="{rsc}" ticket="ticketA"'
            + (f' loss-policy="{policy}"' if policy else "") + (f' rsc-role="{role}"' if role else "") + "/>")


def _state(granted: bool | None, standby: bool = False) -> str:
    if granted is None:
        return ""
    return (f'<tickets><ticket_state id="ticketA" granted="{str(granted).lower()}"'
            + (' standby="true"' if standby else "") + "/></tickets>")


def _web(policy: str | None, granted: bool | None, standby: bool = False, fencing: bool = False) -> str:
    text = _cib(WEB + (FENCE if fencing else ""), _ticket("webserver", policy), WEB_ON_NODE1, "",
                NODE2 + _state(granted, standby), nodes=TWO_NODES)
    if fencing:
        text = text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')
    return text


def _db(policy: str | None, granted: bool, role: str | None = "Promoted") -> str:
    node2 = NODE2.replace("/>", ">") + DB_UNPROMOTED_ON_NODE2 + "</node_state>"
    promotion_score = '<nvpair id="status-1-master-db" name="master-db" value="10"/>'     # node1 is preferred
    return _cib(DB, _ticket("db-clone", policy, role), DB_PROMOTED_ON_NODE1, promotion_score,
                node2 + _state(granted), nodes=TWO_NODES)


def cases() -> dict[str, str]:
    return {
        # granted: the web server stays where it runs
        "granted-keeps-it-running": _web("stop", True),
        # revoked (or never granted: no state at all) with loss-policy stop (the default): it stops
        "revoked-stops-it": _web("stop", False),
        "never-granted-stops-it": _web(None, None),
        # standby: it stops, whatever the loss policy
        "standby-stops-it": _web("freeze", True, standby=True),
        # freeze: revoked, it is left where it runs, unmanaged
        "revoked-with-freeze-leaves-it": _web("freeze", False),
        # fence (with fencing enabled): the node it runs on is fenced, and it does not start anywhere else
        "revoked-with-fence-fences-its-node": _web("fence", False, fencing=True),
        # fence without fencing is stop
        "fence-without-fencing-stops-it": _web("fence", False),
        # the Promoted role's ticket revoked: demoted where it is promoted, the clone keeps running (default demote)
        "revoked-promoted-ticket-demotes": _db(None, False),
        # ... with loss-policy stop: every instance stops
        "revoked-promoted-ticket-with-stop-stops-all": _db("stop", False),
        # granted: promoted as before
        "granted-promoted-ticket-keeps-it-promoted": _db(None, True),
        # no promotion score at all: a location rule for the Promoted role alone decides where it is promoted
        "granted-promoted-by-a-rule-for-the-promoted-role": _cib(
            DB, _ticket("db-clone", None, "Promoted") + PROMOTED_RULE, "", "", NODE2 + _state(True),
            nodes=TWO_NODES),
    }


def main() -> int:
    return write_all(cases(), OUT, "tickets", "ticket_cases.py")

if __name__ == "__main__":
    sys.exit(main())
