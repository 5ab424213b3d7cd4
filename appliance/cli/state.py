"""What every configuration command shares: the state database, the local node, edits, output formats.

Rules: the store is opened from the loaded drover.conf; every configuration
edit also makes sure this host is a cluster node; model errors become user
errors (exit 1, message naming the problem) and leave the database untouched.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.model.cluster import Configuration
from appliance.model.edits import ensure_node, set_option
from appliance.model.status import Status
from appliance.model.values import ModelError
from appliance.store import replicated
from appliance.store.cib_store import CibStore
from guest.common import config
from guest.common.cli import EXIT_USAGE, Context
from guest.common.errors import UserError
from guest.common.schemas import ACCESS_POLICIES, drover_schema

if TYPE_CHECKING:
    from guest.agents.catalog import Catalog

OUTPUT_FORMATS = ("text", "json", "xml")


ACCESS_ENV = "DROVER_ACCESS"          # set by the appliance for commands proxied from a guest
CALLER_ENV = "DROVER_CALLER_NODE"     # the guest node such a command came from
EXIT_INSUFFICIENT_PRIV = 4            # Pacemaker's CRM_EX_INSUFFICIENT_PRIV


@dataclass(frozen=True)
class Settings:
    state_db: Path
    local_node: str
    ocf_root: Path
    access: str = "full"
    caller: str | None = None
    run_dir: Path | None = None       # where this host's daemon listens for changes (in a cluster)
    clustered: bool = False           # corosync.conf exists: every change goes through the daemon

    @property
    def caller_node(self) -> str:
        """The node a command speaks for by default: the guest it came from, else this host."""
        return self.caller or self.local_node

    def authorize(self, attribute_of: str | None = None) -> None:
        """Refuse a change the caller's access policy does not allow (commands run on the host may do all)."""
        if self.access == "full":
            return
        who = f"guest {self.caller}" if self.caller else "this caller"
        if self.access == "own-node-attributes" and attribute_of is not None and attribute_of == self.caller:
            return
        allowed = "only read" if self.access == "read-only" else f"change only the attributes of {self.caller}"
        raise UserError(f"permission denied: {who} may {allowed} (access policy {self.access})",
                        EXIT_INSUFFICIENT_PRIV)


_WARNED: set[str] = set()


def config_warning(message: str) -> None:
    """A configuration warning, printed once per command."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"drover: warning: {message}", file=sys.stderr)


def load_config(context: Context, tolerant: bool = False) -> config.Config:
    """drover.conf and its drop-ins; `tolerant` (read-only commands): a broken file is left out, with a warning."""
    return config.load(drover_schema(context.paths), context.paths, context.environ, tolerant, config_warning)


def settings(context: Context, tolerant: bool = False, loaded: config.Config | None = None) -> Settings:
    """`loaded`: drover.conf as the caller already read it (not read again)."""
    loaded = loaded or load_config(context, tolerant)
    node = loaded["cluster.node_name"] or socket.gethostname().split(".")[0]
    access = context.environ.get(ACCESS_ENV) or "full"
    if access not in ACCESS_POLICIES:
        access = "read-only"           # an unknown policy from a proxy grants nothing
    caller = context.environ.get(CALLER_ENV) or None
    clustered = (context.paths.corosync_dir / "corosync.conf").exists()
    return Settings(Path(loaded["state.dir"]) / "state.db", node, Path(loaded["agents.ocf_root"]), access, caller,
                    context.paths.run_dir, clustered)


def catalog(current: Settings) -> Catalog:
    from appliance.builtin_agents import BUILTINS  # agents' metadata: only commands that check agents pay
    from guest.agents.catalog import Catalog
    from guest.agents.standards import AgentSettings
    return Catalog(AgentSettings(ocf_root=current.ocf_root), BUILTINS)


@contextmanager
def open_store(current: Settings) -> Iterator[CibStore]:
    store = CibStore.open(current.state_db)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def model_errors() -> Iterator[None]:
    try:
        yield
    except ModelError as error:
        raise UserError(error.message) from None


def new_cluster_options(configuration: Configuration) -> Configuration:
    """A new drover cluster (no node yet, stonith-enabled never set): its hypervisor has no fence device, and
    guests are "fenced" by restarting their VM, which needs none. Written explicitly so an exported CIB means the
    same to Pacemaker. Any other configuration is returned as it is."""
    if configuration.nodes or "stonith-enabled" in configuration.cluster_options:
        return configuration
    return set_option(configuration, "cluster", "stonith-enabled", "false")


def cluster_of_hosts_options(before: Configuration, after: Configuration) -> Configuration:
    """A lone host that becomes a cluster of two or more (`before` -> `after`): stonith-enabled=true, as
    Pacemaker defaults to (a lost host's resources are recovered only once it is fenced). Set once, when the
    second host is added; setting it false again afterwards is the user's choice and stays."""
    def hosts(configuration: Configuration) -> int:
        return sum(1 for node in configuration.nodes if node.type == "member")
    if hosts(before) >= 2 or hosts(after) < 2 or after.cluster_options.get("stonith-enabled") != "false":
        return after
    return set_option(after, "cluster", "stonith-enabled", "true")


def edit_configuration(current: Settings, edit: Callable[[Configuration], Configuration],
                       attribute_of: str | None = None) -> Configuration:
    current.authorize(attribute_of)

    def with_local_node(configuration: Configuration) -> Configuration:
        return edit(ensure_node(new_cluster_options(configuration), current.local_node))

    if current.clustered:
        return _through_daemon(current, lambda store: replicated.configuration_change(store, edit))
    with model_errors(), open_store(current) as store:
        return store.edit_configuration(with_local_node)[0]


def edit_status(current: Settings, edit: Callable[[Status], Status], attribute_of: str | None = None) -> Status:
    current.authorize(attribute_of)
    if current.clustered:
        def prepare(store: CibStore):
            updated, change = replicated.status_edit(store, edit)
            return updated, None if change.empty else change
        return _through_daemon(current, prepare)
    with model_errors(), open_store(current) as store:
        return store.edit_status(edit)[0]


CHANGE_ATTEMPTS = 3


def _through_daemon(current: Settings, prepare):
    """In a cluster a change is made on this host's copy, then put in the cluster's order by this host's daemon;
    one that conflicts with a change made meanwhile elsewhere is made again on the new state."""
    from appliance.cluster import admin_socket
    assert current.run_dir is not None
    reason = ""
    for _attempt in range(CHANGE_ATTEMPTS):
        with model_errors(), open_store(current) as store:
            result, change = prepare(store)
        if change is None:
            return result
        try:
            applied, reason = admin_socket.send_change(current.run_dir, change)
        except admin_socket.NoAnswer as error:
            raise UserError(f"the change's outcome is unknown: {error}. It may have been applied in the cluster "
                            "all the same: look (drover config) before running it again") from None
        except OSError as error:
            raise UserError(f"drover is not running on this host ({error}): in a cluster every change goes "
                            "through it (systemctl start drover)") from None
        if applied:
            return result
    raise UserError(f"the change was not applied: {reason}")


def output_format(args: dict, allowed: tuple[str, ...] = OUTPUT_FORMATS) -> str:
    chosen = args.get("--output-as") or "text"
    if chosen not in allowed:
        raise UserError(f"invalid --output-as '{chosen}': expected one of {', '.join(allowed)}", EXIT_USAGE)
    return chosen


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
