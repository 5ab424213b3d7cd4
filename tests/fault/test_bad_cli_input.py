"""Bad CLI input against a populated state: every bad command is refused cleanly and changes nothing.

The state is the walk-through plus a group, a clone, a colocation, an order and a cluster property (no daemon
runs; the CLI writes the SQLite state itself). Each bad command -- bad ids, scores, durations, agents and
options, constraints naming missing resources or a resource with itself, and `cib import` of broken,
invalid, oversized or hostile XML -- must exit non-zero with one clear line on stderr naming what was wrong
(usage errors add the command's synopsis; never a traceback), and leave state.db byte-identical with no
journal or WAL left behind; the 300 MiB file must not be read into memory. At the end SQLite's integrity
check passes and the export is unchanged and still one that crm_verify accepts.
"""

from __future__ import annotations

import resource
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.appliance_harness import Appliance
from tests.fault.figures import record
from tests.guestd import GuestDaemon

pytestmark = pytest.mark.timeout(300)

DUMMY = "ocf:heartbeat:Dummy"
LONG_ID = "a" * 10_000
TOO_LONG_ID = "b" * 256
HUGE = "99999999999999999999999"
MIB = 1024 * 1024
EXIT_USAGE = 64


@dataclass(frozen=True)
class Case:
    what: str
    args: tuple[str, ...]
    names: str            # what stderr must mention (case-insensitive)


def case(what: str, names: str, *args: str) -> Case:
    return Case(what, args, names)


def _populate(appliance: Appliance, base: Path) -> None:
    appliance.walkthrough()
    appliance.drover("resource", "create", "db", "ocf:test:counted", f"log={base / 'db.log'}", "op", "monitor",
                     "interval=10s")
    appliance.drover("resource", "create", "web2", DUMMY, "--group=webgroup")
    appliance.drover("resource", "create", "ping", DUMMY, "clone")
    appliance.drover("constraint", "colocation", "add", "webserver", "with", "db")
    appliance.drover("constraint", "order", "db", "then", "webserver")
    appliance.drover("property", "set", "cluster-recheck-interval=5min")
    appliance.drover("attribute", "--name=rack", "--update=1")


def _cib_with(exported: str, old: str, new: str) -> str:
    assert old in exported, old
    return exported.replace(old, new, 1)


def _import_files(directory: Path, exported: str) -> dict[str, Path]:
    """name -> file for the `cib import` cases, written next to the test's state."""
    primitive = ('<primitive id="extra" class="ocf" provider="heartbeat" type="Dummy">'
                 '<operations><op id="extra-monitor" name="monitor" interval="10s"/></operations></primitive>')
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    texts = {
        "truncated.xml": exported[: len(exported) // 2],
        "not-xml.xml": "this is not XML at all\n",
        "binary.xml": "\x00\x01\x02 binary garbage",
        "empty.xml": "",
        "unknown-element.xml": _cib_with(exported, "<resources>", "<resources><frobnicator id='f'/>"),
        "digit-id.xml": _cib_with(exported, 'id="webserver"', 'id="9webserver"'),
        "colon-id.xml": _cib_with(exported, 'id="webserver"', 'id="web:server"'),
        "space-id.xml": primitive.replace('id="extra"', 'id="has space"'),
        "long-id.xml": primitive.replace('id="extra"', f'id="{LONG_ID}"'),
        "nonsense-class.xml": _cib_with(exported, 'class="ocf" provider="test"', 'class="nonsense" provider="test"'),
        "nonsense-class-fragment.xml": primitive.replace('class="ocf" provider="heartbeat"', 'class="nonsense"'),
        "agent-traversal.xml": primitive.replace('type="Dummy"', 'type="../../../../bin/sh"'),
        "bad-timeout.xml": primitive.replace('interval="10s"', 'interval="10s" timeout="abc"'),
        "huge-interval.xml": primitive.replace('interval="10s"', f'interval="{HUGE}h"'),
        "huge-score.xml": f'<rsc_location id="l-huge" rsc="webserver" node="node1" score="{HUGE}"/>',
        "missing-resource.xml": '<rsc_order id="o-ghost" first="ghost" then="webserver"/>',
        "self-colocation.xml": '<rsc_colocation id="c-self" rsc="db" with-rsc="db" score="INFINITY"/>',
        "duplicate-id.xml": primitive.replace('id="extra"', 'id="webserver"'),
        "deep-rules.xml": ('<rsc_location id="l-deep" rsc="webserver">' + '<rule id="r" score="1">' * 5000
                           + '<expression id="e" attribute="a" operation="defined"/>' + "</rule>" * 5000
                           + "</rsc_location>"),
        "billion-laughs.xml": f'<?xml version="1.0"?><!DOCTYPE cib [<!ENTITY l0 "lol">{laughs}]><cib>&l9;</cib>',
        "xxe.xml": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '<primitive id="x" class="ocf" provider="heartbeat" type="Dummy" description="&x;"/>'),
        "external-dtd.xml": '<?xml version="1.0"?><!DOCTYPE cib SYSTEM "file:///etc/passwd"><cib/>',
        "plain-doctype.xml": "<!DOCTYPE cib><cib><configuration/></cib>",
        "undefined-entity.xml": primitive.replace('type="Dummy"', 'type="&x;"'),
        "bad-encoding.xml": '<?xml version="1.0" encoding="no-such-encoding"?><cib/>',
        "utf7-encoding.xml": '<?xml version="1.0" encoding="utf-7"?><cib/>',
    }
    files = {}
    for name, text in texts.items():
        path = directory / name
        path.write_text(text, encoding="latin-1" if name == "binary.xml" else "utf-8")
        files[name] = path
    huge = directory / "huge.xml"
    with open(huge, "wb") as stream:
        stream.truncate(300 * MIB)
    files["huge.xml"] = huge
    (directory / "a-directory.xml").mkdir()
    files["a-directory.xml"] = directory / "a-directory.xml"
    return files


