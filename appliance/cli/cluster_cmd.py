"""`drover cluster setup|status|node add|node remove|destroy`: corosync's configuration, as pcs writes it,
without pcsd, and corosync's view of the cluster.

Rules: drover writes /etc/corosync/corosync.conf (corosync_conf.render) and corosync's authkey (256 random
bytes, mode 0400, as corosync-keygen makes it) on the host it runs on; the same two files and
/etc/pacemaker/authkey go to every host (the command says which). An existing cluster is not replaced
without --force, nor destroyed while `drover daemon` runs; every file is written atomically.
"""

from __future__ import annotations

import secrets

from appliance.cli import state
from appliance.cli.resource_args import check_meta
from appliance.cluster import corosync_conf
from appliance.model import edits
from appliance.model.cluster import Configuration
from appliance.model.resources import Primitive, primitives
from appliance.model.values import ModelError
from appliance.store.lock import lock_held
from guest.common.cli import Command, Context
from guest.common.errors import UserError
from guest.common.files import write_atomic

COROSYNC_KEY_BYTES = 256

USAGE = """
Usage:
  drover cluster setup CLUSTERNAME HOSTS... [--force]
  drover cluster status
  drover cluster start [--all]
  drover cluster stop [--all] [--wait=SECONDS]
  drover cluster node add HOST [ADDRESSES...]
  drover cluster node remove HOST
  drover cluster node add-guest GUEST RESOURCE [OPTIONS...]
  drover cluster node remove-guest GUEST
  drover cluster destroy [--force]

setup: HOSTS as pcs takes them: `node1 addr=10.0.0.1 [addr=10.1.0.1] node2 addr=...`
(without addr= a host name is its address; every host with the same number of
addresses, one per knet link, up to 8); node ids are given in that order from 1.
Writes /etc/corosync/corosync.conf (knet, votequorum, two_node for two hosts)
and /etc/corosync/authkey on this host: copy both, and /etc/pacemaker/authkey,
to every host. node add/remove: change corosync.conf the same way (copy it to
every host again and run `corosync-cfgtool -R` on one). destroy: remove this
host's corosync.conf and authkey (drover's state is kept: it runs as a lone
host again). status: corosync's view from this host (quorum, votes, each
host's membership). stop: leave the cluster cleanly: what runs here is moved or
stopped first (as Pacemaker's shutdown), then drover and corosync stop; --all:
every host. start: start corosync and drover (systemd). add-guest: make the VM resource RESOURCE host the guest
node GUEST (meta remote-node=GUEST; OPTIONS remote-addr=, remote-port=,
remote-connect-timeout=), as pcs does; remove-guest undoes it.

Options:
  --force           setup: replace an existing corosync.conf; destroy: even though it is not drover's.
  --all             start/stop: every host (stop drains them all; start needs each host).
  --wait=SECONDS    stop: how long moving what runs here may take [default: 300].
"""


def _files(context: Context):
    directory = context.paths.corosync_dir
    return directory / "corosync.conf", directory / "authkey"


def _read(context: Context) -> corosync_conf.CorosyncConf:
    conf_path, _ = _files(context)
    try:
        text = conf_path.read_text()
    except FileNotFoundError:
        raise UserError(f"{conf_path} does not exist: set the cluster up with `drover cluster setup`") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {conf_path}: {error}") from None
    return corosync_conf.parse(text, str(conf_path))


def _write(context: Context, conf: corosync_conf.CorosyncConf) -> None:
    conf_path, key_path = _files(context)
    log_path = context.paths.resolve(corosync_conf.DEFAULT_LOGFILE)     # under DROVER_ROOT, as the key
    text = corosync_conf.render(conf, str(key_path), str(log_path))
    log_path.parent.mkdir(parents=True, exist_ok=True)            # corosync refuses a log it cannot open
    write_atomic(conf_path, text.encode(), 0o644)


def _copy_hint(context: Context, with_keys: bool) -> str:
    conf_path, key_path = _files(context)
    files = [str(conf_path)] + ([str(key_path), str(context.paths.default_authkey)] if with_keys else [])
    return "copy " + ", ".join(files) + " to every host"


