"""CIB XML in and out: generated Pacemaker CIBs round-trip, Pacemaker accepts and agrees with what we write,
fragments are read exactly as Pacemaker writes them, and bad XML is refused with the line it is on."""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from appliance.cli import cib_cmd
from appliance.model.cib_read import read_cib, read_fragment
from appliance.model.cib_write import write_cib
from appliance.model.cluster import Configuration, validate
from appliance.model.constraints import Colocation, Location, Order
from appliance.model.resources import AgentRef, Clone, Group, Primitive
from appliance.model.values import INFINITY, ModelError
from guest.common.errors import UserError
from tests.conftest import TOP

CORPUS = TOP / "tests" / "scheduler" / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "cib.xml").is_file())
ORACLE = TOP / "tests" / "scheduler" / "oracle.py"


def test_the_committed_corpus_covers_every_tier() -> None:
    tiers = {json.loads((case / "meta.json").read_text())["tier"] for case in CASES}
    assert tiers == {"T1", "T2", "T3", "T4"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generated_cib_round_trips_through_the_model(case: Path) -> None:
    cib = read_cib((case / "cib.xml").read_bytes(), str(case))
    again = read_cib(write_cib(cib).encode(), "exported")
    assert again == cib


def _normalized(result: dict) -> dict:
    from tests.scheduler import oracle  # the scheduler tools' normaliser
    return oracle.normalize(result)


@pytest.mark.parametrize("case", CASES[::4], ids=[c.name for c in CASES[::4]])
def test_pacemaker_accepts_the_export_and_schedules_it_exactly_as_the_original(case: Path, tmp_path: Path) -> None:
    exported = tmp_path / "cib.xml"
    exported.write_text(write_cib(read_cib((case / "cib.xml").read_bytes(), str(case))))
    verify = subprocess.run(["crm_verify", "-x", str(exported)], capture_output=True, text=True)
    original = subprocess.run(["crm_verify", "-x", str(case / "cib.xml")], capture_output=True, text=True)
    assert verify.returncode == original.returncode, verify.stderr
    oracle = subprocess.run([sys.executable, str(ORACLE), str(exported)], capture_output=True,
                            text=True, check=True)
    expected = json.loads((case / "expected.json").read_text())
    assert _normalized(json.loads(oracle.stdout)) == _normalized(expected)


PRIMITIVE_AS_PACEMAKER_WRITES_IT = b"""<primitive class="ocf" id="vm-guest1" provider="heartbeat" type="VirtualDomain">
  <instance_attributes id="vm-guest1-instance_attributes">
    <nvpair id="vm-guest1-instance_attributes-config" name="config" value="vm-guest1.xml"/>
    <nvpair id="vm-guest1-instance_attributes-hypervisor" name="hypervisor" value="qemu:///system"/>
  </instance_attributes>
  <meta_attributes id="vm-guest1-meta_attributes">
    <nvpair id="vm-guest1-meta_attributes-remote-node" name="remote-node" value="guest1"/>
    <nvpair id="vm-guest1-meta_attributes-remote-connect-timeout" name="remote-connect-timeout" value="90s"/>
  </meta_attributes>
  <operations>
    <op id="vm-guest1-migrate_from-interval-0s" interval="0s" name="migrate_from" timeout="60s"/>
    <op id="vm-guest1-monitor-interval-10s" interval="10s" name="monitor" timeout="30s" on-fail="restart"/>
    <op id="vm-guest1-start-interval-0s" interval="0s" name="start" timeout="90s" start-delay="0"/>
  </operations>
</primitive>
"""


@pytest.mark.parametrize(("standard", "agent_type"), [("lsb", "/usr/lib/heartbeat/dummy"),
                                                      ("stonith", "external/ssh"),
                                                      ("ocf", "/usr/lib/heartbeat/cts/OCFMSDummy")])
def test_agent_names_pacemaker_accepts_beyond_plain_file_names(standard: str, agent_type: str) -> None:
    """Found on Pacemaker's own regression inputs (group1, coloc-intra-set, promoted-4): an lsb script by its
    absolute path, a cluster-glue stonith plugin, even an OCF type by path are valid there, so they are here
    (an OCF agent is still only run from resource.d: tests/test_executor.py)."""
    provider = " provider='heartbeat'" if standard == "ocf" else ""
    fragment = read_fragment(f"<primitive id='a' class='{standard}'{provider} type='{agent_type}'/>".encode(),
                             "test")
    (primitive,) = fragment.resources
    assert (primitive.agent.standard, primitive.agent.type) == (standard, agent_type)


def test_a_primitive_exactly_as_pacemaker_writes_it() -> None:
    fragment = read_fragment(PRIMITIVE_AS_PACEMAKER_WRITES_IT, "vm.xml")
    (vm,) = fragment.resources
    assert isinstance(vm, Primitive)
    assert str(vm.agent) == "ocf:heartbeat:VirtualDomain"
    assert vm.params.as_dict() == {"config": "vm-guest1.xml", "hypervisor": "qemu:///system"}
    assert vm.guest_node == "guest1"
    monitor = vm.ops[1]
    assert (monitor.name, monitor.interval_ms, monitor.timeout, monitor.on_fail) == ("monitor", 10_000, "30s",
                                                                                     "restart")
    assert vm.ops[2].options.as_dict() == {"start-delay": "0"}


def test_group_clone_legacy_master_and_constraints_fragments() -> None:
    group = read_fragment(b'<group id="g"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>'
                          b'<primitive id="b" class="systemd" type="httpd"/></group>', "g.xml").resources[0]
    assert isinstance(group, Group) and [m.id for m in group.members] == ["a", "b"]
    master = read_fragment(b'<master id="ms"><primitive id="s" class="ocf" provider="pacemaker" type="Stateful"/>'
                           b'</master>', "ms.xml").resources[0]
    assert isinstance(master, Clone) and master.promotable
    constraints = read_fragment(b"""<constraints>
      <rsc_location id="l" rsc="a" node="n1" score="+INFINITY"/>
      <rsc_colocation id="c" rsc="a" with-rsc="ms" with-rsc-role="Master" score="-INFINITY"/>
      <rsc_order id="o" first="ms" first-action="promote" then="a" score="0"/>
      <rsc_location id="r" rsc="a"><rule id="r1" score="-INFINITY" boolean-op="or">
        <expression id="r1e" attribute="#uname" operation="eq" value="n2"/>
        <expression id="r1f" attribute="ram" operation="lt" type="integer" value="1024"/></rule></rsc_location>
    </constraints>""", "c.xml").constraints
    location, colocation, order, rule = constraints
    assert isinstance(location, Location) and location.score == INFINITY
    assert isinstance(colocation, Colocation) and colocation.with_rsc_role == "Promoted"
    assert colocation.score == -INFINITY
    assert isinstance(order, Order) and order.first_action == "promote" and order.score == 0
    assert isinstance(rule, Location) and rule.rules[0].boolean_op == "or" and len(rule.rules[0].items) == 2


@pytest.mark.parametrize(("xml", "message"), [
    (b"<primitive id='a' class='ocf' type='Dummy'", "not well-formed XML"),
    (b"", "not well-formed XML"),
    (b"<resources>\n<primitive id='a' class='ocf' type='Dummy'/></resources>", "line 2"),
    (b"<resources><primitive id='a' class='ocf' provider='p' type='D'><bogus/></primitive></resources>",
     "unexpected element inside <primitive>"),
    (b"<bundle id='b'/>", "bundles come with a whole CIB"),
    (b"<primitive id='a' class='ocf' provider='p'/>", "missing required attribute 'type'"),
    (b"<rsc_location id='l' rsc='a' node='n' score='lots'/>", "invalid score 'lots'"),
    (b"<rsc_order id='o' first='a' then='b' kind='Sometimes'/>", "invalid kind 'Sometimes'"),
    (b"<primitive id='a' class='ocf' provider='p' type='D' colour='red'/>", "unknown attribute 'colour'"),
    (b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><primitive id='&a;' class='ocf' provider='p' type='D'/>",
     "DTDs and entities are not accepted"),
    (b"<nodes/>", "expected <cib>"),
    (b"<cib><configuration><resources><primitive id='a' class='ocf' provider='p' type='D'/>"
     b"<primitive id='a' class='ocf' provider='p' type='D'/></resources></configuration></cib>", "duplicate id 'a'"),
    (b"<cib><configuration><constraints><rsc_location id='l' rsc='ghost' node='n' score='1'/></constraints>"
     b"</configuration></cib>", "references resource 'ghost', which does not exist"),
    (b"<primitive id='a' class='nonsense' type='D'/>", "unknown class 'nonsense'"),
    (b"<primitive id='a' class='systemd' provider='p' type='httpd'/>", "only ocf resources have a provider"),
    (b"<primitive id='a' class='ocf' provider='heartbeat' type='../../../bin/sh'/>",
     "invalid agent type '../../../bin/sh'"),
    (b"<primitive id='a' class='ocf' provider='..' type='D'/>", "invalid agent provider '..'"),
    (b"<primitive id='a' class='lsb' type='/etc/init.d/../../bin/sh'/>", "invalid agent type"),
    (b"<primitive id='a' class='stonith' type='external/../../x'/>", "invalid agent type"),
    (b"<primitive id='a' class='ocf' provider='p' type='D'><operations><op id='o' name='monitor' interval='10s' "
     b"timeout='abc'/></operations></primitive>", "invalid timeout 'abc'"),
    (b"<primitive id='a' class='ocf' provider='p' type='D'><operations><op id='o' name='monitor' "
     b"interval='1200h'/></operations></primitive>", "invalid interval '1200h': longer than 49 days"),
    (b"<primitive id='a' class='ocf' provider='p' type='D'><operations><op id='o' name='monitor' interval='10s' "
     b"on-fail='explode'/></operations></primitive>", "invalid on-fail 'explode'"),
    (b"<rsc_location id='l' rsc='a' node='n' score='99999999999999999999999'/>", "out of range"),
    (b"<rsc_location id='l' rsc='a'>" + b"<rule id='r' score='1'>" * 100 + b"</rule>" * 100 + b"</rsc_location>",
     "nested more than 64 deep"),
    (b"<?xml version='1.0' encoding='no-such'?><cib/>", "unsupported encoding"),
    (b"<?xml version='1.0' encoding='utf-7'?><cib/>", "unsupported encoding"),
    (b"<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><primitive id='a' class='ocf' provider='p' type='D' "
     b"description='&x;'/>", "DTDs and entities are not accepted"),
    (b"<!DOCTYPE cib SYSTEM 'file:///etc/passwd'><cib/>", "DTDs and entities are not accepted"),
    (b"<cib><configuration><resources><primitive id='9a' class='ocf' provider='p' type='D'/></resources>"
     b"</configuration></cib>", "invalid id '9a' of a resource"),
    (b"<cib><configuration><resources><primitive id='a' class='ocf' provider='p' type='D'/></resources>"
     b"<constraints><rsc_location id='l:1' rsc='a' node='n' score='1'/></constraints></configuration></cib>",
     "invalid id 'l:1' of a constraint"),
    (b"<cib><configuration><resources><primitive id='" + b"a" * 256 + b"' class='ocf' provider='p' type='D'/>"
     b"</resources></configuration></cib>", "longer than 255 characters"),
])
def test_bad_xml_is_refused_with_a_message_naming_the_problem(xml: bytes, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        read_fragment(xml, "input.xml")


def test_validation_rejects_guest_names_that_collide() -> None:
    vm = read_fragment(PRIMITIVE_AS_PACEMAKER_WRITES_IT, "vm.xml").resources[0]
    dummy = Primitive("guest1", vm.agent)
    with pytest.raises(ModelError, match="guest node name 'guest1' of 'vm-guest1' is already a resource id"):
        validate(Configuration(resources=(vm, dummy)))


def test_validation_refuses_what_crm_verify_refuses_even_when_built_in_code() -> None:
    dummy = Primitive("a", AgentRef("ocf", "Dummy", "heartbeat"))
    with pytest.raises(ModelError, match="invalid id 'a:b' of a resource"):
        validate(Configuration(resources=(Group("a:b", (dummy,)),)))
    with pytest.raises(ModelError, match="primitive 'a': unknown class 'nonsense'"):
        validate(Configuration(resources=(Primitive("a", AgentRef("nonsense", "Dummy")),)))


def test_an_oversized_import_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.xml"
    with open(huge, "wb") as stream:
        stream.truncate(300 * 1024 * 1024)              # sparse: costs nothing on disk
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UserError, match=r"huge\.xml: larger than 256 MiB, refused"):
        cib_cmd._read(str(huge))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100 * 1024


def test_standard_input_is_read_with_a_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cib_cmd, "MAX_XML_BYTES", 10)
    requested: list[int] = []

    class Stdin(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            requested.append(size if size is not None else -1)
            return super().read(size)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(Stdin(b"x" * 100)))
    with pytest.raises(UserError, match="<stdin>: larger than"):
        cib_cmd._read("-")
    assert requested == [11]
    exact = tmp_path / "ten.xml"
    exact.write_bytes(b"0123456789")
    assert cib_cmd._read(str(exact)) == (b"0123456789", str(exact))
    exact.write_bytes(b"x" * 11)
    with pytest.raises(UserError, match=r"ten\.xml: larger than"):
        cib_cmd._read(str(exact))


