"""The pcs-style configuration CLI, run in-process against a real SQLite file and the real OCF agents:
the walk-through, every command's effect as Pacemaker would read it, and bad input that changes nothing."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.model.cib_read import read_cib
from appliance.model.cluster import Cib
from appliance.model.constraints import Colocation, Location, Order
from appliance.model.resources import Clone, Group, Primitive
from appliance.model.values import INFINITY
from tests.conftest import TOP, clean_environment

CORPUS = TOP / "tests" / "scheduler" / "corpus"


@dataclass
class Result:
    code: int
    out: str
    err: str


class Drover:
    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]):
        self.root = root
        self.capsys = capsys
        self.db = root / "var" / "lib" / "drover" / "state.db"

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *argv: str) -> str:
        result = self(*argv)
        assert result.code == 0, result.err
        return result.out

    def cib(self) -> Cib:
        return read_cib(self.ok("cib", "export").encode(), "export")

    def state_bytes(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.db.parent.glob("state.db*") if not p.name.endswith("-shm")}


@pytest.fixture
def drover(root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Drover:
    for name in set(os.environ) - set(clean_environment()):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DROVER_ROOT", str(root))
    dropins = root / "etc" / "drover" / "drover.conf.d"
    dropins.mkdir(parents=True)
    (dropins / "10-test.conf").write_text("[cluster]\nnode_name = node1\n")
    monkeypatch.chdir(root)                       # where the user types the commands (relative paths)
    return Drover(root, capsys)


def walk_through(drover: Drover) -> None:
    Path("vm-guest1.xml").write_text("<domain type='kvm'><name>vm-guest1</name></domain>")
    drover.ok("resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=qemu:///system",
              "config=vm-guest1.xml", "meta", "remote-node=guest1")
    drover.ok("resource", "create", "webserver", "apache", "params", "configfile=/etc/httpd/conf/httpd.conf",
              "statusurl=http://127.0.0.1/server-status", "op", "monitor", "interval=30s")
    drover.ok("constraint", "location", "webserver", "prefers", "guest1")


def test_a_domain_file_that_does_not_exist_is_refused_and_a_monitor_without_interval_runs_every_60s(
        drover: Drover) -> None:
    refused = drover("resource", "create", "vm", "VirtualDomain", "config=missing.xml")
    assert refused.code == 1
    assert refused.err == (f"drover: vm: config {drover.root / 'missing.xml'} does not exist: give the domain XML's "
                           "path (a relative one is taken from the current directory), or --force\n")
    drover.ok("resource", "create", "vm", "VirtualDomain", "config=missing.xml", "--force")
    drover.ok("resource", "create", "web", "ocf:heartbeat:Dummy", "op", "monitor", "timeout=20s")
    web = drover.cib().configuration.resource("web")
    assert [(op.name, op.interval_ms, op.timeout) for op in web.ops if op.name == "monitor"] == [
        ("monitor", 60_000, "20s")]                                      # as pcs: not interval 0 (never)


def test_the_walk_through_configures_what_pcs_would(drover: Drover, tmp_path: Path) -> None:
    walk_through(drover)
    cib = drover.cib()
    configuration = cib.configuration
    assert [n.name for n in configuration.nodes] == ["node1"]
    assert configuration.cluster_options.get("stonith-enabled") == "false"
    vm, web = configuration.resources
    assert isinstance(vm, Primitive) and str(vm.agent) == "ocf:heartbeat:VirtualDomain"
    assert vm.guest_node == "guest1"
    # every action VirtualDomain advertises, with its recommended timeout (a live migration gets 120s, not 20s)
    assert sorted((op.name, op.interval_ms, op.timeout) for op in vm.ops) == [
        ("migrate_from", 0, "60s"), ("migrate_to", 0, "120s"), ("monitor", 10_000, "30s"),
        ("start", 0, "90s"), ("stop", 0, "90s")]
    assert vm.params.get("config") == str(drover.root / "vm-guest1.xml")  # the daemon runs in /, not here
    assert isinstance(web, Primitive) and str(web.agent) == "ocf:heartbeat:apache"
    assert [(op.id, op.interval_ms, op.timeout) for op in web.ops] == [
        ("webserver-monitor-interval-30s", 30_000, None),
        ("webserver-start-interval-0s", 0, "40s"),        # apache's metadata timeouts, as pcs adds them
        ("webserver-stop-interval-0s", 0, "60s")]
    (location,) = configuration.constraints
    assert location == Location("location-webserver-guest1-INFINITY", rsc="webserver", node="guest1",
                                score=INFINITY)
    assert [i.name for i in configuration.node_infos()] == ["node1", "guest1"]
    exported = tmp_path / "cib.xml"
    exported.write_text(drover.ok("cib", "export"))
    verify = subprocess.run(["crm_verify", "-x", str(exported)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    simulate = subprocess.run(["crm_simulate", "-x", str(exported)], capture_output=True, text=True)
    assert "webserver\t(ocf:heartbeat:apache):\t Stopped" in simulate.stdout


def test_resource_commands(drover: Drover) -> None:
    walk_through(drover)
    drover.ok("resource", "create", "db", "ocf:pacemaker:Stateful", "promotable", "promoted-max=1")
    drover.ok("resource", "create", "ip", "ocf:heartbeat:IPaddr2", "ip=192.0.2.10", "--group", "front")
    drover.ok("resource", "create", "fs", "ocf:heartbeat:Dummy", "--group", "front", "--disabled")
    configuration = drover.cib().configuration
    clone = configuration.resource("db-clone")
    assert isinstance(clone, Clone) and clone.promotable and clone.meta.get("promoted-max") == "1"
    assert {(op.name, op.role) for op in clone.child.ops} >= {("monitor", "Promoted"), ("monitor", "Unpromoted"),
                                                              ("promote", None), ("demote", None)}
    group = configuration.resource("front")
    assert isinstance(group, Group) and [m.id for m in group.members] == ["ip", "fs"]
    # as pcs 0.11: all of Dummy's actions but meta-data and validate-all, by name
    assert [op.name for op in group.members[1].ops] == ["migrate_from", "migrate_to", "monitor", "reload", "start",
                                                       "stop"]
    assert group.members[1].meta.get("target-role") == "Stopped"

    drover.ok("resource", "disable", "webserver", "db-clone")
    assert drover.cib().configuration.resource("webserver").meta.get("target-role") == "Stopped"
    assert "Stopped (disabled)" in drover.ok("resource", "list")
    drover.ok("resource", "enable", "webserver")
    assert "target-role" not in drover.cib().configuration.resource("webserver").meta

    drover.ok("resource", "move", "webserver", "node1")
    drover.ok("resource", "ban", "webserver", "guest1")
    ids = {c.id: c for c in drover.cib().configuration.constraints}
    assert ids["cli-prefer-webserver"].score == INFINITY and ids["cli-prefer-webserver"].node == "node1"
    assert ids["cli-ban-webserver-on-guest1"].score == -INFINITY
    out = drover.ok("resource", "clear", "webserver")
    assert "cli-prefer-webserver" in out and "cli-ban-webserver-on-guest1" in out
    assert {c.id for c in drover.cib().configuration.constraints} == {"location-webserver-guest1-INFINITY"}

    drover.ok("resource", "meta", "webserver", "resource-stickiness=100", "migration-threshold=3")
    assert drover.cib().configuration.resource("webserver").meta.as_dict() == {
        "resource-stickiness": "100", "migration-threshold": "3"}
    drover.ok("resource", "defaults", "update", "resource-stickiness=INFINITY")
    assert drover.ok("resource", "defaults") == "resource-stickiness=INFINITY\n"

    shown = drover.ok("resource", "show", "webserver")
    assert "Resource: webserver (class=ocf provider=heartbeat type=apache)" in shown
    assert "monitor interval=30s (webserver-monitor-interval-30s)" in shown
    assert drover.ok("resource", "show", "webserver", "--output-as=xml").startswith('<primitive id="webserver"')

    out = drover.ok("resource", "delete", "webserver")
    assert out == "Removing Constraint - location-webserver-guest1-INFINITY\nDeleting Resource - webserver\n"
    drover.ok("resource", "delete", "ip")
    drover.ok("resource", "delete", "fs")
    assert drover.cib().configuration.resource("front") is None      # the emptied group went with its last member


def test_constraint_commands(drover: Drover) -> None:
    walk_through(drover)
    drover.ok("resource", "create", "db", "ocf:pacemaker:Stateful", "promotable")
    drover.ok("constraint", "webserver", "avoids", "node1=200")
    drover.ok("constraint", "colocation", "add", "webserver", "with", "Promoted", "db-clone", "-INFINITY")
    drover.ok("constraint", "colocation", "add", "vm-guest1", "with", "db-clone")
    drover.ok("constraint", "order", "promote", "db-clone", "then", "webserver", "kind=Optional")
    drover.ok("constraint", "order", "vm-guest1", "then", "webserver")
    drover.ok("constraint", "location", "db-clone", "rule", "score=-INFINITY", "#kind", "ne", "cluster", "or",
              "ram", "lt", "integer", "1024")
    constraints = {c.id: c for c in drover.cib().configuration.constraints}
    assert constraints["location-webserver-node1--200"].score == -200
    colocation = constraints["colocation-webserver-db-clone--INFINITY"]
    assert isinstance(colocation, Colocation) and colocation.with_rsc_role == "Promoted"
    assert constraints["colocation-vm-guest1-db-clone-INFINITY"].score == INFINITY
    promote = constraints["order-db-clone-webserver-optional"]
    assert isinstance(promote, Order) and (promote.first_action, promote.then_action, promote.kind) == (
        "promote", "start", "Optional")
    plain = constraints["order-vm-guest1-webserver-mandatory"]
    assert (plain.first_action, plain.then_action) == (None, None)
    rule = constraints["location-db-clone"].rules[0]
    assert rule.score == -INFINITY and rule.boolean_op == "or"
    assert [(e.attribute, e.operation, e.value, e.type) for e in rule.items] == [
        ("#kind", "ne", "cluster", None), ("ram", "lt", "1024", "integer")]
    listing = drover.ok("constraint")
    assert "webserver with Promoted db-clone (score: -INFINITY)" in listing
    drover.ok("constraint", "delete", "location-db-clone")
    assert "location-db-clone" not in {c.id for c in drover.cib().configuration.constraints}


def test_node_and_attribute_commands(drover: Drover) -> None:
    walk_through(drover)
    drover.ok("node", "standby", "guest1")
    guest = drover.cib().configuration.node("guest1")
    assert guest is not None and guest.type == "remote" and guest.attributes.get("standby") == "on"
    assert drover.ok("attribute", "--node", "guest1", "--name", "standby") == "scope=nodes  name=standby value=on\n"
    drover.ok("node", "unstandby", "guest1")
    drover.ok("node", "maintenance")       # this host
    assert drover.cib().configuration.node("node1").attributes.get("maintenance") == "on"

    drover.ok("attribute", "-N", "guest1", "-n", "master-db", "-v", "10", "-l", "reboot")
    assert drover.ok("attribute", "-N", "guest1", "-n", "master-db", "-l", "reboot", "-q") == "10\n"
    assert drover.cib().status.transient("guest1").get("master-db") == "10"
    drover.ok("attribute", "-N", "guest1", "-n", "master-db", "-D", "-l", "reboot")
    missing = drover("attribute", "-N", "guest1", "-n", "master-db", "-l", "reboot")
    assert missing.code == 105 and "not set" in missing.err
    nodes = drover.ok("node", "list")
    assert "guest1: guest node (via vm-guest1)" in nodes and "node1: cluster node maintenance" in nodes


def test_cib_import_of_a_whole_cib_and_of_fragments(drover: Drover, tmp_path: Path) -> None:
    case = CORPUS / "t3-0001"
    out = drover.ok("cib", "import", str(case / "cib.xml"), "--include-status")
    assert out.startswith(f"Replaced the configuration from {case / 'cib.xml'}")
    original = read_cib((case / "cib.xml").read_bytes(), "original")
    assert drover.cib().configuration == original.configuration
    assert drover.cib().status == original.status

    fragment = tmp_path / "vm.xml"
    fragment.write_text('<primitive id="extra" class="ocf" provider="pacemaker" type="Dummy"/>')
    assert drover.ok("cib", "import", str(fragment)).startswith("Added from")
    assert drover.cib().configuration.resource("extra") is not None


@pytest.mark.parametrize(("argv", "message"), [
    (("resource", "create", "x", "ocf:heartbeat:NoSuchAgent"), "Agent 'ocf:heartbeat:NoSuchAgent' is not installed"),
    (("resource", "create", "x", "Dummy"), "Multiple agents match 'Dummy'"),
    (("resource", "create", "x", "NoSuchAgent"), "Unable to find agent 'NoSuchAgent'"),
    (("resource", "create", "webserver", "ocf:pacemaker:Dummy"), "'webserver' already exists"),
    (("resource", "create", "x", "ocf:pacemaker:Dummy", "colour=red"), "invalid resource option 'colour'"),
    (("resource", "create", "x", "VirtualDomain"), "required resource option 'config' missing"),
    (("resource", "create", "x", "ocf:pacemaker:Dummy", "op", "monitor", "interval=often"), "invalid interval"),
    (("resource", "create", "x", "ocf:pacemaker:Dummy", "meta", "target-role=Sideways"), "invalid meta attribute"),
    (("resource", "create", "9x", "ocf:pacemaker:Dummy"), "invalid resource name '9x'"),
    (("resource", "create", "x", "ocf:pacemaker:Dummy", "meta", "remote-node=node1"), "already a cluster node"),
    (("constraint", "location", "webserver", "prefers", "guest1=lots"), "invalid score for node guest1 'lots'"),
    (("constraint", "location", "ghost", "prefers", "guest1"), "resource 'ghost' does not exist"),
    (("constraint", "location", "webserver", "prefers", "node9"), "Node 'node9' does not seem to be in the cluster"),
    (("constraint", "location", "webserver", "prefers", "guest1"), "duplicate constraint already exists"),
    (("constraint", "colocation", "add", "webserver", "with", "ghost"), "resource 'ghost' does not exist"),
    (("constraint", "order", "webserver", "then", "ghost"), "resource 'ghost' does not exist"),
    (("constraint", "order", "bounce", "webserver", "then", "vm-guest1"), "invalid first action 'bounce'"),
    (("constraint", "delete", "no-such-constraint"), "constraint 'no-such-constraint' does not exist"),
    (("resource", "delete", "ghost"), "resource 'ghost' does not exist"),
    (("resource", "move", "webserver"), "is not running"),
    (("node", "standby", "node9"), "node 'node9' does not exist"),
    (("attribute", "-N", "node9", "-n", "x", "-v", "1"), "node 'node9' does not exist"),
    (("property", "set", "stonith-enabled=perhaps"), "invalid value of stonith-enabled 'perhaps'"),
    (("property", "set", "colour=red"), "unknown cluster property 'colour'"),
    (("resource", "list", "--output-as=yaml"), "invalid --output-as 'yaml'"),
    (("resource", "frobnicate"), "invalid arguments"),
    (("resource", "update", "ghost", "a=1"), "resource 'ghost' does not exist"),
    (("resource", "update", "webserver", "colour=red"), "invalid resource option 'colour'"),
    (("resource", "update", "vm-guest1", "config="), "required resource option 'config' missing"),
    (("resource", "update", "webserver", "op", "monitor", "interval=often"), "invalid interval"),
    (("resource", "update", "webserver", "promotable"), "cannot be changed by update"),
])
def test_bad_input_is_a_clear_error_and_the_database_is_byte_for_byte_unchanged(
        drover: Drover, argv: tuple[str, ...], message: str) -> None:
    walk_through(drover)
    before = drover.state_bytes()
    result = drover(*argv)
    assert result.code != 0
    assert message in result.err
    assert result.err.startswith("drover: ") and "Traceback" not in result.err
    assert drover.state_bytes() == before


def test_update_changes_parameters_operations_and_meta_like_pcs(drover: Drover) -> None:
    walk_through(drover)
    epoch = drover.cib().epoch
    drover.ok("resource", "update", "vm-guest1", "force_stop=true", "op", "monitor", "interval=5s", "meta",
              "remote-port=3122")
    vm = drover.cib().configuration.resource("vm-guest1")
    assert vm.params.get("force_stop") == "true" and vm.meta.get("remote-port") == "3122"
    assert [op.interval_ms for op in vm.ops if op.name == "monitor"] == [5000]
    assert drover.cib().epoch == epoch + 1
    drover.ok("resource", "update", "vm-guest1", "force_stop=", "meta", "remote-port=")
    vm = drover.cib().configuration.resource("vm-guest1")
    assert "force_stop" not in vm.params and "remote-port" not in vm.meta


@pytest.mark.parametrize(("content", "message"), [
    ("<cib><configuration><resources><primitive id='a'", "not well-formed XML"),
    ("<resources>\n<primitive id='webserver' class='ocf' provider='pacemaker' type='Dummy'/>\n</resources>",
     "'webserver' already exists"),
    ("<constraints><rsc_location id='l' rsc='ghost' node='node1' score='1'/></constraints>",
     "resource 'ghost' does not exist"),
    ("<cib><configuration><resources><bundle id='b'/></resources></configuration></cib>",
     "a bundle names exactly one container runtime"),
    ("<rsc_colocation id='c' rsc='webserver' with-rsc='vm-guest1' score='high'/>", "invalid score 'high'"),
])
def test_bad_imports_change_nothing(drover: Drover, tmp_path: Path, content: str, message: str) -> None:
    walk_through(drover)
    before = drover.state_bytes()
    path = tmp_path / "in.xml"
    path.write_text(content)
    result = drover("cib", "import", str(path))
    assert result.code != 0 and message in result.err
    assert drover.state_bytes() == before


def test_cleanup_forgets_fail_counts_and_failed_history_only(drover: Drover) -> None:
    case = CORPUS / "t3-0002"
    drover.ok("cib", "import", str(case / "cib.xml"), "--include-status")
    before = drover.cib().status
    (failed,) = {f.resource for f in before.fail_counts}
    (failed_on,) = {f.node for f in before.fail_counts}
    out = drover.ok("resource", "cleanup", failed)
    assert out == f"Cleaned up {failed} on {failed_on}\n"
    after = drover.cib().status
    assert not after.fail_counts
    # only where it failed, as Pacemaker's clear_rsc_failures: elsewhere what is known stays known
    assert {(h.resource, h.node) for h in after.history} == \
        {(h.resource, h.node) for h in before.history} - {(failed, failed_on)}
    assert drover.ok("resource", "cleanup") == "Nothing to clean up\n"


def test_refresh_forgets_the_history_of_healthy_resources_too(drover: Drover) -> None:
    case = CORPUS / "t3-0002"
    drover.ok("cib", "import", str(case / "cib.xml"), "--include-status")
    before = drover.cib().status
    (failed,) = {f.resource for f in before.fail_counts}
    healthy = sorted({h.resource for h in before.history} - {failed})
    one = healthy[0]
    nodes = sorted({h.node for h in before.history if h.resource == one})
    out = drover.ok("resource", "refresh", one, f"--node={nodes[0]}")
    assert out == f"Cleaned up {one} on {nodes[0]}\n"
    after = drover.cib().status
    assert {h.node for h in after.history if h.resource == one} == set(nodes[1:])
    assert after.fail_counts == before.fail_counts
    drover.ok("resource", "refresh")
    assert not drover.cib().status.history and not drover.cib().status.fail_counts


def test_constraint_ref_lists_what_names_a_resource_and_remove_is_delete(drover: Drover) -> None:
    walk_through(drover)
    drover.ok("constraint", "order", "vm-guest1", "then", "webserver")
    assert drover.ok("constraint", "ref", "webserver", "vm-guest1") == (
        "Resource: webserver\n  location-webserver-guest1-INFINITY\n  order-vm-guest1-webserver-mandatory\n"
        "Resource: vm-guest1\n  order-vm-guest1-webserver-mandatory\n")
    drover.ok("constraint", "remove", "order-vm-guest1-webserver-mandatory")
    assert drover.ok("constraint", "ref", "vm-guest1") == "Resource: vm-guest1\n  No matches found\n"
    missing = drover("constraint", "ref", "nothing")
    assert missing.code == 1 and "resource 'nothing' does not exist" in missing.err


def test_cluster_node_add_guest_makes_a_vm_a_guest_node_as_pcs_does(drover: Drover) -> None:
    Path("vm-guest2.xml").write_text("<domain type='kvm'><name>vm-guest2</name></domain>")
    drover.ok("resource", "create", "vm-guest2", "VirtualDomain", "config=vm-guest2.xml")
    drover.ok("cluster", "node", "add-guest", "guest2", "vm-guest2", "remote-addr=10.0.0.9",
              "remote-connect-timeout=90s")
    vm = drover.cib().configuration.resource("vm-guest2")
    assert vm.guest_node == "guest2"
    assert (vm.meta.get("remote-addr"), vm.meta.get("remote-connect-timeout")) == ("10.0.0.9", "90s")
    again = drover("cluster", "node", "add-guest", "guest2", "vm-guest2")
    assert again.code == 1 and "'guest2' is already a node of the cluster" in again.err
    bad = drover("cluster", "node", "add-guest", "guest3", "vm-guest2", "remote-port=abc")
    assert bad.code == 1 and "remote-port" in bad.err
    drover.ok("cluster", "node", "remove-guest", "guest2")
    vm = drover.cib().configuration.resource("vm-guest2")
    assert vm.guest_node is None and vm.meta.get("remote-addr") is None
    gone = drover("cluster", "node", "remove-guest", "guest2")
    assert gone.code == 1 and "'guest2' is not a guest node" in gone.err


def test_a_bare_agent_not_installed_here_is_taken_as_ocf_heartbeat_with_force(drover: Drover) -> None:
    refused = drover("resource", "create", "web", "nosuchagent")
    assert refused.code == 1 and refused.err.endswith("or use --force for ocf:heartbeat:nosuchagent\n")
    forced = drover("resource", "create", "web", "nosuchagent", "--force")
    assert forced.code == 0
    assert forced.err == ("Assumed agent name 'ocf:heartbeat:nosuchagent' (deduced from 'nosuchagent'; "
                          "not installed here)\n")
    assert str(drover.cib().configuration.resource("web").agent) == "ocf:heartbeat:nosuchagent"
    ambiguous = drover("resource", "create", "d", "Dummy", "--force")            # --force cannot pick a provider
    assert ambiguous.code == 1 and "Multiple agents match 'Dummy'" in ambiguous.err


def test_node_members_and_quorum_as_crm_node_prints_them(drover: Drover) -> None:
    walk_through(drover)
    assert drover.ok("node", "members") == "1 node1 lost\n"        # no controller has run: not a member yet
    assert drover.ok("node", "quorum") == "1\n"


def test_op_add_and_op_delete_as_pcs_does(drover: Drover) -> None:
    drover.ok("resource", "create", "web", "ocf:heartbeat:Dummy", "op", "monitor", "interval=10s")
    drover.ok("resource", "op", "add", "web", "monitor", "interval=20s", "timeout=40s")
    twice = drover("resource", "op", "add", "web", "monitor", "interval=20s")
    assert twice.code == 1 and "operation monitor with interval 20s already specified for web" in twice.err

    def monitors() -> list[tuple[str, int, str | None]]:
        web = drover.cib().configuration.resource("web")
        return [(op.id, op.interval_ms, op.timeout) for op in web.ops if op.name == "monitor"]
    assert monitors() == [("web-monitor-interval-10s", 10_000, None), ("web-monitor-interval-20s", 20_000, "40s")]
    drover.ok("resource", "op", "delete", "web", "monitor", "interval=10s")
    assert monitors() == [("web-monitor-interval-20s", 20_000, "40s")]
    none = drover("resource", "op", "delete", "web", "monitor", "interval=99s")
    assert none.code == 1 and "no monitor operation of web matches interval=99s" in none.err
    drover.ok("resource", "op", "delete", "web-monitor-interval-20s")             # by its id
    assert monitors() == []


def test_a_cluster_property_through_crm_attribute_type_crm_config(drover: Drover) -> None:
    walk_through(drover)
    assert drover.ok("property", "get", "stonith-enabled") == "scope=crm_config  name=stonith-enabled value=false\n"
    assert drover.ok("property", "get", "stonith-enabled", "--quiet") == "false\n"
    missing = drover("property", "get", "no-such-thing")
    assert missing.code == 105 and "cluster property 'no-such-thing' is not set" in missing.err
    assert drover.ok("property", "get", "no-such-thing", "--default=7") == \
        "scope=crm_config  name=no-such-thing value=7\n"
