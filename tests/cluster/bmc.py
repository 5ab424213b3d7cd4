"""A BMC per test host, on a management network of its own: OpenIPMI's ipmi_sim whose chassis power is that
host's "machine" (tests/cluster/harness.py).

Layout: a second bridge `br1` in the bridge namespace holds 10.215.0.254, where every BMC listens (host N's on
UDP port 7000+N); each host namespace has `mgmt0` = 10.215.0.N on it. Cutting a host off (`cut`, its data
port down) leaves its BMC reachable, as a separate management LAN would.

The machine: while it runs, the host is powered. Powered off (ipmi_sim's SIGTERM), it appends
`poweroff hN` to the shared action log, SIGKILLs the process groups of the host's corosync and drover daemon
(the pids the harness writes to `machine.pids`) and the processes that stand for its VMs (`vm.pids`, written
by a test while a VM runs there: a guest's daemon dies with the host that ran its VM), loses the host's tmpfs
(/run's resource state files) and leaves a `powered-off` mark. Powered on again it only runs: the host's
cluster services are not started at boot (pcs's default), the test starts them when it wants the host back.
"""

from __future__ import annotations

from pathlib import Path

from tests.corosync_harness import Host, run
from tests.ipmi_sim import IpmiSim

ADDRESS, SUBNET = "10.215.0.254", "10.215.0"
MACHINE = """#!/bin/sh
# the machine of test host %(name)s (the marker is the last argument, for pgrep)
cut() {
  echo "poweroff %(name)s" >> %(log)s
  touch %(mark)s
  for pid in $(cat %(pids)s 2>/dev/null); do kill -KILL "-$pid" 2>/dev/null; done
  for pid in $(cat %(vms)s 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  rm -f %(run)s/drover-test-*.state
  exit 0
}
trap cut TERM INT
while :; do sleep 1 & wait $!; done
"""


def build_network(bridge_namespace: str, hosts: list[Host]) -> None:
    run("ip", "-n", bridge_namespace, "link", "add", "br1", "type", "bridge")
    run("ip", "-n", bridge_namespace, "addr", "add", f"{ADDRESS}/24", "dev", "br1")
    run("ip", "-n", bridge_namespace, "link", "set", "br1", "up")
    for host in hosts:
        port = f"m{host.index}"
        run("ip", "-n", host.namespace, "link", "add", "mgmt0", "type", "veth", "peer", "name", port, "netns",
            bridge_namespace)
        run("ip", "-n", host.namespace, "addr", "add", f"{SUBNET}.{host.index}/24", "dev", "mgmt0")
        run("ip", "-n", host.namespace, "link", "set", "mgmt0", "up")
        run("ip", "-n", bridge_namespace, "link", "set", port, "master", "br1")
        run("ip", "-n", bridge_namespace, "link", "set", port, "up")


def machine_pids(host: Host) -> Path:
    return host.directory / "machine.pids"


def vm_pids(host: Host) -> Path:
    return host.directory / "vm.pids"


def powered_off_mark(host: Host) -> Path:
    return host.directory / "powered-off"


def start_bmc(bridge_namespace: str, host: Host, log: Path) -> IpmiSim:
    machine = host.directory / "machine.sh"
    machine.write_text(MACHINE % {"name": host.name, "log": log, "mark": powered_off_mark(host),
                                  "pids": machine_pids(host), "vms": vm_pids(host), "run": host.directory / "run"})
    machine.chmod(0o755)
    return IpmiSim(host.directory / "bmc", ADDRESS, 7000 + host.index, bridge_namespace, str(machine)).start()


def device_args(host: Host, bmc: IpmiSim) -> list[str]:
    """`drover stonith create` arguments for a fence_ipmilan device that fences `host` through its BMC."""
    return [f"ipmi-{host.name}", "fence_ipmilan", *(f"{k}={v}" for k, v in bmc.params.items()),
            f"pcmk_host_list={host.name}"]
