"""Logging set-up for both daemons: stderr, which journald captures under systemd.

Under journald (JOURNAL_STREAM set) lines carry no timestamp, journald adds it,
and start with the syslog priority as `<N>` (sd-daemon(3)), which journald takes
as the line's priority, so `journalctl -p warning -u drover` filters them;
elsewhere they start with a timestamp. Levels use Pacemaker's names where they differ.
"""

from __future__ import annotations

import logging
import os
import sys

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO + 5,
          "warning": logging.WARNING, "error": logging.ERROR}
logging.addLevelName(LEVELS["notice"], "NOTICE")


_PRIORITIES = ((logging.ERROR, 3), (logging.WARNING, 4), (LEVELS["notice"], 5), (logging.INFO, 6))


def syslog_priority(levelno: int) -> int:
    """err 3, warning 4, notice 5, info 6, debug 7 (critical counts as err)."""
    return next((priority for threshold, priority in _PRIORITIES if levelno >= threshold), 7)


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        priority = f"<{syslog_priority(record.levelno)}>"
        return priority + text.replace("\n", "\n" + priority)    # every line of a traceback keeps it


def configure(program: str, level: str) -> None:
    journal = bool(os.environ.get("JOURNAL_STREAM"))
    handler = logging.StreamHandler(sys.stderr)
    layout = f"{program}[%(process)d]: %(levelname)s: %(message)s"
    handler.setFormatter(_JournalFormatter(layout) if journal else logging.Formatter(f"%(asctime)s {layout}"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # its own SSL chatter; we log each peer ourselves
