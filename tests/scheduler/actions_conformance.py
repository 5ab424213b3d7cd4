"""How many inputs of a corpus get crm_simulate's transition action for action: starts, stops, promotions,
demotions, migrations, fencing, start-up probes and recurring monitors (resource by its clone's name, node;
monitors by interval), per category.

    python -m tests.scheduler.actions_conformance SUITE_DIR [-j N] [--show N]

SUITE_DIR is a corpus of case directories with cib.xml (and meta.json's category, as pcmk_suite.py writes
them); crm_simulate's graph of each (`crm_simulate -x CIB -S -G`) is written beside a copy in a temporary
directory, never into the corpus. drover's side is `drover simulate --save-graph` run in-process. An input
drover refuses counts as differing.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from appliance.cli.simulate_cmd import effective_date
from appliance.cli.simulate_graph import graph_xml
from appliance.model.cib_read import SIMULATED, read_cib
from appliance.model.values import ModelError
from appliance.scheduler.schedule import schedule

Action = tuple[str, str, str]
SKIPPED_TASKS = ("notify", "cancel", "delete", "lrm_delete")


def graph_actions(root: ET.Element) -> set[Action]:
    actions: set[Action] = set()
    for synapse in root.iter("synapse"):
        for element in synapse.find("action_set"):
            node = element.get("on_node", "")
            if element.tag == "crm_event" and element.get("operation") == "stonith":
                actions.add(("stonith", "", node))
            elif element.tag == "rsc_op" and element.get("operation") not in SKIPPED_TASKS:
                task = element.get("operation")
                if task == "monitor":
                    task = "monitor=" + element.get("operation_key").rsplit("_", 1)[1]
                primitive = element.find("primitive")
                rid = primitive.get("id", "") if primitive is not None else element.get("operation_key", "")
                actions.add((task, re.sub(r":\d+$", "", rid), node))
    return actions


def compare(case: str, scratch: str) -> tuple[str, str, list[Action], list[Action]]:
    """(case, equal|differ|refused|no reference, missing, extra)."""
    path = Path(case)
    theirs = Path(scratch) / f"{path.name}.xml"
    subprocess.run(["crm_simulate", "-x", str(path / "cib.xml"), "-S", "-G", str(theirs)], capture_output=True,
                   timeout=300)
    try:
        expected = graph_actions(ET.parse(theirs).getroot())
    except (OSError, ET.ParseError):
        return path.name, "no reference", [], []
    try:
        cib = read_cib((path / "cib.xml").read_bytes(), str(path), SIMULATED)
        ours = graph_actions(ET.fromstring(graph_xml(cib, schedule(cib, effective_date(cib)))))
    except ModelError:
        return path.name, "refused", [], []
    return path.name, "equal" if ours == expected else "differ", sorted(expected - ours), sorted(ours - expected)


def _category(case: Path) -> str:
    try:
        return json.loads((case / "meta.json").read_text()).get("category", "all")
    except (OSError, ValueError):
        return "all"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("-j", type=int, default=2)
    parser.add_argument("--show", type=int, default=0, help="list up to N differing inputs with their differences")
    args = parser.parse_args()
    cases = sorted(p for p in args.corpus.iterdir() if (p / "cib.xml").exists())
    with tempfile.TemporaryDirectory() as scratch, ProcessPoolExecutor(args.j) as pool:
        results = list(pool.map(compare, map(str, cases), [scratch] * len(cases), chunksize=8))
    totals: dict[str, Counter] = {}
    for case, (_name, verdict, _missing, _extra) in zip(cases, results, strict=True):
        totals.setdefault(_category(case), Counter())[verdict] += 1
    equal = sum(t["equal"] for t in totals.values())
    print(f"actions equal to crm_simulate's: {equal}/{len(cases)}")
    for category, counted in sorted(totals.items()):
        print(f"  {category:16} {counted['equal']:>4}/{sum(counted.values()):<4} "
              + ", ".join(f"{verdict} {n}" for verdict, n in sorted(counted.items()) if verdict != "equal"))
    shown = [r for r in results if r[1] == "differ"][:args.show]
    for name, _verdict, missing, extra in shown:
        print(f"{name}: missing {missing[:6]} extra {extra[:6]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
