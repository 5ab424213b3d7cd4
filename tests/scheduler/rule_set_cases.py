"""Write the golden cases of attribute sets with rules (tests/scheduler/rule_sets/) with real Pacemaker's results.

    python -m tests.scheduler.rule_set_cases [OUT_DIR]

Conditional meta attributes, resource and operation defaults, cluster options and node attributes: by date
(the CIB's execution-date is the scheduler's now, for crm_simulate and drover alike), by resource agent
(rsc_expression) and by node. expected.json comes from crm_simulate (tests/scheduler/oracle.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.golden import write_all

OUT = Path(__file__).resolve().parent / "rule_sets"
NOW = 1_796_126_400          # 2026-12-01 12:00:00 UTC
IN_WINDOW = 'start="2026-11-30T00:00:00Z" end="2026-12-02T00:00:00Z"'
PAST_WINDOW = 'start="2025-01-01T00:00:00Z" end="2025-01-02T00:00:00Z"'


def _dummy(rid: str, provider: str = "pacemaker", sets: str = "") -> str:
    return f'<primitive id="{rid}" class="ocf" provider="{provider}" type="Dummy">{sets}</primitive>'


def _date_rule(rid: str, operation: str, window: str, score: str = "INFINITY") -> str:
    return (f'<rule id="{rid}" score="{score}"><date_expression id="{rid}-date" operation="{operation}" {window}/>'
            "</rule>")


def _nv(owner: str, name: str, value: str) -> str:
    return f'<nvpair id="{owner}-{name}" name="{name}" value="{value}"/>'


def _cib(resources: str, constraints: str = "", sections: str = "", options: str = "", nodes: str = "") -> str:
    nodes = nodes or '<node id="1" uname="node1"/><node id="2" uname="node2"/>'
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     'expected="member"/>' for n in (1, 2))
    return f"""<cib validate-with="pacemaker-3.7" crm_feature_set="3.16.1" epoch="3" num_updates="1" admin_epoch="0"
 have-quorum="1" execution-date="{NOW}">
  <configuration>
    <crm_config><cluster_property_set id="cib-bootstrap-options">
      <nvpair id="opts-stonith-enabled" name="stonith-enabled" value="false"/>
    </cluster_property_set>{options}</crm_config>
    <nodes>{nodes}</nodes>
    <resources>{resources}</resources>
    <constraints>{constraints}</constraints>
    {sections}
  </configuration>
  <status>{states}</status>
</cib>
"""


def _stopped_in(window: str) -> str:
    sets = (f'<meta_attributes id="web-meta-window">{_date_rule("web-window", "in_range", window)}'
            f'{_nv("web-window", "target-role", "Stopped")}</meta_attributes>')
    return _cib(_dummy("web", sets=sets) + _dummy("db"))


def cases() -> dict[str, str]:
    return {
        # a meta attribute set whose date window holds now stops the resource; the other one runs
        "meta-by-date-inside-its-window": _stopped_in(IN_WINDOW),
        # ... and outside its window it does nothing
        "meta-by-date-outside-its-window": _stopped_in(PAST_WINDOW),
        # resource defaults for one agent only (rsc_expression): ocf:pacemaker:Dummy stopped, ocf:heartbeat runs
        "rsc-defaults-for-one-agent": _cib(
            _dummy("pcmk-dummy") + _dummy("hb-dummy", "heartbeat"),
            sections='<rsc_defaults><meta_attributes id="dummy-defaults"><rule id="dummy-defaults-rule" '
                     'score="INFINITY"><rsc_expression id="dummy-defaults-expr" class="ocf" provider="pacemaker" '
                     f'type="Dummy"/></rule>{_nv("dummy-defaults", "target-role", "Stopped")}</meta_attributes>'
                     "</rsc_defaults>"),
        # a cluster option by date: stop-all-resources during the window
        "cluster-option-by-date": _cib(
            _dummy("web"), options='<cluster_property_set id="maintenance-window">'
            + _date_rule("maintenance-window-rule", "in_range", IN_WINDOW)
            + _nv("maintenance-window", "stop-all-resources", "true") + "</cluster_property_set>"),
        # a node attribute by date decides a location rule: node2 is in group b only since 2026
        "node-attribute-by-date-decides-a-location": _cib(
            _dummy("web"),
            '<rsc_location id="web-in-b" rsc="web"><rule id="web-in-b-rule" score="100"><expression '
            'id="web-in-b-expr" attribute="site" operation="eq" value="b"/></rule></rsc_location>',
            nodes='<node id="1" uname="node1"><instance_attributes id="node1-attrs">' + _nv("node1", "site", "a")
                  + '</instance_attributes></node><node id="2" uname="node2"><instance_attributes '
                  f'id="node2-attrs">{_nv("node2", "site", "a")}</instance_attributes><instance_attributes '
                  f'id="node2-attrs-2026">{_date_rule("node2-2026", "gt", "start=" + chr(34) + "2026-01-01" + chr(34))}'
                  f'{_nv("node2-2026", "site", "b")}</instance_attributes></node>'),
        # the plain set has the higher score: the rule set, although it holds, loses to it
        "a-plain-set-with-a-higher-score-wins": _cib(_dummy("web", sets=(
            f'<meta_attributes id="web-meta" score="10">{_nv("web", "target-role", "Started")}</meta_attributes>'
            f'<meta_attributes id="web-meta-window" score="5">{_date_rule("web-window", "in_range", IN_WINDOW)}'
            f'{_nv("web-window", "target-role", "Stopped")}</meta_attributes>'))),
    }


def main() -> int:
    return write_all(cases(), OUT, "rule_sets", "rule_set_cases.py")


if __name__ == "__main__":
    sys.exit(main())
