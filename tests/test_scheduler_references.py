"""Resource templates and tags against real Pacemaker, kept through import, storage and export, and edited with
pcs's `tag` commands. The cases in tests/scheduler/references/ come from tests/scheduler/reference_cases.py with
crm_simulate's results."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from appliance.model import edits
from appliance.model.cib_read import read_cib, read_fragment
from appliance.model.cib_write import write_cib
from appliance.model.status import NodeState
from appliance.model.values import ModelError
from appliance.scheduler.schedule import schedule
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.golden import committed
from tests.scheduler.golden import stored as stored_cib
from tests.scheduler.reference_cases import OUT, cases
from tests.test_config_cli import Drover, drover  # noqa: F401  (the fixture)

CASES = committed(OUT)


def _case(name: str) -> str:
    return (OUT / name / "cib.xml").read_text()


def test_every_case_of_the_generator_is_committed():
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_templates_and_tags_are_scheduled_as_pacemaker_schedules_them(case: Path) -> None:
    assert_placement_is_pacemakers(case)


@pytest.mark.parametrize("name", ["own-meta-wins-over-the-template", "templates-in-a-group-and-a-clone",
                                  "order-of-a-tag-then-a-template", "a-tag-in-a-resource-set"])
def test_an_import_keeps_templates_and_tags_and_exports_them_as_written(name: str, tmp_path: Path) -> None:
    original = read_cib(_case(name).encode(), name)
    assert original.configuration.templates or original.configuration.tags
    stored = stored_cib(original, tmp_path)
    assert stored.configuration == original.configuration
    text = write_cib(stored)
    exported = read_cib(text.encode(), "exported")
    assert exported.configuration == original.configuration
    assert schedule(exported) == schedule(original)
    for primitive in ("web1", "web2"):
        if f'id="{primitive}"' in _case(name):       # written as the user wrote it: the template named, no agent
            assert f'<primitive id="{primitive}" template="web-t"' in text
    checked = tmp_path / "exported.xml"
    checked.write_text(text)
    verify = subprocess.run(["crm_verify", "--xml-file", str(checked)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr


def test_a_primitive_made_from_a_template_has_its_agent_and_operations_and_its_own_attributes_on_top() -> None:
    configuration = read_cib(_case("own-meta-wins-over-the-template").encode(), "case").configuration
    web1, web2 = configuration.resource("web1"), configuration.resource("web2")
    assert str(web1.agent) == str(web2.agent) == "ocf:heartbeat:Dummy"
    assert web1.meta.get("target-role") == "Started" and web2.meta.get("target-role") == "Stopped"
    assert [(op.id, op.interval_ms) for op in web1.ops] == [("web-t-mon", 30_000)]
    own_monitor = _case("own-meta-wins-over-the-template").replace(
        '<primitive id="web2" template="web-t"></primitive>',
        '<primitive id="web2" template="web-t"><operations><op id="web2-mon" name="monitor" interval="10s"/>'
        '<op id="web2-stop" name="stop" interval="0" timeout="5s"/></operations></primitive>')
    web2 = read_cib(own_monitor.encode(), "case").configuration.resource("web2")
    assert [(op.id, op.interval_ms) for op in web2.ops] == [("web2-mon", 10_000), ("web2-stop", 0)]


@pytest.mark.parametrize(("change", "message"), [
    (('template="web-t"></primitive>', 'template="nope"></primitive>'), "no template named 'nope'"),
    (('<primitive id="web2" template="web-t">', '<primitive id="web2" template="web-t" class="ocf">'),
     "takes its class, provider and type from it"),
    (('<primitive id="web2" template="web-t">', '<primitive id="web-t2" template="web-t2">'),
     "cannot be made from itself"),
])
def test_a_bad_template_reference_is_refused_naming_the_primitive(change: tuple[str, str], message: str) -> None:
    broken = _case("own-meta-wins-over-the-template").replace(*change)
    assert broken != _case("own-meta-wins-over-the-template")
    with pytest.raises(ModelError, match=message):
        read_cib(broken.encode(), "broken.xml")


@pytest.mark.parametrize(("change", "message"), [
    (('<obj_ref id="db2"/>', '<obj_ref id="db9"/>'), "tag 'dbs' references 'db9', which is not a resource"),
    (('<obj_ref id="db2"/>', '<obj_ref id="db1"/>'), "tag 'dbs' lists a resource twice"),
    (('<tag id="dbs">', '<tag id="db3">'), "duplicate id 'db3'"),
    (('rsc="db3" node="node1"', 'rsc="dbs9" node="node1"'), "references resource 'dbs9', which does not exist"),
])
def test_a_bad_tag_is_refused_naming_it(change: tuple[str, str], message: str) -> None:
    broken = _case("location-on-a-tag").replace(*change)
    assert broken != _case("location-on-a-tag")
    with pytest.raises(ModelError, match=message):
        read_cib(broken.encode(), "broken.xml")


def test_colocating_two_tags_is_refused_as_crm_verify_refuses_it(tmp_path: Path) -> None:
    text = _case("colocation-of-a-tag-with-a-resource").replace(
        "</tags>", '<tag id="others"><obj_ref id="db3"/></tag></tags>').replace(
        'with-rsc="anchor"', 'with-rsc="others"')
    broken = tmp_path / "broken.xml"
    broken.write_text(text)
    verify = subprocess.run(["crm_verify", "-V", "--xml-file", str(broken)], capture_output=True, text=True,
                            timeout=60)
    assert verify.returncode != 0 and "two templates or tags cannot be colocated" in verify.stderr
    with pytest.raises(ModelError, match="colocates two templates or tags"):
        read_cib(text.encode(), "broken.xml")


def test_editing_a_primitive_made_from_a_template_keeps_only_what_differs_from_the_template() -> None:
    configuration = read_cib(_case("own-meta-wins-over-the-template").encode(), "case").configuration
    web2 = configuration.resource("web2")
    edited = edits.replace_resource(configuration, dataclasses.replace(
        web2, meta=web2.meta.set("resource-stickiness", "10"), params=web2.params.set("state", "/run/web2")))
    web2 = edited.resource("web2")
    assert web2.template.meta.items == (("resource-stickiness", "10"),)
    assert web2.template.params.items == (("state", "/run/web2"),)
    assert web2.meta.get("target-role") == "Stopped"             # still the template's
    again = read_cib(write_cib(dataclasses.replace(read_cib(_case("own-meta-wins-over-the-template").encode(),
                                                            "case"), configuration=edited)).encode(), "exported")
    assert again.configuration.resource("web2") == web2


def test_deleting_a_resource_takes_it_out_of_its_tags_and_an_emptied_tag_goes_with_its_constraints() -> None:
    configuration = read_cib(_case("location-on-a-tag").encode(), "case").configuration
    configuration, removed = edits.delete_resource(configuration, "db1")
    assert configuration.tag("dbs").refs == ("db2",) and removed == ()
    configuration, removed = edits.delete_resource(configuration, "db2")
    assert configuration.tag("dbs") is None and removed == ("dbs-node2",)


def test_pcs_tag_commands_create_show_update_and_remove_tags(drover: Drover) -> None:  # noqa: F811
    for rid in ("a", "b", "c"):
        drover.ok("resource", "create", rid, "ocf:pacemaker:Dummy")
    assert drover("tag").err == " No tags defined\n"
    drover.ok("tag", "create", "t1", "a", "b")
    drover.ok("tag", "update", "t1", "add", "c", "--before", "b")
    assert drover.ok("tag", "config").splitlines() == ["t1", "  a", "  c", "  b"]
    drover.ok("tag", "update", "t1", "add", "b", "--after", "a", "remove", "c")
    assert drover.ok("tag", "config", "t1").splitlines() == ["t1", "  a", "  b"]
    drover.ok("constraint", "location", "t1", "prefers", "node1=50")
    drover.ok("constraint", "colocation", "add", "c", "with", "t1")
    cib = drover.cib()
    assert cib.configuration.tag("t1").refs == ("a", "b")
    assert {c.id for c in cib.configuration.constraints} == {"location-t1-node1-50", "colocation-c-t1-INFINITY"}
    refused = [
        (("tag", "create", "t1", "c"), "drover: 't1' already exists\n"),
        (("tag", "create", "t2", "a", "a"), "drover: Ids to add must be unique, duplicate ids: 'a'\n"),
        (("tag", "create", "t2", "x"), "drover: bundle/clone/group/primitive 'x' does not exist\n"),
        (("tag", "create", "t2", "t2"), "drover: Tag cannot contain itself\n"),
        (("tag", "create", "2t", "a"), "drover: invalid tag id '2t'"),
        (("tag", "update", "t1", "add", "a"), "drover: Cannot add reference id already in the tag 't1': 'a'\n"),
        (("tag", "update", "t1", "remove", "a", "b"), "drover: There would be no references left in the tag 't1'\n"),
        (("tag", "update", "t1", "remove", "c"), "drover: Tag 't1' does not contain id: 'c'\n"),
        (("tag", "update", "t1", "add", "c", "--before", "x"),
         "drover: There is no reference id 'x' in the tag 't1', cannot put reference ids next to it in the tag\n"),
        (("tag", "update", "t1"), "drover: Specify at least one id for 'add' or 'remove' arguments.\n"),
        (("tag", "update", "t9", "add", "c"), "drover: tag 't9' does not exist\n"),
        (("tag", "remove", "t1"), "drover: Tag 't1' cannot be removed because it is referenced in constraints "
                                  "'colocation-c-t1-INFINITY', 'location-t1-node1-50'\n"),
    ]
    before = drover.state_bytes()
    for argv, message in refused:
        result = drover(*argv)
        assert result.code != 0 and result.err.startswith(message), (argv, result.err)
        assert drover.state_bytes() == before, argv
    drover.ok("constraint", "delete", "location-t1-node1-50")
    drover.ok("constraint", "delete", "colocation-c-t1-INFINITY")
    drover.ok("tag", "remove", "t1")
    assert drover.cib().configuration.tags == ()


def test_a_constraint_on_a_tag_places_every_tagged_resource(drover: Drover) -> None:  # noqa: F811
    for rid in ("a", "b", "c"):
        drover.ok("resource", "create", rid, "ocf:pacemaker:Dummy")
    drover.ok("tag", "create", "ab", "a", "b")
    drover.ok("property", "set", "stonith-enabled=false")
    drover.ok("constraint", "location", "ab", "avoids", "node1")
    cib = drover.cib()
    online = NodeState("node1", "1", "true", "online", "member", "member")
    placed = schedule(dataclasses.replace(cib, status=dataclasses.replace(cib.status, nodes=(online,)))).resources
    assert placed["a"] == placed["b"] == [] and placed["c"] == [("node1", "Started")]


def test_a_template_part_is_imported_and_a_later_part_uses_it(drover: Drover, tmp_path: Path) -> None:  # noqa: F811
    template = tmp_path / "template.xml"
    template.write_text('<template id="dummy-t" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes '
                        'id="dummy-t-meta"><nvpair id="dummy-t-meta-s" name="resource-stickiness" value="7"/>'
                        "</meta_attributes></template>")
    assert drover.ok("cib", "import", str(template)).strip().endswith("1 templates, 0 resources, 0 constraints")
    part = tmp_path / "part.xml"
    part.write_text('<resources><primitive id="d1" template="dummy-t"/></resources>')
    drover.ok("cib", "import", str(part))
    d1 = drover.cib().configuration.resource("d1")
    assert str(d1.agent) == "ocf:pacemaker:Dummy" and d1.meta.get("resource-stickiness") == "7"
    with pytest.raises(ModelError, match="no template named 'dummy-t'"):
        read_fragment(part.read_bytes(), "part.xml")       # alone, without what is stored
