"""Every file-system location either binary uses, under one root prefix.

The prefix comes from DROVER_ROOT (default "/"), so tests and `make demo` run
several appliances and guests on one machine, each in its own directory tree.
Nothing else in the code base spells out /etc, /var or /run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "DROVER_ROOT"


@dataclass(frozen=True)
class Paths:
    root: Path

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Paths:
        environ = os.environ if environ is None else environ
        return cls(Path(environ.get(ROOT_ENV) or "/"))

    def _under_root(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def config_dir(self) -> Path:
        return self._under_root("/etc/drover")

    def config_file(self, name: str) -> Path:
        """The main file of config `name` ("drover" or "guest")."""
        return self.config_dir / f"{name}.conf"

    def config_dropin_dir(self, name: str) -> Path:
        return self.config_dir / f"{name}.conf.d"

    @property
    def default_authkey(self) -> Path:
        return self._under_root("/etc/pacemaker/authkey")

    @property
    def corosync_dir(self) -> Path:
        """corosync's own configuration: corosync.conf and its authkey."""
        return self._under_root("/etc/corosync")

    @property
    def state_dir(self) -> Path:
        return self._under_root("/var/lib/drover")

    @property
    def run_dir(self) -> Path:
        return self._under_root("/run/drover")

    def resolve(self, configured: str) -> Path:
        """A path from a config file: absolute ones live under the root too."""
        return self._under_root(configured) if configured.startswith("/") else Path(configured)
