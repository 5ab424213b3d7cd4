"""`make bench` (command-line part): the built `drover` beside Pacemaker 2.1.5's own tools on the same input, as
whole processes (start-up included), median wall time and peak RSS of several runs each, printed as ratios.

Both sides read the same CIB: drover's state holds it (`drover cib import`), Pacemaker's tools read the exported
file through CIB_file, so neither needs a running cluster. The calls are those made often: `--version`,
`drover status` / `crm_mon -1`, `crm_attribute --query` and `crm_master` as agents call them, `crm_ticket -l`,
and a simulation of a small CIB (`drover simulate` / `crm_simulate -S`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.conftest import TOP, built_binary

RUNS = 7
CORPUS_CASE = sorted((TOP / "tests" / "scheduler" / "corpus").glob("*/cib.xml"))[0]


def run_once(argv: list[str], env: dict[str, str], report: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process. GNU time measures the RSS (a direct child of this
    Python process would inherit its peak through fork and exec); its own fork costs both sides the same."""
    started = time.perf_counter()
    # no timeout: Popen.wait(timeout) polls with growing sleeps, which would round the times up
    result = subprocess.run(["/usr/bin/time", "-o", str(report), "-f", "%M", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}")
    return elapsed, int(report.read_text().split()[-1])


def median_of(argv: list[str], env: dict[str, str], report: Path) -> tuple[float, int]:
    samples = [run_once(argv, env, report) for _ in range(RUNS)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    drover = str(built_binary("drover"))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "root"
        (root / "etc/drover/drover.conf.d").mkdir(parents=True)
        (root / "etc/drover/drover.conf.d/10-bench.conf").write_text("[cluster]\nnode_name = node1\n")
        ours = {**os.environ, "DROVER_ROOT": str(root)}
        subprocess.run([drover, "resource", "create", "db", "ocf:pacemaker:Stateful", "promotable", "--force"],
                       env=ours, check=True, capture_output=True)
        subprocess.run([drover, "tool", "crm_master", "-r", "db", "-l", "reboot", "-v", "5"], env=ours, check=True,
                       capture_output=True)
        subprocess.run([drover, "ticket", "grant", "ticketA"], env=ours, check=True, capture_output=True)
        cib = Path(directory) / "cib.xml"
        cib.write_text(subprocess.run([drover, "cib", "export"], env=ours, check=True, capture_output=True,
                                      text=True).stdout)
        theirs = {**os.environ, "CIB_file": str(cib)}
        pairs = [
            ("--version", [drover, "--version"], ["crm_mon", "--version"]),
            ("status / crm_mon -1", [drover, "status"], ["crm_mon", "-1"]),
            ("crm_attribute --query", [drover, "tool", "crm_attribute", "-N", "node1", "-n", "master-db", "-l",
                                       "reboot", "-G", "-q"],
             ["crm_attribute", "-N", "node1", "-n", "master-db", "-l", "reboot", "-G", "-q"]),
            ("crm_master -G", [drover, "tool", "crm_master", "-r", "db", "-N", "node1", "-l", "reboot", "-G", "-q"],
             ["crm_master", "-r", "db", "-N", "node1", "-l", "reboot", "-G", "-q"]),
            ("crm_ticket -l", [drover, "tool", "crm_ticket", "-l"], ["crm_ticket", "-l"]),
            ("simulate small CIB", [drover, "simulate", "--xml-file", str(CORPUS_CASE), "--output-as=json"],
             ["crm_simulate", "-x", str(CORPUS_CASE), "-S"]),
        ]
        print(f"command-line start-up: built drover vs Pacemaker 2.1.5 tools, median of {RUNS} whole processes")
        print(f"{'call':<24} {'drover s':>9} {'pcmk s':>8} {'ratio':>6} {'drover MiB':>11} {'pcmk MiB':>9} "
              f"{'ratio':>6}")
        for name, mine, pacemaker in pairs:
            my_time, my_rss = median_of(mine, ours, Path(directory) / "time")
            their_time, their_rss = median_of(pacemaker, theirs, Path(directory) / "time")
            print(f"{name:<24} {my_time:9.3f} {their_time:8.3f} {my_time / their_time:5.1f}x "
                  f"{my_rss / 1024:11.1f} {their_rss / 1024:9.1f} {my_rss / their_rss:5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
