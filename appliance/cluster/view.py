"""What one host knows of its cluster at a moment: names, corosync members, quorum, drover daemons, the DC.

Rules: pure data, no corosync here. The DC is derived, not elected: the lowest corosync node id among the
drover daemons of this CPG membership, once their states are synced (every member of a membership computes the
same one, CPG being virtually synchronous). A host counts as up while corosync has it as a member, even when
its drover daemon is being restarted (its resources are left alone meanwhile, nothing is started for it): only
leaving corosync's membership makes a host OFFLINE. The daemon writes its view to a file in the run directory
(`drover status` reads it there: a host's own view, as crm_mon shows its own partition's).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "cluster-view.json"


@dataclass(frozen=True)
class ClusterView:
    cluster_name: str
    local: int                                         # this host's corosync node id
    names: dict[int, str] = field(default_factory=dict)   # corosync's nodelist: node id -> host name
    corosync_members: frozenset[int] = frozenset()
    quorate: bool = False
    daemons: frozenset[int] = frozenset()              # members of the drover CPG group
    synced: bool = False                               # this membership's state sync is done

    @property
    def dc(self) -> int | None:
        if not self.synced or not self.daemons:
            return None
        return min(self.daemons)

    @property
    def dc_name(self) -> str | None:
        dc = self.dc
        return None if dc is None else self.names.get(dc, f"node{dc}")

    @property
    def is_dc(self) -> bool:
        return self.dc == self.local

    @property
    def local_name(self) -> str:
        return self.names.get(self.local, f"node{self.local}")

    def nodeid(self, name: str) -> int | None:
        return next((nodeid for nodeid, known in self.names.items() if known == name), None)

    def to_json(self) -> dict:
        return {"cluster_name": self.cluster_name, "local": self.local,
                "names": {str(k): v for k, v in sorted(self.names.items())},
                "corosync_members": sorted(self.corosync_members), "quorate": self.quorate,
                "daemons": sorted(self.daemons), "synced": self.synced, "dc": self.dc_name}

    @classmethod
    def from_json(cls, data: dict) -> ClusterView:
        return cls(str(data["cluster_name"]), int(data["local"]), {int(k): str(v) for k, v in data["names"].items()},
                   frozenset(int(n) for n in data["corosync_members"]), bool(data["quorate"]),
                   frozenset(int(n) for n in data["daemons"]), bool(data["synced"]))


def write(run_dir: Path, view: ClusterView) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / FILE_NAME
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(view.to_json()))
    os.replace(temporary, target)


def read(run_dir: Path) -> ClusterView | None:
    """The running daemon's view (None: no daemon wrote one, or it is unreadable)."""
    try:
        return ClusterView.from_json(json.loads((run_dir / FILE_NAME).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(run_dir: Path) -> None:
    (run_dir / FILE_NAME).unlink(missing_ok=True)
