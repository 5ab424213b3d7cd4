"""What may appear in drover.conf and guest.conf: every option, its default and its meaning.

Defaults for files drover owns (authkey, state) come from Paths, so they follow
DROVER_ROOT; paths written in a file or the environment are taken literally.
The files shipped in config/ must list exactly these options (a test checks).
"""

from __future__ import annotations

from guest.common.config import (
    LOG_LEVELS,
    Option,
    Schema,
    parse_bind_address,
    parse_bool,
    parse_choice,
    parse_duration,
    parse_node_name,
    parse_optional_path,
    parse_path,
    parse_port,
    parse_positive_int,
    parse_text,
)
from guest.common.paths import Paths

ACCESS_POLICIES = ("read-only", "own-node-attributes", "full")


def _remote_options(paths: Paths) -> tuple[Option, ...]:
    return (
        Option("remote", "port", "3121", parse_port,
               "TCP port of the guest daemon (Pacemaker's remote-port).", env="PCMK_remote_port"),
        Option("remote", "authkey", str(paths.default_authkey), parse_path,
               "Shared key file; must not be readable by everyone.", env="PCMK_authkey_location"),
        Option("remote", "also_accept_authkey", "", parse_optional_path,
               "During key rotation: a second key file whose peers are accepted too."),
    )


def _log_option() -> Option:
    return Option("log", "level", "info", parse_choice(*LOG_LEVELS), "Lowest level logged.")


def drover_schema(paths: Paths) -> Schema:
    return Schema("drover", (
        Option("cluster", "node_name", "", parse_node_name,
               "This hypervisor's node name; empty means the host's short name."),
        Option("cluster", "cluster_name", "drover", parse_node_name, "Shown in status output."),
        *_remote_options(paths),
        Option("remote", "connect_timeout", "60s", parse_duration,
               "Default remote-connect-timeout for guest connections."),
        Option("state", "dir", str(paths.state_dir), parse_path, "Where state.db and saved inputs live."),
        Option("state", "scheduler_inputs_kept", "100", parse_positive_int,
               "How many scheduler inputs to keep for `drover simulate` replay."),
        Option("libvirt", "uri", "qemu:///system", parse_text, "Default libvirt URI for guests."),
        Option("libvirt", "undefine_on_delete", "no", parse_bool,
               "Undefine a VirtualDomain's domain once its deleted resource has stopped."),
        Option("agents", "ocf_root", "/usr/lib/ocf", parse_path,
               "Where OCF resource agents live (for resources on this host and agent metadata)."),
        _log_option(),
    ))


def guest_schema(paths: Paths) -> Schema:
    return Schema("guest", (
        *_remote_options(paths),
        Option("remote", "bind_address", "", parse_bind_address,
               "Address to listen on; empty means all addresses.", env="PCMK_remote_address"),
        Option("remote", "handshake_timeout", "10s", parse_duration,
               "A peer that has not authenticated within this time is dropped."),
        Option("remote", "frame_timeout", "10s", parse_duration,
               "A message must arrive whole within this time of its first byte."),
        Option("remote", "idle_timeout", "5min", parse_duration,
               "An authenticated peer silent this long is dropped (the hypervisor pings every 10s)."),
        Option("access", "policy", "own-node-attributes", parse_choice(*ACCESS_POLICIES),
               "What cluster tools inside this guest may change."),
        Option("agents", "ocf_root", "/usr/lib/ocf", parse_path, "Where OCF resource agents live."),
        _log_option(),
    ))
