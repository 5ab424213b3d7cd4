"""`drover cluster start|stop [--all]`: a host leaves the cluster cleanly, and comes back.

Rules: stop is Pacemaker's clean shutdown: the host asks for it (transient attribute `shutdown`, as
pacemaker-controld sets it), the DC moves or stops what runs there, and only once this host's copy shows
nothing running on it (bounded by --wait) does its daemon leave; then corosync is stopped (systemd's unit
where systemd runs this host; otherwise the command says so). `--all` drains every host, then every daemon
leaves. start starts corosync and drover through systemd. A host that is not in a cluster is told so.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from appliance.cli import state
from appliance.cluster import admin_socket
from appliance.engine.records import has_pending
from appliance.model.history import set_transient
from appliance.scheduler.unpack import unpack
from appliance.store.lock import lock_held
from guest.common.cli import EXIT_USAGE, Context
from guest.common.errors import UserError

DEFAULT_WAIT_S = 300
POLL_S = 0.5


def _systemd(context: Context) -> bool:
    return str(context.paths.root) == "/" and Path("/run/systemd/system").is_dir() and \
        shutil.which("systemctl") is not None


def _systemctl(*args: str) -> None:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise UserError(f"systemctl {' '.join(args)} failed: {done.stderr.strip()}")


def start(args: dict, context: Context) -> int:
    if not (context.paths.corosync_dir / "corosync.conf").exists():
        raise UserError("this host is not in a cluster: set one up with `drover cluster setup`")
    if args["--all"]:
        raise UserError("drover has no remote access to other hosts (no pcsd): run `drover cluster start` on each")
    if not _systemd(context):
        raise UserError("systemd does not run this host: start corosync, then `drover daemon`")
    _systemctl("start", "corosync", "drover")
    print("Starting Cluster...")
    return 0


def stop(args: dict, context: Context) -> int:
    current = state.settings(context)
    if not current.clustered:
        raise UserError("this host is not in a cluster: `systemctl stop drover` stops its daemon")
    try:
        wait_s = float(args["--wait"]) if args["--wait"] else DEFAULT_WAIT_S
    except ValueError:
        raise UserError(f"invalid --wait '{args['--wait']}': expected seconds", EXIT_USAGE) from None
    everyone = bool(args["--all"])
    if lock_held(current.state_db):
        hosts = _hosts(current) if everyone else [current.local_node]
        stamp = str(int(time.time()))

        def ask(status):
            for host in hosts:
                status = set_transient(status, host, "shutdown", stamp)
            return status
        state.edit_status(current, ask)
        print(f"Stopping Cluster ({', '.join(hosts)}): moving or stopping what runs there...")
        _drain(current, hosts, wait_s)
        try:
            admin_socket.send_leave(current.run_dir, everyone)
        except OSError as error:
            raise UserError(f"the drover daemon did not take the request to leave: {error}") from None
        _wait_daemon_gone(current, wait_s)
    if _systemd(context):
        _systemctl("stop", "drover", "corosync")
        print("Stopping corosync...")
    else:
        print("drover has left the cluster on this host; stop corosync now (systemd does not run this host)")
    if everyone:
        print("the other hosts' drover daemons have left too; stop corosync on each")
    return 0


def _hosts(current: state.Settings) -> list[str]:
    with state.open_store(current) as store:
        return [info.name for info in store.read().configuration.node_infos() if info.kind == "cluster"]


def _active_on(current: state.Settings, hosts: list[str]) -> list[str]:
    with state.open_store(current) as store:
        cib = store.read()
    working = unpack(cib)
    busy = [f"{p.id} on {n.name}" for p in working.all_primitives for n in p.running_on if n.name in hosts]
    pending = [f"{h.resource} on {h.node}" for h in cib.status.history if h.node in hosts and has_pending(h)]
    return busy + pending


def _drain(current: state.Settings, hosts: list[str], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while (left := _active_on(current, hosts)) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if left:
        raise UserError(f"still running after {wait_s:g}s: {', '.join(left)}; the host stays in the cluster "
                        "(see drover status)")


def _wait_daemon_gone(current: state.Settings, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while lock_held(current.state_db) and time.monotonic() < deadline:
        time.sleep(POLL_S / 5)
    if lock_held(current.state_db):
        raise UserError(f"the drover daemon did not stop within {wait_s:g}s")