def _cases(files: dict[str, Path], base: Path) -> list[Case]:
    def imported(name: str, names: str, *extra: str) -> Case:
        return case(f"cib import {name}", names, "cib", "import", str(files[name]), *extra)

    return [
        # ids
        case("empty resource id", "empty", "resource", "create", "", DUMMY),
        case("resource id with a space", "has space", "resource", "create", "has space", DUMMY),
        case("resource id starting with a digit", "9lives", "resource", "create", "9lives", DUMMY),
        case("resource id with a colon", "a:b", "resource", "create", "a:b", DUMMY),
        case("resource id with a newline", "letters", "resource", "create", "a\nb", DUMMY),
        case("10,000-character resource id", "longer than 255", "resource", "create", LONG_ID, DUMMY),
        case("256-character resource id", "longer than 255", "resource", "create", TOO_LONG_ID, DUMMY),
        case("resource id whose operation ids exceed 255", "operation id", "resource", "create", "c" * 250, DUMMY),
        case("group id with a space", "bad group", "resource", "create", "x", DUMMY, "--group=bad group"),
        case("group id starting with a digit", "1group", "resource", "create", "x", DUMMY, "--group=1group"),
        case("operation id with a space", "bad op", "resource", "create", "x", DUMMY, "op", "monitor",
             "interval=10s", "id=bad op"),
        case("resource id already in use", "already exists", "resource", "create", "webserver", DUMMY),
        case("group id that is a primitive", "not a group", "resource", "create", "x", DUMMY, "--group=db"),
        case("remote-node name with a space", "remote-node", "resource", "create", "x", DUMMY, "meta",
             "remote-node=bad name"),
        case("empty colocation id", "empty", "constraint", "colocation", "add", "webserver", "with", "ping",
             "id="),
        case("colocation id starting with a digit", "9col", "constraint", "colocation", "add", "webserver", "with",
             "ping", "id=9col"),
        case("order id over 255 characters", "longer than 255", "constraint", "order", "ping", "then", "webserver",
             f"id={LONG_ID}"),
        case("rule id with a space", "a rule", "constraint", "location", "webserver", "rule", "id=a rule",
             "defined", "rack"),
        case("constraint id already in use", "duplicate id 'webserver'", "constraint", "order", "ping", "then", "db",
             "id=webserver"),
        # scores
        case("score foo", "foo", "constraint", "location", "webserver", "prefers", "node1=foo"),
        case("score INFINITY+1", "INFINITY+1", "constraint", "location", "webserver", "prefers",
             "node1=INFINITY+1"),
        case("score 99999999999999999999999", HUGE, "constraint", "location", "webserver", "prefers",
             f"node1={HUGE}"),
        case("5,000-digit score", "out of range", "constraint", "location", "webserver", "prefers",
             "node1=" + "9" * 5000),
        case("negative huge score", HUGE, "constraint", "location", "webserver", "avoids", f"node1=-{HUGE}"),
        case("colocation score foo", "foo", "constraint", "colocation", "add", "webserver", "with", "ping", "foo"),
        case("colocation score huge", HUGE, "constraint", "colocation", "add", "webserver", "with", "ping",
             f"score={HUGE}"),
        case("rule score INFINITY+1", "INFINITY+1", "constraint", "location", "webserver", "rule",
             "score=INFINITY+1", "defined", "rack"),
        case("stickiness foo", "foo", "resource", "meta", "webserver", "resource-stickiness=foo"),
        case("migration-threshold huge", HUGE, "resource", "meta", "webserver", f"migration-threshold={HUGE}"),
        case("default stickiness huge", HUGE, "resource", "defaults", f"resource-stickiness={HUGE}"),
        case("property score huge", HUGE, "property", "set", f"default-resource-stickiness={HUGE}"),
        # durations
        case("interval=abc", "abc", "resource", "create", "x", DUMMY, "op", "monitor", "interval=abc"),
        case("timeout=-5s", "-5s", "resource", "create", "x", DUMMY, "op", "monitor", "interval=10s",
             "timeout=-5s"),
        case(f"timeout={HUGE}h", "longer than", "resource", "create", "x", DUMMY, "op", "monitor",
             "interval=10s", f"timeout={HUGE}h"),
        case("5,000-digit interval", "longer than", "resource", "create", "x", DUMMY, "op", "monitor",
             "interval=" + "9" * 5000),
        case("interval of 50 days", "longer than", "resource", "create", "x", DUMMY, "op", "monitor",
             "interval=1200h"),
        case("ISO interval of 50 days", "longer than", "resource", "create", "x", DUMMY, "op", "monitor",
             "interval=P50D"),
        case("update interval=abc", "abc", "resource", "update", "webserver", "op", "monitor", "interval=abc"),
        case("failure-timeout huge", "longer than", "resource", "meta", "webserver", f"failure-timeout={HUGE}h"),
        case("failure-timeout abc", "abc", "resource", "meta", "webserver", "failure-timeout=abc"),
        case("cluster-recheck-interval -5s", "-5s", "property", "set", "cluster-recheck-interval=-5s"),
        case("stonith-timeout huge", "longer than", "property", "set", f"stonith-timeout={HUGE}s"),
        # agents, classes and options
        case("unknown class", "nonsense", "resource", "create", "x", "nonsense:Dummy"),
        case("unknown class with provider", "nonsense", "resource", "create", "x", "nonsense:heartbeat:Dummy"),
        case("unknown OCF provider", "ocf:nosuch:Dummy", "resource", "create", "x", "ocf:nosuch:Dummy"),
        case("unknown agent", "NoSuchAgent", "resource", "create", "x", "ocf:heartbeat:NoSuchAgent"),
        case("unknown bare agent", "NoSuchAgent", "resource", "create", "x", "NoSuchAgent"),
        case("empty agent", "agent", "resource", "create", "x", ""),
        case("agent name with four parts", "a:b:c:d", "resource", "create", "x", "a:b:c:d"),
        case("ocf agent without provider", "provider", "resource", "create", "x", "ocf::Dummy"),
        case("agent type escaping its directory", "../../../../bin/sh", "resource", "create", "x",
             "ocf:heartbeat:../../../../bin/sh", "--force"),
        case("agent provider escaping its directory", "..", "resource", "create", "x", "ocf:..:Dummy", "--force"),
        case("unknown agent option", "nosuchparam", "resource", "create", "x", DUMMY, "nosuchparam=1"),
        case("required agent option missing", "config", "resource", "create", "x", "ocf:heartbeat:VirtualDomain"),
        case("unknown operation", "nosuchop", "resource", "create", "x", DUMMY, "op", "nosuchop", "interval=10s"),
        case("unknown op option", "colour", "resource", "create", "x", DUMMY, "op", "monitor", "colour=red"),
        case("bad on-fail", "explode", "resource", "create", "x", DUMMY, "op", "monitor", "on-fail=explode"),
        case("bad target-role", "Boss", "resource", "create", "x", DUMMY, "meta", "target-role=Boss"),
        case("bad remote-port", "remote-port", "resource", "meta", "vm-guest1", "remote-port=70000"),
        case("option without a value", "noequals", "resource", "create", "x", DUMMY, "noequals"),
        case("unknown command-line option", "invalid arguments", "resource", "create", "x", DUMMY, "--frobnicate"),
        case("unknown subcommand", "invalid arguments", "resource", "frobnicate", "webserver"),
        case("unknown order option", "colour", "constraint", "order", "db", "then", "ping", "colour=red"),
        case("bad order kind", "Sometimes", "constraint", "order", "db", "then", "ping", "kind=Sometimes"),
        case("bad order action", "explode", "constraint", "order", "explode", "db", "then", "ping"),
        case("unknown colocation option", "colour", "constraint", "colocation", "add", "webserver", "with", "ping",
             "colour=red"),
        case("unknown cluster property", "no-such-property", "property", "set", "no-such-property=1"),
        case("bad boolean property", "maybe", "property", "set", "stonith-enabled=maybe"),
        case("bad output format", "yaml", "resource", "list", "--output-as=yaml"),
        case("bad attribute lifetime", "lifetime", "attribute", "--name=rack", "--update=2", "--lifetime=always"),
        case("attribute of an unknown node", "nosuchnode", "attribute", "--node=nosuchnode", "--name=rack",
             "--update=2"),
        case("move to an unknown node", "nosuchnode", "resource", "move", "webserver", "nosuchnode"),
        case("location on an unknown node", "nosuchnode", "constraint", "location", "webserver", "prefers",
             "nosuchnode"),
        # missing resources and self-references
        case("location of a missing resource", "ghost", "constraint", "location", "ghost", "prefers", "node1"),
        case("rule of a missing resource", "ghost", "constraint", "location", "ghost", "rule", "defined", "rack"),
        case("colocation with a missing resource", "ghost", "constraint", "colocation", "add", "webserver", "with",
             "ghost"),
        case("order of a missing resource", "ghost", "constraint", "order", "ghost", "then", "webserver"),
        case("order before a missing resource", "ghost", "constraint", "order", "webserver", "then", "ghost"),
        case("delete a missing resource", "ghost", "resource", "delete", "ghost"),
        case("enable a missing resource", "ghost", "resource", "enable", "webserver", "ghost"),
        case("meta of a missing resource", "ghost", "resource", "meta", "ghost", "priority=1"),
        case("update a missing resource", "ghost", "resource", "update", "ghost", "a=b"),
        case("ban a missing resource", "ghost", "resource", "ban", "ghost", "node1"),
        case("delete a missing constraint", "no-such-constraint", "constraint", "delete", "no-such-constraint"),
        case("delete a resource with a 10,000-character id", "does not exist", "resource", "delete", LONG_ID),
        case("order A then A", "itself", "constraint", "order", "webserver", "then", "webserver"),
        case("order stop A then start A", "itself", "constraint", "order", "stop", "db", "then", "start", "db"),
        case("colocation A with A", "itself", "constraint", "colocation", "add", "webserver", "with", "webserver"),
        # cib import
        imported("truncated.xml", "not well-formed"),
        imported("not-xml.xml", "not well-formed"),
        imported("binary.xml", "not well-formed"),
        imported("empty.xml", "not well-formed"),
        imported("unknown-element.xml", "frobnicator"),
        imported("digit-id.xml", "9webserver"),
        imported("colon-id.xml", "web:server"),
        imported("space-id.xml", "has space"),
        imported("long-id.xml", "longer than 255"),
        imported("nonsense-class.xml", "nonsense"),
        imported("nonsense-class-fragment.xml", "nonsense"),
        imported("agent-traversal.xml", "../../../../bin/sh"),
        imported("bad-timeout.xml", "abc"),
        imported("huge-interval.xml", "longer than"),
        imported("huge-score.xml", HUGE),
        imported("missing-resource.xml", "ghost"),
        imported("self-colocation.xml", "itself"),
        imported("duplicate-id.xml", "webserver"),
        imported("deep-rules.xml", "nested"),
        imported("billion-laughs.xml", "DTD"),
        imported("xxe.xml", "DTD"),
        imported("external-dtd.xml", "DTD"),
        imported("plain-doctype.xml", "DTD"),
        imported("undefined-entity.xml", "undefined entity"),
        imported("bad-encoding.xml", "encoding"),
        imported("utf7-encoding.xml", "encoding"),
        imported("huge.xml", "larger than 256 MiB"),
        imported("a-directory.xml", "directory"),
        imported("truncated.xml", "not well-formed", "--include-status"),
        case("cib import of a missing file", "no such file", "cib", "import", str(base / "missing.xml")),
        case("cib import fragment with --include-status", "include-status", "cib", "import",
             str(files["missing-resource.xml"]), "--include-status"),
        case("cib export into a missing directory", "cannot write", "cib", "export",
             str(base / "no-such-dir" / "out.xml")),
    ]


