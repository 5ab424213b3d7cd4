"""pcs's commands that regroup and (un)clone existing resources: `resource group add|delete|remove|list`,
`ungroup`, `clone`, `promotable`, `unclone` — the resulting configuration (as exported CIB XML, which crm_verify
accepts), pcs's messages, and refusals that leave the state file as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from appliance.model.resources import Clone, Group, Primitive
from tests.test_config_cli import Drover, drover  # noqa: F401  (the in-process CLI fixture)

pytestmark = pytest.mark.timeout(120)


def dummies(drover: Drover, *names: str, group: str | None = None) -> None:  # noqa: F811
    for name in names:
        drover.ok("resource", "create", name, "ocf:pacemaker:Dummy", *([f"--group={group}"] if group else []))


def layout(drover: Drover) -> list[str]:  # noqa: F811
    """The resources section as 'id', 'group[members]', 'clone(child)' in configuration order."""
    def shown(resource) -> str:
        if isinstance(resource, Group):
            return f"{resource.id}[{' '.join(m.id for m in resource.members)}]"
        if isinstance(resource, Clone):
            return f"{resource.id}({shown(resource.child)})"
        return resource.id
    return [shown(r) for r in drover.cib().configuration.resources]


def refused(drover: Drover, message: str, *argv: str) -> None:  # noqa: F811
    before = drover.state_bytes()
    result = drover(*argv)
    assert result.code != 0 and f"drover: {message}" in result.err, result
    assert drover.state_bytes() == before


def crm_verify_accepts(drover: Drover, tmp_path: Path) -> None:  # noqa: F811
    exported = tmp_path / "exported.xml"
    exported.write_text(drover.ok("cib", "export"))
    verify = subprocess.run(["crm_verify", "-x", str(exported)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr


def test_group_add_creates_moves_orders_and_drops_an_emptied_group(drover: Drover, tmp_path: Path):  # noqa: F811
    dummies(drover, "a", "b", "c", "d")
    dummies(drover, "x", group="old")
    drover.ok("resource", "group", "add", "g", "a", "b")
    assert layout(drover) == ["c", "d", "old[x]", "g[a b]"]
    drover.ok("resource", "group", "add", "g", "x", "c", "--before", "b")     # x's group is left empty: it goes
    assert layout(drover) == ["d", "g[a x c b]"]
    drover.ok("resource", "group", "add", "g", "a", "--after", "b")           # a move within the group
    drover.ok("resource", "group", "add", "g", "d", "--after", "x")
    assert layout(drover) == ["g[x d c b a]"]
    assert drover.ok("resource", "group", "list") == "g: x d c b a\n"
    crm_verify_accepts(drover, tmp_path)


def test_group_add_refuses_what_pcs_refuses(drover: Drover):  # noqa: F811
    dummies(drover, "a", "b")
    dummies(drover, "m", "n", group="g")
    drover.ok("resource", "create", "c", "ocf:pacemaker:Dummy", "clone")
    refused(drover, "'nope' does not exist", "resource", "group", "add", "g", "nope")
    refused(drover, "'c-clone' is a clone resource, clone resources cannot be put into a group",
            "resource", "group", "add", "g", "c-clone")
    refused(drover, "'c' cannot be put into a group because its parent 'c-clone' is a clone resource",
            "resource", "group", "add", "g", "c")
    refused(drover, "'g' is a group resource, group resources cannot be put into a group",
            "resource", "group", "add", "g2", "g")
    refused(drover, "Resources to add or remove must be unique, duplicate resources: 'a'",
            "resource", "group", "add", "g", "a", "a")
    refused(drover, "Cannot add resource 'm', it is already present in group 'g'",
            "resource", "group", "add", "g", "m", "a")
    refused(drover, "There is no resource 'b' in the group 'g', cannot add resources next to it",
            "resource", "group", "add", "g", "a", "--after", "b")
    refused(drover, "Cannot put resource 'm' next to itself", "resource", "group", "add", "g", "m", "--before", "m")
    refused(drover, "'a' is not a group", "resource", "group", "add", "a", "b")
    refused(drover, "you cannot specify both --before and --after",
            "resource", "group", "add", "g", "a", "--before", "m", "--after", "n")
    refused(drover, "invalid group name '1g'", "resource", "group", "add", "1g", "a")
    dummies(drover, "h1", group="h")
    drover.ok("constraint", "location", "h", "prefers", "node1")
    refused(drover, "Unable to move resource 'h1' as it would leave group 'h' empty.",
            "resource", "group", "add", "g", "h1")


def test_ungroup_takes_members_out_and_an_emptied_group_goes_with_its_constraints(drover: Drover, tmp_path: Path):  # noqa: F811
    dummies(drover, "a", "b", "c", group="g")
    dummies(drover, "z")
    drover.ok("constraint", "location", "g", "prefers", "node1")
    drover.ok("resource", "group", "remove", "g", "c", "a")
    assert layout(drover) == ["g[b]", "z", "c", "a"]
    refused(drover, "Resource 'a' does not exist in group 'g'", "resource", "ungroup", "g", "a")
    refused(drover, "Group 'nope' does not exist", "resource", "ungroup", "nope")
    result = drover("resource", "ungroup", "g")
    assert result.code == 0 and result.err == "Removing Constraint - location-g-node1-INFINITY\n"
    assert layout(drover) == ["z", "c", "a", "b"]
    assert drover.cib().configuration.constraints == ()
    dummies(drover, "y", group="g2")
    drover.ok("resource", "group", "delete", "g2")
    assert layout(drover)[-1] == "y"
    crm_verify_accepts(drover, tmp_path)


def test_a_cloned_group_keeps_its_clone(drover: Drover):  # noqa: F811
    dummies(drover, "a", "b", group="g")
    drover.ok("resource", "clone", "g")
    refused(drover, "Cannot remove all resources from a cloned group", "resource", "ungroup", "g")
    drover.ok("resource", "ungroup", "g", "a")
    assert layout(drover) == ["g-clone(g[b])", "a"]
    drover.ok("resource", "ungroup", "g")                     # its last member takes the group's place
    assert layout(drover) == ["g-clone(b)", "a"]


def test_clone_and_promotable_wrap_and_rename_constraints(drover: Drover, tmp_path: Path):  # noqa: F811
    dummies(drover, "a", "b")
    drover.ok("resource", "create", "s", "ocf:pacemaker:Stateful")
    dummies(drover, "m", group="g")
    drover.ok("constraint", "colocation", "add", "b", "with", "a")
    drover.ok("constraint", "order", "a", "then", "b")
    drover.ok("constraint", "location", "a", "prefers", "node1")
    drover.ok("resource", "clone", "a", "clone-max=2", "meta", "interleave=true")
    assert layout(drover) == ["b", "s", "g[m]", "a-clone(a)"]
    configuration = drover.cib().configuration
    clone = configuration.resource("a-clone")
    assert clone.meta.as_dict() == {"clone-max": "2", "interleave": "true"}
    named = {(type(c).__name__, c.id): c for c in configuration.constraints}
    assert named["Colocation", "colocation-b-a-INFINITY"].with_rsc == "a-clone"
    assert named["Order", "order-a-b-mandatory"].first == "a-clone"
    assert named["Location", "location-a-node1-INFINITY"].rsc == "a-clone"
    drover.ok("resource", "promotable", "s", "s-master", "promoted-max=1")
    assert configuration_of(drover, "s-master").meta.as_dict() == {"promoted-max": "1", "promotable": "true"}
    drover.ok("resource", "clone", "m")                       # the last member of a group: the group goes
    assert layout(drover) == ["b", "a-clone(a)", "s-master(s)", "m-clone(m)"]
    crm_verify_accepts(drover, tmp_path)
    refused(drover, "a is already a clone resource", "resource", "clone", "a")
    refused(drover, "unable to find group or resource: a-clone", "resource", "clone", "a-clone")
    refused(drover, "id 'a-clone' already exists", "resource", "clone", "b", "a-clone")
    refused(drover, "op settings must be changed on base resource, not the clone",
            "resource", "clone", "b", "op", "monitor", "interval=10s")
    refused(drover, "you cannot specify both promotable option and promotable keyword",
            "resource", "promotable", "b", "promotable=true")
    refused(drover, "invalid meta attribute clone-max 'lots'", "resource", "clone", "b", "clone-max=lots")
    drover.ok("resource", "create", "sd", "systemd:cron", "--force")
    refused(drover, "Clone option 'promotable' is not compatible with 'systemd:cron' resource agent of resource 'sd'",
            "resource", "promotable", "sd")


def configuration_of(drover: Drover, rid: str):  # noqa: F811
    return drover.cib().configuration.resource(rid)


def test_unclone_by_either_name_and_a_member_of_a_cloned_group(drover: Drover, tmp_path: Path):  # noqa: F811
    dummies(drover, "a", "z")
    drover.ok("resource", "clone", "a")
    drover.ok("constraint", "location", "a-clone", "prefers", "node1")
    result = drover("resource", "unclone", "a-clone")
    assert result.code == 0 and result.err == "Removing Constraint - location-a-clone-node1-INFINITY\n"
    assert layout(drover) == ["z", "a"] and isinstance(configuration_of(drover, "a"), Primitive)
    refused(drover, "Clone option 'promotable' is not compatible with 'ocf:pacemaker:Dummy' resource agent of "
            "resource 'a', use --force to override", "resource", "promotable", "a")
    drover.ok("resource", "promotable", "a", "--force")         # an OCF 1.1 agent without promote/demote
    drover.ok("resource", "unclone", "a")
    assert layout(drover) == ["z", "a"]
    dummies(drover, "m", "n", group="g")
    drover.ok("resource", "clone", "g")
    drover.ok("resource", "unclone", "m")                     # leaves the cloned group, which stays cloned
    assert layout(drover) == ["z", "a", "g-clone(g[n])", "m"]
    drover.ok("resource", "unclone", "g")
    assert layout(drover) == ["z", "a", "m", "g[n]"]
    refused(drover, "'z' is not a clone resource", "resource", "unclone", "z")
    refused(drover, "could not find resource: nope", "resource", "unclone", "nope")
    crm_verify_accepts(drover, tmp_path)


def test_create_still_takes_clone_and_promotable_as_words(drover: Drover):  # noqa: F811
    drover.ok("resource", "create", "c", "ocf:pacemaker:Stateful", "promotable", "promoted-max=1")
    assert isinstance(configuration_of(drover, "c-clone"), Clone)
