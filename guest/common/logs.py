"""Logging set-up for both daemons: stderr, which journald captures under systemd.

Under journald (JOURNAL_STREAM set) lines carry no timestamp, journald adds it;
elsewhere they start with one. Levels use Pacemaker's names where they differ.
"""

from __future__ import annotations

import logging
import os
import sys

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO + 5,
          "warning": logging.WARNING, "error": logging.ERROR}
logging.addLevelName(LEVELS["notice"], "NOTICE")


def configure(program: str, level: str) -> None:
    journal = bool(os.environ.get("JOURNAL_STREAM"))
    prefix = "" if journal else "%(asctime)s "
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prefix}{program}[%(process)d]: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # its own SSL chatter; we log each peer ourselves
