"""Write the golden cases of bundles (tests/scheduler/bundles/) with real Pacemaker's results.

    python -m tests.scheduler.bundle_cases [OUT_DIR]

Replicas spread over hosts (replicas-per-host), IPs counted up from ip-range-start, the wrapped primitive cloned
into the guest nodes, promotable bundles (promotion scores read on the host with container-attribute-target=host,
a location for the Promoted role), constraints naming the bundle, naked containers, target-role. expected.json
comes from crm_simulate (tests/scheduler/oracle.py).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.scheduler.golden import document, settled, write_all

OUT = Path(__file__).resolve().parent / "bundles"


def _nv(owner: str, name: str, value: str) -> str:
    return f'<nvpair id="{owner}-{name}" name="{name}" value="{value}"/>'


def _bundle(bid: str, runtime: str = "podman", replicas: int = 2, per_host: int = 1, promoted: int = 0,
            ip: str | None = "192.168.122.131", inner: str | None = "Dummy", meta: str = "",
            inner_meta: str = "", inner_utilization: str = "") -> str:
    runtime_attrs = f'image="localhost/{bid}:latest" replicas="{replicas}" replicas-per-host="{per_host}"'
    if promoted:
        runtime_attrs += f' promoted-max="{promoted}"'
    network = (f'<network ip-range-start="{ip}" host-interface="eth0" host-netmask="24">'
               f'<port-mapping id="{bid}-port" port="80"/></network>') if ip else '<network control-port="3121"/>'
    storage = (f'<storage><storage-mapping id="{bid}-root" source-dir="/srv/{bid}" target-dir="/var/www/html" '
               'options="rw,Z"/></storage>')
    primitive = ""
    if inner:
        provider = "pacemaker"
        meta_block = f'<meta_attributes id="{bid}-inner-meta">{inner_meta}</meta_attributes>' if inner_meta else ""
        needs = (f'<utilization id="{bid}-rsc-u">{inner_utilization}</utilization>' if inner_utilization else "")
        primitive = (f'<primitive id="{bid}-rsc" class="ocf" provider="{provider}" type="{inner}">{meta_block}{needs}'
                     f'<operations><op id="{bid}-rsc-monitor" name="monitor" interval="10s"/></operations>'
                     '</primitive>')
    meta_block = f'<meta_attributes id="{bid}-meta">{meta}</meta_attributes>' if meta else ""
    return f'<bundle id="{bid}">{meta_block}<{runtime} {runtime_attrs}/>{network}{storage}{primitive}</bundle>'


def _ip(rid: str) -> str:
    return (f'<primitive id="{rid}" class="ocf" provider="heartbeat" type="IPaddr2">'
            f'<instance_attributes id="{rid}-ia">{_nv(rid, "ip", "192.168.122.50")}</instance_attributes></primitive>')


def _cib(resources: str, constraints: str = "", node_attrs: dict[int, str] | None = None, count: int = 3,
         capacity: dict[int, str] | None = None, options: str = "") -> str:
    node_attrs, capacity = node_attrs or {}, capacity or {}
    nodes = "".join(f'<node id="{n}" uname="node{n}">'
                    + (f'<instance_attributes id="node{n}-ia">{node_attrs[n]}</instance_attributes>'
                       if n in node_attrs else "")
                    + (f'<utilization id="node{n}-u">{capacity[n]}</utilization>' if n in capacity else "")
                    + "</node>" for n in range(1, count + 1))
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     'expected="member"/>' for n in range(1, count + 1))
    return document(nodes, resources, constraints, states, options)


def _storage_clone() -> str:
    return ('<clone id="storage-clone"><primitive id="storage" class="ocf" provider="pacemaker" type="Dummy"/>'
            '</clone>')


def _web_needing_storage(forgotten: tuple[tuple[str, str], ...] = ()) -> str:
    """Two hosts, each with storage and one replica of web running, which needs storage where it runs; then
    storage is kept off node1."""
    return settled(
        _cib(_storage_clone() + _bundle("web", ip=None),
             '<rsc_colocation id="web-with-storage" rsc="web" with-rsc="storage-clone" score="INFINITY"/>'
             '<rsc_order id="storage-then-web" first="storage-clone" then="web"/>', count=2),
        '<rsc_location id="storage-avoids-node1" rsc="storage-clone" node="node1" score="-INFINITY"/>', forgotten)


def _on_a_remote_node() -> str:
    """Two hosts and remote node remote1; bundle web may only run on remote1 (its containers there, their
    connections on the hosts), all running once crm_simulate has run the first transition; remote1's status
    comes last."""
    nodes = ('<node id="1" uname="node1"/><node id="2" uname="node2"/>'
             '<node id="remote1" uname="remote1" type="remote"/>')
    resources = ('<primitive id="remote1" class="ocf" provider="pacemaker" type="remote">'
                 '<operations><op id="remote1-monitor" name="monitor" interval="30s"/></operations></primitive>'
                 + _bundle("web", replicas=1, ip=None))
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     'expected="member"/>' for n in (1, 2))
    constraints = ('<rsc_location id="web-on-remote1" rsc="web" node="remote1" score="INFINITY"/>'
                   '<rsc_location id="remote1-on-node1" rsc="remote1" node="node1" score="100"/>')
    root = ET.fromstring(settled(settled(document(nodes, resources, constraints, states))))
    status = root.find("status")
    remote = status.find("node_state[@uname='remote1']")
    status.remove(remote)
    status.append(remote)          # after the guest node's: its container is known to run only in a later pass
    return ET.tostring(root, encoding="unicode") + "\n"


def cases() -> dict[str, str]:
    host_scores = {1: _nv("node1", "master-db-rsc", "5"), 2: _nv("node2", "master-db-rsc", "10")}
    return {
        # two replicas on three hosts, each with its IP and guest node running one instance of the wrapped Dummy
        "replicas-spread-over-hosts": _cib(_bundle("web")),
        # four replicas, two per host: two hosts fill up, IPs count up from the range start
        "replicas-per-host": _cib(_bundle("web", replicas=4, per_host=2, ip="10.0.0.10")),
        # containers alone (no wrapped primitive, no guest nodes)
        "naked-containers": _cib(_bundle("cache", runtime="docker", replicas=3, inner=None, ip=None)),
        # a control-port instead of an IP range: guest nodes without IPs
        "control-port-only": _cib(_bundle("web", ip=None)),
        # a bundle told to stay stopped
        "target-role-stopped": _cib(_bundle("web", meta=_nv("web", "target-role", "Stopped"))),
        # a standby host takes no replica
        "standby-host": _cib(_bundle("web", replicas=3), node_attrs={2: _nv("node2", "standby", "on")}),
        # a location keeps the bundle off a host; a plain IP is colocated with it and ordered before it
        "constraints-name-the-bundle": _cib(
            _ip("vip") + _bundle("web"),
            '<rsc_location id="web-avoids-node1" rsc="web" node="node1" score="-INFINITY"/>'
            '<rsc_colocation id="vip-with-web" rsc="vip" with-rsc="web" score="INFINITY"/>'
            '<rsc_order id="vip-then-web" first="vip" then="web" kind="Optional"/>'),
        # a promotable bundle: promotion scores read on the hosts (container-attribute-target=host)
        "promotion-score-on-the-host": _cib(
            _bundle("db", replicas=2, promoted=1, inner="Stateful",
                    inner_meta=_nv("db-inner", "container-attribute-target", "host")), node_attrs=host_scores),
        # placement-strategy=utilization: the wrapped primitive's needs are its container's; the small host is
        # left out, a third replica does not fit
        "utilization-on-the-containers": _cib(
            _bundle("web", replicas=3, inner_utilization=_nv("web-rsc-u", "cpu", "4")),
            capacity={1: _nv("node1-u", "cpu", "8"), 2: _nv("node2-u", "cpu", "2"), 3: _nv("node3-u", "cpu", "4")},
            options=_nv("opts", "placement-strategy", "utilization")),
        # a location for the Promoted role names the bundle: the promotion goes to that guest node
        "promoted-location-on-a-guest": _cib(
            _bundle("db", replicas=3, promoted=1, inner="Stateful"),
            '<rsc_location id="db-promote-where" rsc="db" role="Promoted" node="db-2" score="100"/>'),
        # a primitive before the bundle is placed first (CIB order), the bundle's connections with its replicas
        "placed-in-configuration-order": _cib(_ip("vip") + _bundle("web")),
        # the clone a bundle needs leaves node1, the only host its replica could use: the replica stops there,
        # the wrapped instance inside it first (its start is unrunnable once its container's is)
        "replica-stops-with-the-clone-it-needs": _web_needing_storage(),
        # the same, node2's history of the stopping replica's connection cleaned up: it is probed there (its
        # probe waits for a container start only when the container is not active anywhere)
        "stopping-replica-connection-probed": _web_needing_storage(forgotten=(("node2", "web-0"),)),
        # a bundle whose container runs on a remote node: its guest node is up once the remote node's history
        # says the container runs (read in a later pass), so nothing is recovered
        "replica-on-a-remote-node": _on_a_remote_node(),
        # the bundle must start after a resource that cannot: its containers are placed but cannot start, so
        # their connections are not probed anywhere
        "containers-placed-but-unable-to-start": _cib(
            '<primitive id="gate" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="gate-meta">'
            + _nv("gate", "target-role", "Stopped") + '</meta_attributes></primitive>'
            '<primitive id="storage" class="ocf" provider="pacemaker" type="Dummy"/>' + _bundle("web", ip=None),
            '<rsc_order id="gate-then-storage" first="gate" then="storage"/>'
            '<rsc_order id="storage-then-web" first="storage" then="web"/>'),
    }


def main() -> int:
    return write_all(cases(), OUT, "bundles", "bundle_cases.py")


if __name__ == "__main__":
    sys.exit(main())