def _files_of(state_db: Path) -> dict[str, bytes]:
    """state.db and any sidecar file SQLite may leave (-wal, -shm, -journal), by name."""
    return {path.name: path.read_bytes() for path in sorted(state_db.parent.glob(state_db.name + "*"))}


def _problem(result: subprocess.CompletedProcess, expected: Case, before: dict[str, bytes],
             after: dict[str, bytes]) -> str | None:
    stderr = result.stderr
    lines = stderr.strip().splitlines()
    if result.returncode == 0:
        return "accepted (exit 0)"
    if after != before:
        changed = sorted(set(before) ^ set(after) | {n for n in before if n in after and before[n] != after[n]})
        return f"refused but the state changed: {changed}"
    if "Traceback" in stderr:
        return f"traceback: {stderr[-300:]!r}"
    if not lines or not lines[0].startswith("drover: "):
        return f"no 'drover: ...' message: {stderr[:200]!r}"
    if result.returncode != EXIT_USAGE and len(lines) != 1:
        return f"{len(lines)} lines on stderr: {stderr[:300]!r}"
    if len(lines[0]) > 400:
        return f"a {len(lines[0])}-character message: {lines[0][:120]!r}..."
    if expected.names.lower() not in stderr.lower():
        return f"does not name {expected.names!r}: {lines[0]!r}"
    return None


