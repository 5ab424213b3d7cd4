"""The fault-injection suite (make fault-test, part of make test): prints every case's figures at the end."""

from __future__ import annotations

import pytest

from tests.fault import figures


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/fault/" in str(item.fspath):
            item.add_marker(pytest.mark.fault)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if figures.RECORDED:
        terminalreporter.section("fault injection: what survived")
        terminalreporter.write_line(figures.summary())
        figures.write_summary()
