"""The multi-host suite (make cluster-test, part of make test): real corosync and drover daemons in namespaces."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)
