"""`make bench` (scheduler part): drover simulate beside crm_simulate -R on large generated CIBs.

Each CIB has N Dummy primitives on K online nodes, most of them already running (one start + one
recurring monitor in the history), ~10% with a location preference, ~5% in colocation/order chains,
some groups of 4 and one clone; a few monitors just failed so there is recovery to plan. The same
file goes to both programs; times are wall-clock for the whole command, best of two.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import BUILD, TOP

SIZES = ((1000, 16), (1000, 32), (5000, 16), (5000, 32), (10000, 16), (10000, 32))


def _op(parent: ET.Element, rid: str, op: str, interval: int, rc: int, call: int, target: int) -> None:
    key = f"{call}:1:{target}:00000000-0000-0000-0000-000000000000"
    ET.SubElement(parent, "lrm_rsc_op", {
        "id": f"{rid}_{'last' if interval == 0 else op}_{interval}", "operation_key": f"{rid}_{op}_{interval}",
        "operation": op, "transition-key": key, "transition-magic": f"0:{rc};{key}", "call-id": str(call),
        "rc-code": str(rc), "op-status": "0", "interval": str(interval), "last-rc-change": "1700000000",
        "exec-time": "0", "queue-time": "0", "op-digest": "f2317cad3d54cec5d7d7aa7d0bf35cf8"})


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
    placement = {rid: rng.choice(names) for rid in ids}
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
    status = ET.SubElement(cib, "status")
    failed = set(rng.sample(ids, max(1, primitives // 500)))
    for i, name in enumerate(names, 1):
        state = ET.SubElement(status, "node_state", id=str(i), uname=name, in_ccm="true", crmd="online",
                              join="member", expected="member")
        lrm = ET.SubElement(ET.SubElement(state, "lrm", id=str(i)), "lrm_resources")
        for rid in ids:
            if placement[rid] != name or rng.random() < 0.1:
                continue
            entry = ET.SubElement(lrm, "lrm_resource", id=rid, type="Dummy", provider="pacemaker", **{"class": "ocf"})
            _op(entry, rid, "start", 0, 0, 2, 0)
            _op(entry, rid, "monitor", 10000, 7 if rid in failed else 0, 3, 0)
        entry = ET.SubElement(lrm, "lrm_resource", id="base", type="Dummy", provider="pacemaker", **{"class": "ocf"})
        _op(entry, "base", "start", 0, 0, 2, 0)
    return ET.tostring(cib, encoding="unicode")


def _primitive(parent: ET.Element, rid: str) -> None:
    primitive = ET.SubElement(parent, "primitive", id=rid, type="Dummy", provider="pacemaker", **{"class": "ocf"})
    operations = ET.SubElement(primitive, "operations")
    ET.SubElement(operations, "op", id=f"{rid}-monitor-10s", name="monitor", interval="10s")


PCMK_TIMEOUT_S = float(os.environ.get("BENCH_PCMK_TIMEOUT", "600"))


def _best_of(command: list[str], timeout: float, runs: int = 2) -> float | None:
    """Best wall time of `runs` runs (one when a run takes over a minute); None when it timed out."""
    best = float("inf")
    for _ in range(runs):
        began = time.monotonic()
        try:
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        best = min(best, time.monotonic() - began)
        if best > 60:
            break
    return best


def main() -> int:
    binary = BUILD / "drover.dist" / "drover"
    drover = [str(binary)] if binary.exists() else [sys.executable, "-m", "appliance"]
    if shutil.which("crm_simulate") is None:
        print("crm_simulate is not installed (apt-get install pacemaker-cli-utils)")
        return 1
    print(f"{'primitives':>10} {'nodes':>5} {'drover s':>9} {'crm_simulate s':>14} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as scratch:
        for primitives, node_count in SIZES:
            path = Path(scratch) / f"cib-{primitives}-{node_count}.xml"
            path.write_text(generate(primitives, node_count))
            ours = _best_of([*drover, "simulate", "--xml-file", str(path), "--output-as=json"], 1800)
            theirs = _best_of(["crm_simulate", "-x", str(path), "-R"], PCMK_TIMEOUT_S)
            assert ours is not None
            if theirs is None:
                print(f"{primitives:>10} {node_count:>5} {ours:>9.2f} {'>' + str(int(PCMK_TIMEOUT_S)):>14} "
                      f">{PCMK_TIMEOUT_S / ours:>4.0f}x", flush=True)
            else:
                ratio = theirs / ours
                print(f"{primitives:>10} {node_count:>5} {ours:>9.2f} {theirs:>14.2f} {ratio:>5.1f}x", flush=True)
    print("ratio = crm_simulate time / drover time (above 1: drover is faster); crm_simulate runs are cut off "
          f"after BENCH_PCMK_TIMEOUT={int(PCMK_TIMEOUT_S)}s")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(TOP))
    sys.exit(main())
