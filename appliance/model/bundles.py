"""Pacemaker's <bundle>: a container image run as replicas, each with an optional IP and, when it wraps a
primitive, a guest node inside the container that runs one instance of it.

Rules: a bundle is kept as written (the runtime element's, network's, port and storage mappings' attributes
unchanged, so an export gives Pacemaker the same bundle) and expanded as Pacemaker 2.1.5's bundle.c does:
replica N has the container `<id>-<runtime>-N`, the IP `<id>-ip-<address>` (addresses counted up from
ip-range-start), and, when the bundle wraps a primitive and has an ip-range-start or a control-port, the guest node
`<id>-N`; the wrapped primitive is cloned as `<id>-clone` (`<id>-master` when promoted-max is set) with one instance
per replica. Drover schedules bundles; it does not run containers (the controller says so).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from appliance.model.attributes import Attributes
from appliance.model.resources import Primitive
from appliance.model.values import ModelError, shown

RUNTIMES = ("docker", "rkt", "podman")
RUNTIME_ATTRIBUTES = ("image", "replicas", "replicas-per-host", "masters", "promoted-max", "run-command", "network",
                      "options")
NETWORK_ATTRIBUTES = ("ip-range-start", "control-port", "host-interface", "host-netmask", "add-host")
PORT_ATTRIBUTES = ("id", "port", "internal-port", "range")
STORAGE_ATTRIBUTES = ("id", "source-dir", "source-dir-root", "target-dir", "options")


@dataclass(frozen=True)
class Bundle:
    id: str
    runtime: str                                   # docker | rkt | podman
    runtime_options: Attributes                    # that element's attributes: image, replicas, ...
    network: Attributes | None = None              # <network>'s attributes (None: no <network>)
    port_mappings: tuple[Attributes, ...] = ()
    storage: tuple[Attributes, ...] | None = None  # storage-mapping attributes (None: no <storage>)
    meta: Attributes = field(default_factory=Attributes)
    params: Attributes = field(default_factory=Attributes)
    primitive: Primitive | None = None
    description: str | None = None
    position: int = 0                              # among <resources>' children, kept for the export

    def _count(self, name: str, minimum: int, default: int) -> int:
        text = self.runtime_options.get(name)
        try:
            return max(int(text), minimum) if text is not None else default
        except ValueError:
            return default

    @property
    def promoted_max(self) -> int:
        text = self.runtime_options.get("promoted-max") or self.runtime_options.get("masters")
        try:
            return max(int(text), 0) if text is not None else 0
        except ValueError:
            return 0

    @property
    def replicas(self) -> int:
        """replicas, else promoted-max when set, else 1 (Pacemaker's default)."""
        if self.runtime_options.get("replicas") is None and self.promoted_max > 0:
            return self.promoted_max
        return self._count("replicas", 1, 1)

    @property
    def manages_child(self) -> bool:
        """Whether the wrapped primitive gets guest nodes: Pacemaker needs an ip-range-start or a control-port."""
        network = self.network or Attributes()
        return self.primitive is not None and bool(network.get("ip-range-start") or network.get("control-port"))

    @property
    def replicas_per_host(self) -> int:
        network = self.network or Attributes()
        if not network.get("ip-range-start") and network.get("control-port"):
            return 1                    # Pacemaker: a control-port without an IP range allows one per host
        return self._count("replicas-per-host", 1, 1)

    @property
    def child_clone_id(self) -> str:
        return f"{self.id}-{'master' if self.promoted_max else 'clone'}"

    def replica_list(self) -> tuple[Replica, ...]:
        start = (self.network or Attributes()).get("ip-range-start")
        found = []
        for number in range(self.replicas):
            address = _address(start, number) if start else None
            found.append(Replica(number, f"{self.id}-{self.runtime}-{number}",
                                 f"{self.id}-ip-{address}" if address else None, address,
                                 f"{self.id}-{number}" if self.manages_child else None))
        return tuple(found)


@dataclass(frozen=True)
class Replica:
    number: int
    container: str
    ip_id: str | None
    address: str | None
    guest_node: str | None


def _address(start: str, offset: int) -> str | None:
    try:
        return str(ipaddress.IPv4Address(start) + offset)
    except (ValueError, ipaddress.AddressValueError):
        return None


def check(bundle: Bundle) -> None:
    """What Pacemaker's unpacking refuses (the bundle would not exist there)."""
    if bundle.runtime not in RUNTIMES:
        raise ModelError(f"bundle {shown(bundle.id)}: the container runtime must be one of {', '.join(RUNTIMES)}")
    if not bundle.runtime_options.get("image"):
        raise ModelError(f"bundle {shown(bundle.id)}: <{bundle.runtime}> needs an image")
    start = (bundle.network or Attributes()).get("ip-range-start")
    if start and _address(start, 0) is None:
        raise ModelError(f"bundle {shown(bundle.id)}: invalid ip-range-start '{start}': expected an IPv4 address")
    if bundle.primitive is not None and not bundle.manages_child:
        raise ModelError(f"bundle {shown(bundle.id)}: cannot control {shown(bundle.primitive.id)} inside it without "
                         "either ip-range-start or control-port in its <network>")


def in_resource_order(resources: tuple, bundles: tuple[Bundle, ...]) -> list:
    """Resources and bundles as <resources> lists them: each bundle at its position (after the rest when
    resources were deleted since)."""
    merged: list = []
    rest = list(resources)
    for bundle in sorted(bundles, key=lambda b: b.position):
        while len(merged) < bundle.position and rest:
            merged.append(rest.pop(0))
        merged.append(bundle)
    return merged + rest
