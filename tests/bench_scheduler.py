"""`make bench` (scheduler part): `drover simulate` beside `crm_simulate -R` on the same large CIBs, on equal work.

Each CIB has N Dummy primitives on K online nodes, as a running cluster's status has them: every resource probed
on every node (a not-running monitor_0 recorded), most running (start and recurring monitor recorded, with the
operation digests Pacemaker computes for them, so nothing is restarted for a changed definition), ~10% not yet
placed, ~10% with a location preference, ~5% in colocation/order pairs, some groups of 4 and one clone; a few
monitors just failed, so there is recovery to plan. The same file goes to both programs.

Equal work is checked, not assumed: both programs write their transition graph (`--save-graph` / `-G`), the
bench counts each side's actions by kind and compares them action by action (resource, task, node; recurring
monitors by interval; clone instances by their clone's name). A time ratio is printed only for sizes where the
transitions are equal; otherwise the bench says how many actions differ. Times are wall-clock for the whole
command (parse, schedule, write the graph), best of two (one run when it takes over 10 s); crm_simulate is cut
off after BENCH_PCMK_TIMEOUT seconds and not run on sizes at least as large as one it did not finish.
Last column: how drover's time grew against the previous size with the same node count, as an exponent of n
(1.0 linear; n log n from 1000 to 10000 primitives is about 1.15).
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from tests.conftest import BUILD, TOP

SIZES = ((1000, 16), (1000, 32), (5000, 16), (5000, 32), (10000, 16), (10000, 32))
# Pacemaker 2.1.5's digests of an ocf:pacemaker:Dummy without parameters (read off crm_simulate's own records).
START_DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"
MONITOR_10S_DIGEST = "4811cef7f7f94e3a35a70be7916cb2fd"
PCMK_TIMEOUT_S = float(os.environ.get("BENCH_PCMK_TIMEOUT", "300"))
RESOURCE_TASKS = ("start", "stop", "promote", "demote", "migrate_to", "migrate_from")


def _op(parent: ET.Element, rid: str, op: str, interval: int, rc: int, call: int, target: int) -> None:
    key = f"{call}:1:{target}:00000000-0000-0000-0000-000000000000"
    ET.SubElement(parent, "lrm_rsc_op", {
        "id": f"{rid}_{'last' if interval == 0 else op}_{interval}", "operation_key": f"{rid}_{op}_{interval}",
        "operation": op, "crm_feature_set": "3.16.1", "transition-key": key, "transition-magic": f"0:{rc};{key}",
        "call-id": str(call), "rc-code": str(rc), "op-status": "0", "interval": str(interval),
        "last-rc-change": "1700000000", "exec-time": "0", "queue-time": "0",
        "op-digest": MONITOR_10S_DIGEST if interval else START_DIGEST})


def _history(lrm: ET.Element, rid: str, running: bool, failed: bool) -> None:
    entry = ET.SubElement(lrm, "lrm_resource", id=rid, type="Dummy", provider="pacemaker", **{"class": "ocf"})
    if running:
        _op(entry, rid, "start", 0, 0, 2, 0)
        _op(entry, rid, "monitor", 10000, 7 if failed else 0, 3, 0)
    else:
        _op(entry, rid, "monitor", 0, 7, 1, 7)                         # the probe found it not running


def generate(primitives: int, node_count: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    cib = ET.Element("cib", {"validate-with": "pacemaker-3.7", "crm_feature_set": "3.16.1", "epoch": "1",
                             "num_updates": "0", "admin_epoch": "0", "have-quorum": "1"})
    configuration = ET.SubElement(cib, "configuration")
    crm = ET.SubElement(ET.SubElement(configuration, "crm_config"), "cluster_property_set", id="options")
    ET.SubElement(crm, "nvpair", id="options-stonith", name="stonith-enabled", value="false")
    nodes_el = ET.SubElement(configuration, "nodes")
    names = [f"node{i}" for i in range(1, node_count + 1)]
    for i, name in enumerate(names, 1):
        ET.SubElement(nodes_el, "node", id=str(i), uname=name)
    resources = ET.SubElement(configuration, "resources")
    constraints = ET.SubElement(configuration, "constraints")
    ids = [f"r{i}" for i in range(1, primitives + 1)]
    placement: dict[str, str | None] = {rid: rng.choice(names) for rid in ids}
    grouped: set[str] = set()
    index = 0
    while index < len(ids):
        if rng.random() < 0.05 and index + 4 <= len(ids) and index > 10:
            group = ET.SubElement(resources, "group", id=f"g{index}")
            members = ids[index:index + 4]
            for rid in members:
                placement[rid] = placement[members[0]]
                grouped.add(rid)
                _primitive(group, rid)
            index += 4
            continue
        _primitive(resources, ids[index])
        index += 1
    clone = ET.SubElement(resources, "clone", id="base-clone")
    _primitive(clone, "base")
    singles = [rid for rid in ids if rid not in grouped]
    for rid in rng.sample(singles, len(singles) // 10):
        ET.SubElement(constraints, "rsc_location", id=f"loc-{rid}", rsc=rid, node=rng.choice(names),
                      score=str(rng.choice([50, 100, 200, -100, "INFINITY"])))
    for a, b in zip(rng.sample(singles, len(singles) // 20), rng.sample(singles, len(singles) // 20), strict=False):
        if a != b:
            ET.SubElement(constraints, "rsc_colocation", id=f"col-{a}-{b}", rsc=a, score="100", **{"with-rsc": b})
            ET.SubElement(constraints, "rsc_order", id=f"ord-{a}-{b}", first=b, then=a, kind="Optional")
    defaults = ET.SubElement(ET.SubElement(configuration, "rsc_defaults"), "meta_attributes", id="defaults")
    ET.SubElement(defaults, "nvpair", id="defaults-stickiness", name="resource-stickiness", value="100")
    for rid in singles:
        if rng.random() < 0.1:
            placement[rid] = None                                          # not placed yet: to be started
    failed = set(rng.sample(ids, max(1, primitives // 500)))
    status = ET.SubElement(cib, "status")
    for i, name in enumerate(names, 1):
        state = ET.SubElement(status, "node_state", id=str(i), uname=name, in_ccm="true", crmd="online",
                              join="member", expected="member")
        lrm = ET.SubElement(ET.SubElement(state, "lrm", id=str(i)), "lrm_resources")
        for rid in ids:
            _history(lrm, rid, placement[rid] == name, rid in failed)
        _history(lrm, "base", True, False)
    return ET.tostring(cib, encoding="unicode")


def _primitive(parent: ET.Element, rid: str) -> None:
    primitive = ET.SubElement(parent, "primitive", id=rid, type="Dummy", provider="pacemaker", **{"class": "ocf"})
    operations = ET.SubElement(primitive, "operations")
    ET.SubElement(operations, "op", id=f"{rid}-monitor-10s", name="monitor", interval="10s")


def graph_actions(path: Path) -> Counter:
    """The graph's real actions as (task, resource, node): monitors as monitor=INTERVAL (probes monitor=0), clone
    instances by their clone's name, fencing as stonith; Pacemaker's pseudo-actions are not actions."""
    actions: Counter = Counter()
    for synapse in ET.parse(path).getroot().iter("synapse"):
        for element in synapse.find("action_set"):
            node = element.get("on_node", "")
            if element.tag == "crm_event" and element.get("operation") == "stonith":
                actions["stonith", "", node] += 1
            elif element.tag == "rsc_op":
                task = element.get("operation")
                if task == "monitor":
                    task = f"monitor={element.get('operation_key').rsplit('_', 1)[1]}"
                rid = re.sub(r":\d+$", "", element.find("primitive").get("id"))
                actions[task, rid, node] += 1
    return actions


def kinds(actions: Counter) -> str:
    counted = Counter()
    for (task, _, _), count in actions.items():
        counted["probe" if task == "monitor=0" else "monitor" if task.startswith("monitor") else task] += count
    return " ".join(f"{kind} {counted[kind]}" for kind in sorted(counted)) or "none"


def _best_of(command: list[str], timeout: float, runs: int = 2) -> float | None:
    """Best wall time of `runs` runs (one when a run takes over 10 s); None when it timed out."""
    best = float("inf")
    for _ in range(runs):
        began = time.monotonic()
        try:
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        best = min(best, time.monotonic() - began)
        if best > 10:
            break
    return best


def main() -> int:
    binary = BUILD / "drover.dist" / "drover"
    drover = [str(binary)] if binary.exists() else [sys.executable, "-m", "appliance"]
    if shutil.which("crm_simulate") is None:
        print("crm_simulate is not installed (apt-get install pacemaker-cli-utils)")
        return 1
    print(f"{'primitives':>10} {'nodes':>5} {'drover s':>9} {'crm_simulate s':>14} {'ratio':>7} {'growth':>6}  actions")
    previous: dict[int, tuple[int, float]] = {}
    too_big: int | None = None             # primitives x nodes of the smallest size crm_simulate did not finish
    with tempfile.TemporaryDirectory() as scratch:
        for primitives, node_count in SIZES:
            path = Path(scratch) / f"cib-{primitives}-{node_count}.xml"
            path.write_text(generate(primitives, node_count))
            ours_graph, theirs_graph = Path(scratch) / "ours.xml", Path(scratch) / "theirs.xml"
            ours = _best_of([*drover, "simulate", "--xml-file", str(path), "--output-as=json",
                             f"--save-graph={ours_graph}"], 1800)
            skipped = too_big is not None and primitives * node_count >= too_big
            theirs = None if skipped else _best_of(["crm_simulate", "-x", str(path), "-R", "-Q", "-G",
                                                    str(theirs_graph)], PCMK_TIMEOUT_S)
            if theirs is None and not skipped:
                too_big = primitives * node_count
            assert ours is not None
            growth = ""
            if node_count in previous:
                n0, t0 = previous[node_count]
                growth = f"{math.log(ours / t0) / math.log(primitives / n0):.2f}"
            previous[node_count] = (primitives, ours)
            mine = graph_actions(ours_graph)
            if theirs is None:
                why = "not run (a smaller size took longer than the bound)" if skipped else "cut off, not compared"
                print(f"{primitives:>10} {node_count:>5} {ours:>9.2f} {'>' + str(int(PCMK_TIMEOUT_S)):>14} "
                      f"{'-':>7} {growth:>6}  drover: {kinds(mine)}; crm_simulate: {why}", flush=True)
                continue
            pacemakers = graph_actions(theirs_graph)
            differing = sum(((mine - pacemakers) + (pacemakers - mine)).values())
            ratio = f"{theirs / ours:.1f}x" if not differing else "-"
            verdict = "equal" if not differing else f"{differing} differ, no ratio"
            print(f"{primitives:>10} {node_count:>5} {ours:>9.2f} {theirs:>14.2f} {ratio:>7} {growth:>6}  "
                  f"{verdict}: drover {kinds(mine)}; crm_simulate {kinds(pacemakers)}", flush=True)
    print("ratio = crm_simulate time / drover time (above 1: drover is faster), printed only where both planned the "
          f"same actions; crm_simulate runs are cut off after BENCH_PCMK_TIMEOUT={int(PCMK_TIMEOUT_S)}s, and sizes "
          "at least as large (primitives x nodes) as one it did not finish are not run")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(TOP))
    sys.exit(main())
