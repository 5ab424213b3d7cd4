"""The import rules of ARCHITECTURE.md, checked on the source tree."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

from tests.conftest import TOP

# Modules a rule restricts -> the files allowed to import them (fnmatch: `*` crosses directories).
RESTRICTED = {
    "appliance": ["appliance/*"],
    "sqlite3": ["appliance/store/*.py"],
    "sqlite_utils": ["appliance/store/*.py"],
    "libvirt": ["appliance/hypervisor/libvirt*.py"],
    # cluster_stop: systemctl start/stop corosync drover
    "subprocess": ["guest/agents/process*.py", "appliance/demo.py", "appliance/demo_cluster.py",
                   "appliance/cli/cluster_stop.py"],
    # corosync's libraries; trim.py calls libc's madvise(2), which Python does not offer for existing mappings
    "ctypes": ["appliance/cluster/corosync*.py", "guest/common/trim.py"],
}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_import_rules():
    violations = []
    for path in sorted([*TOP.glob("appliance/**/*.py"), *TOP.glob("guest/**/*.py")]):
        relative = path.relative_to(TOP)
        for module in imported_modules(path) & RESTRICTED.keys():
            if not any(fnmatch.fnmatch(str(relative), pattern) for pattern in RESTRICTED[module]):
                violations.append(f"{relative} imports {module}")
    assert violations == []


def test_rule_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import subprocess\nfrom appliance.cli import main\nfrom . import x\n")
    assert imported_modules(sample) == {"subprocess", "appliance"}


def _full_imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_model_and_scheduler_are_pure():
    """The scheduler is a function of its input: it reaches only the model and side-effect-free stdlib."""
    allowed_prefixes = ("appliance.model", "appliance.scheduler", "__future__", "dataclasses", "datetime", "functools",
                        "itertools", "re", "typing", "types", "collections", "json", "enum", "math")
    found = []
    for path in sorted(TOP.glob("appliance/scheduler/*.py")):
        for module in _full_imports(path):
            if not module.startswith(allowed_prefixes):
                found.append(f"{path.relative_to(TOP)} imports {module}")
    assert found == []