def test_an_nvpair_or_a_set_given_by_id_ref_takes_the_named_ones_values():
    text = """<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/><resources>
      <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="a-params"><nvpair id="a-fake" name="fake" value="1"/></instance_attributes>
        <meta_attributes id="a-meta"><nvpair id="a-stick" name="resource-stickiness" value="5"/></meta_attributes>
      </primitive>
      <primitive id="b" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="b-params"><nvpair id-ref="a-fake"/><nvpair id-ref="a-fake" name="other"/>
        </instance_attributes>
        <meta_attributes id-ref="a-meta"/>
      </primitive></resources><constraints/></configuration><status/></cib>"""
    configuration = read_cib(text.encode(), "id-ref.xml").configuration
    b = configuration.resource("b")
    assert b.params.as_dict() == {"fake": "1", "other": "1"} and b.meta.as_dict() == {"resource-stickiness": "5"}
    with pytest.raises(ModelError, match="id-ref 'nope' names no <nvpair>"):
        read_cib(text.replace('<nvpair id-ref="a-fake"/>', '<nvpair id-ref="nope"/>').encode(), "broken.xml")


def test_a_node_state_without_id_is_passed_over_by_simulate_as_by_pacemaker_and_refused_by_import():
    from appliance.model.cib_read import SIMULATED

    document = (b'<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes>'
                b'<node id="1" uname="n1"/></nodes><resources/><constraints/></configuration><status>'
                b'<node_state uname="ghost" in_ccm="true" crmd="online"/>'
                b'<node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>'
                b'</status></cib>')
    with pytest.raises(ModelError, match="node_state needs an id"):
        read_cib(document, "import")
    simulated = read_cib(document, "simulate", SIMULATED)
    assert [state.name for state in simulated.status.nodes] == ["n1"]


