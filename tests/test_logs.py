"""Log lines as journald reads them: under systemd (JOURNAL_STREAM) each line starts with its syslog priority."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import TOP, clean_environment

pytestmark = pytest.mark.timeout(30)

PROGRAM = """
import logging
from guest.common import logs
logs.configure("drover", "debug")
log = logging.getLogger("drover")
log.debug("d"); log.info("i"); log.log(logs.LEVELS["notice"], "n"); log.warning("w"); log.error("e")
try:
    raise ValueError("boom")
except ValueError:
    log.exception("failed")
"""


def run(**env: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=20, cwd=TOP,
                          env=clean_environment(PYTHONPATH=str(TOP), **env))
    return done.stderr.splitlines()


def test_under_journald_every_line_carries_its_priority():
    lines = run(JOURNAL_STREAM="8:12345")
    assert [line.split("]: ", 1)[0].split("drover[")[0] for line in lines[:5]] == ["<7>", "<6>", "<5>", "<4>", "<3>"]
    assert lines[4].endswith("ERROR: e")
    assert all(line.startswith("<3>") for line in lines[5:]) and "ValueError: boom" in lines[-1]


def test_elsewhere_lines_start_with_a_timestamp():
    lines = run()
    assert lines[0][:4].isdigit() and "drover[" in lines[0] and not lines[0].startswith("<")
