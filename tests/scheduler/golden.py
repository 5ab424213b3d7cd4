"""Writing one golden scheduler case: a directory with cib.xml, real Pacemaker's expected.json (crm_simulate)
and meta.json. The generators (failure_cases.py, migration_cases.py, ticket_cases.py) share it."""

from __future__ import annotations

import json
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tests.scheduler import oracle


def write_case(out: Path, name: str, text: str, tier: str, source: str,
               op_fail: tuple[str, ...] = ()) -> tuple[Path, dict]:
    """Returns the case's directory and crm_simulate's placement for it (run with --op-fail for each of
    `op_fail`, which meta.json then lists)."""
    case = out / name
    case.mkdir(parents=True, exist_ok=True)
    (case / "cib.xml").write_text(text)
    extra = tuple(item for spec in op_fail for item in ("--op-fail", spec))
    with tempfile.TemporaryDirectory() as scratch:
        stdout, _ = oracle.run_crm_simulate(str(case / "cib.xml"), str(Path(scratch) / "out.xml"), extra=extra)
    placement = oracle.placement_from_simulate_xml(stdout)
    (case / "expected.json").write_text(oracle.dumps(placement) + "\n")
    meta = {"tier": tier, "source": source} | ({"op_fail": list(op_fail)} if op_fail else {})
    (case / "meta.json").write_text(json.dumps(meta) + "\n")
    return case, placement


def document(nodes: str, resources: str, constraints: str, states: str, options: str = "") -> str:
    """A whole CIB for a generator's case: fencing off (plus `options`, nvpairs), quorum, the given sections."""
    return f"""<cib validate-with="pacemaker-3.7" crm_feature_set="3.16.1" epoch="3" num_updates="1" admin_epoch="0"
 have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="cib-bootstrap-options">
      <nvpair id="opts-stonith-enabled" name="stonith-enabled" value="false"/>{options}
    </cluster_property_set></crm_config>
    <nodes>{nodes}</nodes>
    <resources>{resources}</resources>
    <constraints>{constraints}</constraints>
  </configuration>
  <status>{states}</status>
</cib>
"""


def settled(text: str, constraints: str = "", forgotten: tuple[tuple[str, str], ...] = ()) -> str:
    """The CIB `text` once crm_simulate has run its transition (its status as a running cluster records it, with
    Pacemaker's own operation digests), with `constraints` (XML elements) then added: a change to that cluster.
    `forgotten`: (node, resource) whose history is then removed there, as a cleanup does."""
    with tempfile.TemporaryDirectory() as scratch:
        before, after = Path(scratch) / "before.xml", Path(scratch) / "after.xml"
        before.write_text(text)
        oracle.run_crm_simulate(str(before), str(after))
        root = ET.fromstring(after.read_text())
    for node, resource in forgotten:
        entries = root.find(f"status/node_state[@uname='{node}']/lrm/lrm_resources")
        entries.remove(entries.find(f"lrm_resource[@id='{resource}']"))
    section = root.find("configuration/constraints")
    section.extend(ET.fromstring(f"<constraints>{constraints}</constraints>"))
    return ET.tostring(root, encoding="unicode") + "\n"


def stored(cib, directory: Path):
    """`cib` imported whole (status too) into a new state database in `directory`, and read back."""
    from appliance.store.cib_store import CibStore
    store = CibStore.open(directory / "state.db")
    try:
        store.replace(cib, include_status=True)
        return store.read()
    finally:
        store.close()


def committed(out: Path) -> list[Path]:
    """The cases a generator wrote to `out`, in name order."""
    return sorted(p for p in out.iterdir() if (p / "cib.xml").is_file())


def write_all(cases: dict[str, str], out: Path, tier: str, source: str,
              also: Callable[[Path], str] | None = None) -> int:
    """A generator's main: every case written (to the directory given as argument, else `out`), each printed with
    crm_simulate's placement and what `also(case)` adds (e.g. a further file it writes)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else out
    for name, text in cases.items():
        case, placement = write_case(out, name, text, tier, source)
        extra = also(case) if also is not None else ""
        print(name, json.dumps(placement["resources"]), json.dumps(placement["nodes"]), extra)
    return 0