def test_an_invalid_influence_is_the_default_to_simulate_as_to_pacemaker_and_refused_by_import():
    from appliance.model.cib_read import SIMULATED

    document = (b'<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes>'
                b'<node id="1" uname="n1"/></nodes><resources>'
                b'<primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>'
                b'<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints>'
                b'<rsc_colocation id="a-with-b" rsc="a" with-rsc="b" score="INFINITY" influence="sometimes"/>'
                b'</constraints></configuration><status/></cib>')
    with pytest.raises(ModelError, match="invalid influence 'sometimes'"):
        read_cib(document, "import")
    assert read_cib(document, "simulate", SIMULATED).configuration.constraint("a-with-b").influence is None


ACLS = """<acls>
      <acl_target id="alice"><role id="read-all"/></acl_target>
      <acl_group id="operators"><role id="read-all"/><role id="web-admin"/></acl_group>
      <acl_role id="read-all" description="see everything">
        <acl_permission id="read-all-cib" kind="read" xpath="/cib"/>
      </acl_role>
      <acl_role id="web-admin">
        <acl_permission id="web-admin-rsc" kind="write" reference="web"/>
        <acl_permission id="web-admin-nodes" kind="deny" object-type="nodes"/>
      </acl_role>
    </acls>"""


def _with_acls(acls: str) -> bytes:
    return (f'<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0"><configuration>'
            f'<crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/>'
            f'</cluster_property_set></crm_config><nodes><node id="1" uname="n1"/></nodes><resources>'
            f'<primitive id="web" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/>'
            f'{acls}</configuration><status/></cib>').encode()


