"""Agents the appliance implements itself, described with the metadata their OCF originals publish.

Rules: ocf:heartbeat:VirtualDomain is run by drover's libvirt launcher (same
parameters as the resource-agents script) and ocf:pacemaker:remote is the
implicit guest/remote connection; both exist whether or not the scripts are
installed on the host.
"""

from __future__ import annotations

from guest.agents.metadata import Action, AgentMetadata, Parameter

VIRTUAL_DOMAIN = AgentMetadata(
    "VirtualDomain",
    (
        Parameter("config", required=True, description="Virtual machine configuration file (libvirt domain XML)"),
        Parameter("hypervisor", description="Hypervisor URI (default: the libvirt.uri setting)"),
        Parameter("force_stop", default="false", description="Always forcefully shut down (destroy)"),
        Parameter("migration_transport", description="Remote hypervisor transport"),
        Parameter("migration_user", description="Remote hypervisor user"),
        Parameter("migration_downtime", description="Live migration downtime"),
        Parameter("migration_speed", description="Live migration speed"),
        Parameter("migration_network_suffix", description="Migration network host name suffix"),
        Parameter("migrateport", description="Remote hypervisor migration port"),
        Parameter("remoteuri", description="Custom URI of the target's hypervisor (%n: the target node's name)"),
        Parameter("migrateuri", description="Custom URI for the migration's data (%n: the target node's name)"),
        Parameter("monitor_scripts", description="Scripts to monitor the guest"),
        Parameter("autoset_utilization_cpu", default="true", description="Set the cpu utilization"),
        Parameter("autoset_utilization_hv_memory", default="true", description="Set the hv_memory utilization"),
        Parameter("save_config_on_stop", default="false", description="Save the domain XML on stop"),
        Parameter("sync_config_on_stop", default="false", description="Sync the domain XML on stop"),
        Parameter("snapshot", description="Directory for state snapshots on stop"),
        Parameter("backingfile", description="Backing file for stateless guests"),
        Parameter("stateless", default="false", description="Start from the backing file every time"),
        Parameter("copyindirs", description="Directories to copy into the guest's directory"),
        Parameter("shutdown_mode", description="Shutdown mode passed to virsh shutdown --mode"),
        Parameter("start_resources", default="false", description="Start needed libvirt networks and pools"),
    ),
    (
        Action("start", timeout="90s"), Action("stop", timeout="90s"),
        Action("monitor", timeout="30s", interval="10s"),
        Action("migrate_to", timeout="120s"), Action("migrate_from", timeout="60s"),
    ),
    "Manages virtual domains through libvirt",
)

REMOTE = AgentMetadata(
    "remote",
    (
        Parameter("server", description="Server location (defaults to the resource name)"),
        Parameter("port", description="Server port (default 3121)"),
        Parameter("reconnect_interval", default="0", description="Interval between reconnect attempts"),
    ),
    (
        Action("start", timeout="60s"), Action("stop", timeout="60s"),
        Action("monitor", timeout="30s", interval="60s"),
        Action("migrate_to", timeout="60s"), Action("migrate_from", timeout="60s"),
    ),
    "Pacemaker Remote connection",
)

BUILTINS = {"ocf:heartbeat:VirtualDomain": VIRTUAL_DOMAIN, "ocf:pacemaker:remote": REMOTE}