def _setup(args: dict, context: Context) -> None:
    conf_path, key_path = _files(context)
    if conf_path.exists() and not args["--force"]:
        raise UserError(f"{conf_path} already exists (a cluster is set up); pass --force to replace it")
    conf = corosync_conf.conf_for(args["CLUSTERNAME"], corosync_conf.hosts_from_args(args["HOSTS"]))
    write_atomic(key_path, secrets.token_bytes(COROSYNC_KEY_BYTES), 0o400)
    _write(context, conf)
    print(f"wrote {conf_path} ({len(conf.hosts)} hosts: {', '.join(h.name for h in conf.hosts)}) and {key_path}")
    print(f"{_copy_hint(context, True)}, then start corosync and drover on each "
          "(systemctl enable --now corosync drover)")


GUEST_OPTIONS = ("remote-addr", "remote-port", "remote-connect-timeout")


def _guest(args: dict, context: Context) -> None:
    current = state.settings(context)
    guest = args["GUEST"]
    options = []
    for token in args["OPTIONS"]:
        name, sep, value = token.partition("=")
        if not sep or name not in GUEST_OPTIONS or not value:
            raise UserError(f"invalid guest option '{token}': expected one of " + ", ".join(f"{o}=VALUE"
                                                                                         for o in GUEST_OPTIONS))
        options.append((name, value))

    def add(configuration: Configuration) -> Configuration:
        resource = configuration.resource(args["RESOURCE"])
        if not isinstance(resource, Primitive):
            raise ModelError(f"resource '{args['RESOURCE']}' does not exist or is not a primitive")
        if any(p.guest_node == guest for p in primitives(configuration.resources)) or \
                any(n.name == guest for n in configuration.node_infos()):
            raise ModelError(f"'{guest}' is already a node of the cluster")
        for name, value in [("remote-node", guest), *options]:
            check_meta(name, value)
            configuration = edits.set_meta(configuration, resource.id, name, value)
        return configuration

    def remove(configuration: Configuration) -> Configuration:
        host = next((p for p in primitives(configuration.resources) if p.guest_node == guest), None)
        if host is None:
            raise ModelError(f"'{guest}' is not a guest node")
        for name in ("remote-node", *GUEST_OPTIONS):
            configuration = edits.set_meta(configuration, host.id, name, None)
        return configuration

    with state.model_errors():
        state.edit_configuration(current, add if args["add-guest"] else remove)


def _node(args: dict, context: Context) -> None:
    if args["add-guest"] or args["remove-guest"]:
        _guest(args, context)
        return
    conf = _read(context)
    if args["add"]:
        changed = corosync_conf.with_host(conf, [args["HOST"], *args["ADDRESSES"]])
        added = changed.hosts[-1]
        print(f"added {added.name} (node id {added.nodeid}, {', '.join(added.addresses)})")
    else:
        changed = corosync_conf.without_host(conf, args["HOST"])
        print(f"removed {args['HOST']}")
    _write(context, changed)
    print(f"{_copy_hint(context, args['add'])}; then run `corosync-cfgtool -R` on one host")


def _destroy(args: dict, context: Context) -> None:
    conf_path, key_path = _files(context)
    current = state.settings(context)
    if lock_held(current.state_db):
        raise UserError("drover daemon is running on this host: stop it first (systemctl stop drover corosync)")
    if conf_path.exists() and not args["--force"]:
        text = conf_path.read_text(errors="replace")
        if not text.startswith("# written by drover"):
            raise UserError(f"{conf_path} was not written by drover; pass --force to remove it anyway")
    removed = [str(p) for p in (conf_path, key_path) if p.exists()]
    for path in (conf_path, key_path):
        path.unlink(missing_ok=True)
    print(f"removed {', '.join(removed)}" if removed else "no cluster configuration on this host")
    print(f"drover's state ({current.state_db}) is kept: this host runs alone again")


def run(args: dict, context: Context) -> int:
    if args["status"]:
        from appliance.cli import cluster_status  # only this subcommand loads corosync's libraries
        return cluster_status.run(context)
    if args["start"] or args["stop"]:
        from appliance.cli import cluster_stop
        return (cluster_stop.start if args["start"] else cluster_stop.stop)(args, context)
    if args["setup"]:
        _setup(args, context)
    elif args["node"]:
        _node(args, context)
    else:
        _destroy(args, context)
    return 0


COMMAND = Command(USAGE, run)