def test_acls_are_kept_through_store_and_export_and_crm_verify_takes_the_export(tmp_path: Path):
    from tests.scheduler.golden import stored

    cib = read_cib(_with_acls(ACLS), "acls.xml")
    kept = stored(cib, tmp_path)
    assert kept.configuration == cib.configuration
    exported = tmp_path / "exported.xml"
    exported.write_text(write_cib(kept))
    again = ET.parse(exported).getroot().find("configuration/acls")
    assert [(e.tag, dict(e.attrib)) for e in again.iter()] == \
        [(e.tag, dict(e.attrib)) for e in ET.fromstring(ACLS).iter()]
    verdict = subprocess.run(["crm_verify", "--xml-file", str(exported)], capture_output=True, text=True,
                             timeout=60)
    assert verdict.returncode == 0, verdict.stderr


@pytest.mark.parametrize(("change", "message"), [
    (('<acl_permission id="read-all-cib" kind="read"', '<acl_permission id="read-all-cib" kind="peek"'),
     "needs a kind"),
    (('<acl_group id="operators">', '<acl_crew id="operators">'), "unexpected element <acl_crew>"),
    (('xpath="/cib"', ''), "needs an xpath, reference or object-type"),
    (('<acl_role id="web-admin">', '<acl_role id="web">'), "duplicate id 'web'"),
])
def test_bad_acls_are_refused_naming_the_problem(change: tuple[str, str], message: str):
    assert change[0] in ACLS
    broken = ACLS.replace(*change)
    if "acl_crew" in broken:
        broken = broken.replace("</acl_group>", "</acl_crew>")
    with pytest.raises(ModelError, match=message):
        read_cib(_with_acls(broken), "acls.xml")
