"""`drover resource relocate` as pcs has it: the pins it would make and the moves they cause (dry-run, show),
a run that cannot settle without a controller (it removes its pins and says so), clear, and bad names; the
run that moves resources across real hosts is in tests/cluster/test_cluster.py."""

from __future__ import annotations

from pathlib import Path

from appliance.model.constraints import Location
from tests.test_config_cli import Drover, drover  # noqa: F401  (the in-process CLI fixture)

OP = ('<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_{key}" operation="{task}" call-id="{call}" '
      'rc-code="{rc}" op-status="0" interval="0" transition-key="0:0:{target}:d4c0de00-0000-4000-8000-000000000000" '
      'transition-magic="0:{rc};0:0:{target}:d4c0de00-0000-4000-8000-000000000000"/>')


def _lrm(rid: str, task: str, rc: int, call: int) -> str:
    key = "monitor_0" if task == "monitor" else f"{task}_0"
    return (f'<lrm_resource id="{rid}" class="ocf" provider="heartbeat" type="Dummy">'
            + OP.format(rid=rid, key=key, task=task, call=call, rc=rc, target=7 if task == "monitor" else 0)
            + "</lrm_resource>")


CIB = f"""<cib validate-with="pacemaker-3.7" crm_feature_set="3.16.1" epoch="3" num_updates="1" admin_epoch="0"
 have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opts-stonith-enabled" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
      <primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints>
      <rsc_location id="web-likes-node2" rsc="web" node="node2" score="50"/>
      <rsc_location id="db-likes-node1" rsc="db" node="node1" score="50"/>
    </constraints>
    <rsc_defaults><meta_attributes id="rsc-options">
      <nvpair id="rsc-options-stickiness" name="resource-stickiness" value="100"/>
    </meta_attributes></rsc_defaults>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>{_lrm("web", "start", 0, 2)}{_lrm("db", "start", 0, 3)}</lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="2"><lrm_resources>{_lrm("web", "monitor", 7, 1)}{_lrm("db", "monitor", 7, 1)}</lrm_resources></lrm>
    </node_state>
  </status>
</cib>
"""


def _load(drover: Drover) -> None:  # noqa: F811
    Path("cib.xml").write_text(CIB)
    drover.ok("cib", "import", "cib.xml", "--include-status")


def test_dry_run_pins_what_stickiness_holds_and_shows_the_moves_changing_nothing(drover: Drover):  # noqa: F811
    _load(drover)
    before = drover.state_bytes()
    out = drover.ok("resource", "relocate", "dry-run")
    assert "Creating location constraint: web prefers node2=INFINITY" in out
    assert "db prefers" not in out                                  # already where it would go
    assert "Transition Summary:\n  * Move       web                  ( node1 -> node2 )" in out, out
    assert drover.state_bytes() == before
    only_db = drover.ok("resource", "relocate", "dry-run", "db")
    assert only_db.startswith("Nothing to relocate")
    shown = drover.ok("resource", "relocate", "show")
    assert "Current cluster status:" in shown and "* Move       web                  ( node1 -> node2 )" in shown
    assert drover.state_bytes() == before


def test_a_run_that_cannot_settle_removes_its_pins_and_says_so(drover: Drover):  # noqa: F811
    _load(drover)                  # no daemon runs here: nothing carries the move out
    result = drover("resource", "relocate", "run", "web", "--wait=1s")
    assert result.code == 1
    assert "Creating location constraint: web prefers node2=INFINITY" in result.out
    assert "Removing constraint pcs-relocate-web" in result.out
    assert "waiting timeout: the resources did not settle within 1s" in result.err
    assert not [c for c in drover.cib().configuration.constraints if c.id.startswith("pcs-relocate-")]


def test_clear_removes_pins_an_interrupted_run_left_and_bad_names_are_refused(drover: Drover):  # noqa: F811
    _load(drover)
    Path("pin.xml").write_text('<rsc_location id="pcs-relocate-web" rsc="web" node="node2" score="INFINITY"/>')
    drover.ok("cib", "import", "pin.xml")
    assert drover.ok("resource", "relocate", "clear") == "Removing constraint pcs-relocate-web\n"
    constraints = drover.cib().configuration.constraints
    assert [c.id for c in constraints if isinstance(c, Location)] == ["web-likes-node2", "db-likes-node1"]
    before = drover.state_bytes()
    missing = drover("resource", "relocate", "dry-run", "nope")
    assert missing.code == 1 and "unable to find a resource/clone/group: nope" in missing.err
    bad_wait = drover("resource", "relocate", "run", "--wait=soon")
    assert bad_wait.code == 1 and "--wait" in bad_wait.err
    assert drover.state_bytes() == before
