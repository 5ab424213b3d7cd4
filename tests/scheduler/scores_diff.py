"""Debugging aid: compare drover's node scores at assignment time with `crm_simulate -s` for one CIB.

    python -m tests.scheduler.scores_diff CIB.xml [RESOURCE...]

Prints, per primitive, the nodes whose score differs (drover / Pacemaker), in assignment order.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from appliance.model.cib_read import read_cib
from appliance.model.values import format_score, parse_score
from appliance.scheduler import assign, relations, schedule, scores, unpack

LINE = re.compile(r"pcmk__primitive_assign: (\S+) allocation score on (\S+): (\S+)")


def pacemaker_scores(path: Path) -> dict[str, dict[str, int]]:
    output = subprocess.run(["crm_simulate", "-x", str(path), "-s"], capture_output=True, text=True).stdout
    found: dict[str, dict[str, int]] = {}
    for match in LINE.finditer(output):
        found.setdefault(match.group(1), {})[match.group(2)] = parse_score(match.group(3))
    return found


def drover_scores(path: Path) -> list[tuple[str, dict[str, int]]]:
    cib = read_cib(path.read_bytes(), str(path))
    working = unpack.unpack(cib)
    scores.initial_scores(working)
    working.promoted_locations = scores.apply_locations(working, cib, datetime.now())
    scores.apply_stickiness(working)
    scores.apply_failure_bans(working)
    relations.build(working, cib)
    schedule._next_roles(working)
    seen: list[tuple[str, dict[str, int]]] = []
    original = assign.assign_best_node

    def recording(working_, rsc, prefer):
        seen.append((rsc.id, dict(rsc.allowed)))
        return original(working_, rsc, prefer)

    assign.assign_best_node = recording
    try:
        assign.assign_all(working)
    finally:
        assign.assign_best_node = original
    return seen


def main() -> int:
    path = Path(sys.argv[1])
    wanted = set(sys.argv[2:])
    theirs = pacemaker_scores(path)
    for rid, ours in drover_scores(path):
        if wanted and rid not in wanted:
            continue
        reference = theirs.get(rid, {})
        differing = {n: (ours.get(n), reference.get(n)) for n in sorted(set(ours) | set(reference))
                     if ours.get(n) != reference.get(n)}
        if differing:
            shown = ", ".join(f"{n} {format_score(a) if a is not None else '-'}/"
                              f"{format_score(b) if b is not None else '-'}" for n, (a, b) in differing.items())
            print(f"{rid}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
