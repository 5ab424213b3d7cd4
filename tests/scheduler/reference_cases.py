"""Write the template and tag golden cases (tests/scheduler/references/) with real Pacemaker's results.

    python -m tests.scheduler.reference_cases [OUT_DIR]

Each case is a small two-node CIB with resource templates (primitives made from them, their own attributes
against the template's) or tags, named by location, colocation, order and ticket constraints directly and in
resource sets. expected.json comes from crm_simulate (tests/scheduler/oracle.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.failure_cases import NODE2, TWO_NODES, _cib
from tests.scheduler.golden import write_all

OUT = Path(__file__).resolve().parent / "references"


def _template(meta: str = "", score: str = "") -> str:
    sets = (f'<meta_attributes id="web-t-meta"{f" score={chr(34)}{score}{chr(34)}" if score else ""}>{meta}'
            "</meta_attributes>") if meta else ""
    return (f'<template id="web-t" class="ocf" provider="heartbeat" type="Dummy">{sets}'
            '<operations><op id="web-t-mon" name="monitor" interval="30s"/></operations></template>')


def _made(rid: str, meta: str = "") -> str:
    own = f'<meta_attributes id="{rid}-meta">{meta}</meta_attributes>' if meta else ""
    return f'<primitive id="{rid}" template="web-t">{own}</primitive>'


def _nv(owner: str, name: str, value: str) -> str:
    return f'<nvpair id="{owner}-{name}" name="{name}" value="{value}"/>'


WEBS = _template() + _made("web1") + _made("web2")
ANCHOR = '<primitive id="anchor" class="ocf" provider="pacemaker" type="Dummy"/>'
ANCHOR_ON_NODE2 = '<rsc_location id="anchor-node2" rsc="anchor" node="node2" score="50"/>'
PLAIN = ('<primitive id="db1" class="ocf" provider="pacemaker" type="Dummy"/>'
         '<primitive id="db2" class="ocf" provider="pacemaker" type="Dummy"/>'
         '<primitive id="db3" class="ocf" provider="pacemaker" type="Dummy"/>')
TAG = '<tags><tag id="dbs"><obj_ref id="db1"/><obj_ref id="db2"/></tag></tags>'
PROMOTABLE = """<clone id="state-clone"><meta_attributes id="state-ma"><nvpair id="state-ma-p" name="promotable"
  value="true"/></meta_attributes>
  <primitive id="state" class="ocf" provider="pacemaker" type="Stateful"/></clone>"""
PROMOTED_ON_NODE2 = ('<rsc_location id="state-promoted-node2" rsc="state-clone" role="Promoted" node="node2" '
                     'score="100"/>')


def _two(resources: str, constraints: str, tags: str = "", states: str = NODE2) -> str:
    return _cib(resources, constraints, "", "", states, tags, nodes=TWO_NODES)


def cases() -> dict[str, str]:
    return {
        # the primitive's own meta attributes win over the template's: web1 runs, web2 (the template's) does not
        "own-meta-wins-over-the-template": _two(
            _template(_nv("web-t", "target-role", "Stopped")) + _made("web1", _nv("web1", "target-role", "Started"))
            + _made("web2"), ""),
        # ... unless the template's set has the higher score
        "a-template-set-with-a-higher-score-wins": _two(
            _template(_nv("web-t", "target-role", "Stopped"), score="10")
            + _made("web1", _nv("web1", "target-role", "Started")), ""),
        # a location constraint on the template holds for every primitive made from it
        "location-on-a-template": _two(
            WEBS + ANCHOR, '<rsc_location id="webs-node2" rsc="web-t" node="node2" score="100"/>'),
        # a template colocated with a resource: all of its primitives follow it, and its role moves to the set
        "colocation-of-a-template-with-a-resource": _two(
            WEBS + ANCHOR, ANCHOR_ON_NODE2
            + '<rsc_colocation id="webs-with-anchor" rsc="web-t" with-rsc="anchor" score="INFINITY"/>'),
        # a resource colocated with a template, which is an unordered set: it follows the set's resources
        "colocation-of-a-resource-with-a-template": _two(
            WEBS + ANCHOR, '<rsc_location id="webs-node2" rsc="web-t" node="node2" score="100"/>'
            '<rsc_colocation id="anchor-with-webs" rsc="anchor" with-rsc="web-t" score="INFINITY"/>'),
        # an order from a disabled resource to a template: none of its primitives may start
        "order-of-a-stopped-resource-then-a-template": _two(
            WEBS + ANCHOR.replace("/>", f'><meta_attributes id="anchor-meta">{_nv("anchor", "target-role", "Stopped")}'
                                  "</meta_attributes></primitive>"),
            '<rsc_order id="anchor-then-webs" first="anchor" then="web-t" kind="Mandatory"/>'),
        # a primitive made from a template in a group and in a clone
        "templates-in-a-group-and-a-clone": _two(
            _template() + '<group id="grp">' + _made("web1") + ANCHOR + "</group>"
            + '<clone id="web2-clone">' + _made("web2") + "</clone>",
            '<rsc_location id="grp-node2" rsc="grp" node="node2" score="100"/>'),
        # a location constraint on a tag: both tagged resources, the untagged one not
        "location-on-a-tag": _two(
            PLAIN, '<rsc_location id="dbs-node2" rsc="dbs" node="node2" score="100"/>'
            '<rsc_location id="db3-node1" rsc="db3" node="node1" score="10"/>', TAG),
        # a tag colocated with a resource
        "colocation-of-a-tag-with-a-resource": _two(
            PLAIN + ANCHOR, ANCHOR_ON_NODE2
            + '<rsc_colocation id="dbs-with-anchor" rsc="dbs" with-rsc="anchor" score="INFINITY"/>', TAG),
        # a tag colocated with a promotable clone's Promoted role (with-rsc-role moves onto the set)
        "colocation-of-a-tag-with-the-promoted-role": _two(
            PLAIN + PROMOTABLE, PROMOTED_ON_NODE2 + '<rsc_colocation id="dbs-with-promoted" rsc="dbs" '
            'with-rsc="state-clone" with-rsc-role="Promoted" score="INFINITY"/>', TAG),
        # a tag in a resource set: its resources take its place in the set
        "a-tag-in-a-resource-set": _two(
            PLAIN + ANCHOR, ANCHOR_ON_NODE2
            + '<rsc_colocation id="set-with-anchor" score="INFINITY">'
              '<resource_set id="set-with-anchor-0" sequential="false"><resource_ref id="dbs"/>'
              '<resource_ref id="db3"/></resource_set>'
              '<resource_set id="set-with-anchor-1"><resource_ref id="anchor"/></resource_set></rsc_colocation>',
            TAG),
        # a tag under a ticket never granted: the tagged resources stop, the others run
        "a-tag-under-a-revoked-ticket": _two(
            PLAIN, '<rsc_ticket id="dbs-need-ticketA" rsc="dbs" ticket="ticketA" loss-policy="stop"/>', TAG,
            NODE2 + '<tickets><ticket_state id="ticketA" granted="false"/></tickets>'),
        # an order from a tag to a template: a disabled tagged resource keeps the template's primitives stopped
        "order-of-a-tag-then-a-template": _two(
            PLAIN.replace('type="Dummy"/>', f'type="Dummy"><meta_attributes id="db1-meta">'
                          f'{_nv("db1", "target-role", "Stopped")}</meta_attributes></primitive>', 1) + WEBS,
            '<rsc_order id="dbs-then-webs" first="dbs" then="web-t" kind="Mandatory"/>', TAG),
    }


def main() -> int:
    return write_all(cases(), OUT, "references", "reference_cases.py")


if __name__ == "__main__":
    sys.exit(main())
