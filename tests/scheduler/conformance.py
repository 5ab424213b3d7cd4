"""Run the scheduler on a corpus in-process and compare with Pacemaker's expected results.

    python -m tests.scheduler.conformance [CORPUS_DIR] [-v] [--show CASE]

Prints the pass count per tier (the same normalisation as compare.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from appliance.model.cib_read import SIMULATED, read_cib
from appliance.scheduler.schedule import execution_date, schedule
from tests.scheduler import oracle

TOP = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = TOP / "tests" / "scheduler" / "corpus"


def run_case(case: Path) -> tuple[bool, dict, dict]:
    """At the current time, as crm_simulate runs without --set-datetime."""
    cib = read_cib((case / "cib.xml").read_bytes(), str(case), SIMULATED)
    # crm_simulate's now: the CIB's execution-date, else the clock
    got = oracle.normalize(schedule(cib, execution_date(cib) or datetime.now(UTC).replace(tzinfo=None)).as_json())
    expected = oracle.normalize(json.loads((case / "expected.json").read_text()))
    return got == expected, got, expected


def assert_placement_is_pacemakers(case: Path) -> None:
    same, got, expected = run_case(case)
    assert same, "\n".join(diff(got, expected))


def diff(got: dict, expected: dict) -> list[str]:
    lines = []
    for section in ("resources", "nodes"):
        for key in sorted(set(got[section]) | set(expected[section])):
            if got[section].get(key) != expected[section].get(key):
                wanted = expected[section].get(key)
                lines.append(f"  {section[:-1]} {key}: got {got[section].get(key)} expected {wanted}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("-v", action="store_true")
    parser.add_argument("--tier")
    args = parser.parse_args()
    totals: dict[str, list[int]] = {}
    began = time.monotonic()
    for case in sorted(p for p in Path(args.corpus).iterdir() if (p / "cib.xml").is_file()):
        meta = json.loads((case / "meta.json").read_text())
        tier = meta.get("tier") or meta.get("category", "?")     # generated corpora: tier; the suite: category
        if args.tier and tier != args.tier:
            continue
        try:
            ok, got, expected = run_case(case)
        except Exception as error:
            ok, got, expected = False, None, None
            print(f"{case.name}: CRASH {type(error).__name__}: {error}")
        totals.setdefault(tier, [0, 0])
        totals[tier][1] += 1
        if ok:
            totals[tier][0] += 1
        elif args.v and got is not None:
            print(f"{case.name}:")
            print("\n".join(diff(got, expected)))
    for tier, (passed, total) in sorted(totals.items()):
        print(f"{tier}: {passed}/{total}")
    print(f"{time.monotonic() - began:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