def test_bad_cli_input_is_refused_and_changes_nothing(tmp_path: Path):
    guest = GuestDaemon(tmp_path / "unused-guest")            # only its authkey and agent tree
    appliance = Appliance(tmp_path, guest)
    _populate(appliance, tmp_path)
    exported = appliance.drover("cib", "export").stdout
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    cases = _cases(_import_files(inputs, exported), tmp_path)
    before = _files_of(appliance.state_db)
    assert list(before) == ["state.db"]
    children_peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    problems: list[str] = []
    for bad in cases:
        result = appliance.drover(*bad.args, check=False)
        problem = _problem(result, bad, before, _files_of(appliance.state_db))
        if problem:
            problems.append(f"{bad.what}: {problem}")
            before = _files_of(appliance.state_db)
    peak_after_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with closing(sqlite3.connect(appliance.state_db)) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    export_again = appliance.drover("cib", "export").stdout
    verified = _crm_verify(tmp_path, export_again)

    survived = len(cases) - len(problems)
    record("bad CLI input against a populated state", len(cases), survived, len(problems),
           f"refused with one clear line, state.db byte-identical; integrity {integrity}; "
           f"export {'unchanged' if export_again == exported else 'CHANGED'}, crm_verify {verified}")
    assert problems == [], "\n".join(problems)
    assert integrity == "ok"
    assert export_again == exported
    assert verified in ("ok", "not installed")
    if children_peak_kib < 200 * 1024:
        assert peak_after_kib < 200 * 1024, "a command read the 300 MiB file into memory"


def _crm_verify(tmp_path: Path, exported: str) -> str:
    if shutil.which("crm_verify") is None:
        return "not installed"
    path = tmp_path / "exported.xml"
    path.write_text(exported)
    verify = subprocess.run(["crm_verify", "-x", str(path)], capture_output=True, text=True, timeout=60)
    return "ok" if verify.returncode == 0 else f"rejected: {verify.stderr.strip()[:200]}"
