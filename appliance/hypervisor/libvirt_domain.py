"""ocf:heartbeat:VirtualDomain done natively with libvirt-python: start, stop, monitor a guest from its XML file.

Rules: the only module (with libvirt_events.py) that imports libvirt. Same
parameters and return codes as the resource-agents script: `config` (domain
XML file, required), `hypervisor` (URI, default from drover.conf), `force_stop`
(destroy at once), `stateless` (create without defining), `shutdown_mode`.
start defines the domain from the file (so edits to the file take effect)
and boots it; stop asks the guest to shut down, waits until the stop timeout
less a margin, then destroys it; monitor maps the domain state (running,
blocked, paused, pmsuspended, in shutdown = running; shut off or missing = not
running; crashed = failed). libvirt calls block, so they run in a daemon
thread; one connection per URI is kept and reopened when it dies. A stop
whose caller gave up (timed out, or the daemon stops) ends its wait at once
and leaves the domain as it is.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import libvirt

from guest.agents.results import ExecStatus, OcfRc, Operation, OpResult
from guest.common.aio import in_thread, within

log = logging.getLogger(__name__)

STOP_MARGIN_S = 5.0          # VirtualDomain keeps 5 s of the stop timeout for the forced destroy
POLL_S = 0.1
_RUNNING_STATES = {libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED, libvirt.VIR_DOMAIN_PAUSED,
                   libvirt.VIR_DOMAIN_PMSUSPENDED, libvirt.VIR_DOMAIN_SHUTDOWN}
_SHUTDOWN_MODES = {
    "acpi": libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, "agent": libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
    "initctl": libvirt.VIR_DOMAIN_SHUTDOWN_INITCTL, "signal": libvirt.VIR_DOMAIN_SHUTDOWN_SIGNAL,
    "paravirt": libvirt.VIR_DOMAIN_SHUTDOWN_PARAVIRT,
}


class AgentFailure(Exception):
    def __init__(self, rc: int, reason: str):
        super().__init__(reason)
        self.rc = rc
        self.reason = reason


@dataclass(frozen=True)
class MigrationParams:
    """How VirtualDomain reaches the target's hypervisor and sends the domain's state there."""

    transport: str = ""          # migration_transport: qemu+TRANSPORT://target/system
    user: str = ""               # migration_user
    network_suffix: str = ""     # migration_network_suffix: target host name + suffix (a migration network)
    port: str = ""               # migrateport
    remote_uri: str = ""         # remoteuri (%n: the target)
    migrate_uri: str = ""        # migrateuri (%n: the target)
    speed_mib_s: int = 0         # migration_speed
    downtime_ms: int = 0         # migration_downtime

    def target_host(self, target: str) -> str:
        if not self.network_suffix:
            return target
        first, dot, rest = target.partition(".")
        return f"{first}{self.network_suffix}{dot}{rest}"

    def hypervisor_uri(self, hypervisor: str, target: str) -> str:
        """VirtualDomain's remoteuri: the local URI with the target's host (and the transport) put in."""
        if self.remote_uri:
            return self.remote_uri.replace("%n", target)
        host = self.target_host(target)
        if _USER.fullmatch(self.user):
            host = f"{self.user}@{host}"
        transport = f"+{self.transport}" if self.transport else ""
        match = _URI.fullmatch(hypervisor)
        if match is None:
            raise AgentFailure(OcfRc.ERR_CONFIGURED, f"cannot make the target's URI from hypervisor={hypervisor}")
        return f"{match['driver']}{transport}://{host}{match['port']}/{match['path']}"

    def data_uri(self, hypervisor: str, target: str) -> str:
        """Where the domain's memory goes ('' = libvirt's choice: the target's host name)."""
        if self.migrate_uri:
            return self.migrate_uri.replace("%n", target)
        if self.network_suffix and hypervisor.split("+")[0].split(":")[0] == "qemu":
            return f"tcp://{self.target_host(target)}" + (f":{self.port}" if self.port else "")
        return ""


_URI = re.compile(r"(?P<driver>[^/]+?)://[^/:]*(?P<port>:?[0-9]*)/(?P<path>.*)")
_USER = re.compile(r"[a-z][-a-z0-9]*")


@dataclass(frozen=True)
class DomainParams:
    config: Path
    uri: str
    force_stop: bool
    stateless: bool
    shutdown_mode: int
    migration: MigrationParams = MigrationParams()

    @classmethod
    def from_params(cls, params: Mapping[str, str], default_uri: str) -> DomainParams:
        config = params.get("config", "")
        if not config:
            raise AgentFailure(OcfRc.ERR_CONFIGURED, "the config parameter (domain XML file) is required")
        modes = 0
        for mode in filter(None, params.get("shutdown_mode", "").split(",")):
            if mode not in _SHUTDOWN_MODES:
                raise AgentFailure(OcfRc.ERR_CONFIGURED, f"unknown shutdown_mode '{mode}'")
            modes |= _SHUTDOWN_MODES[mode]
        migration = MigrationParams(
            params.get("migration_transport", ""), params.get("migration_user", ""),
            params.get("migration_network_suffix", ""), params.get("migrateport", ""), params.get("remoteuri", ""),
            params.get("migrateuri", ""), _count(params, "migration_speed"), _count(params, "migration_downtime"))
        return cls(Path(config), params.get("hypervisor") or default_uri, _true(params.get("force_stop")),
                   _true(params.get("stateless")), modes, migration)


def _count(params: Mapping[str, str], name: str) -> int:
    value = params.get(name, "").strip() or "0"
    if not value.isdigit():
        raise AgentFailure(OcfRc.ERR_CONFIGURED, f"{name} must be a whole number, not '{value}'")
    return int(value)


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y")


def domain_name(config: Path) -> str:
    """The <name> of a domain XML file (VirtualDomain reads it the same way)."""
    try:
        root = ElementTree.fromstring(config.read_bytes())
    except OSError as error:
        raise AgentFailure(OcfRc.ERR_INSTALLED, f"cannot read {config}: {error.strerror}") from None
    except ElementTree.ParseError as error:
        raise AgentFailure(OcfRc.ERR_CONFIGURED, f"{config}: not valid XML: {error}") from None
    name = (root.findtext("name") or "").strip()
    if root.tag != "domain" or not name:
        raise AgentFailure(OcfRc.ERR_CONFIGURED, f"{config}: not a libvirt <domain> with a <name>")
    return name


def _with_uuid(xml: str, existing: libvirt.virDomain | None) -> str:
    """A file without <uuid> would get a new one, which libvirt refuses for an existing name: keep the old."""
    if existing is None:
        return xml
    root = ElementTree.fromstring(xml)
    if root.find("uuid") is not None:
        return xml
    uuid = ElementTree.Element("uuid")
    uuid.text = existing.UUIDString()
    root.insert(1, uuid)
    return ElementTree.tostring(root, encoding="unicode")


class Hypervisors:
    """Open libvirt connections by URI, shared by every domain operation (thread-safe)."""

    def __init__(self, on_open: Callable[[str, libvirt.virConnect], None] | None = None) -> None:
        libvirt.registerErrorHandler(lambda _context, _error: None, None)   # errors are reported, not printed
        self.on_open = on_open
        self._lock = threading.Lock()
        self._connections: dict[str, libvirt.virConnect] = {}

    def connection(self, uri: str) -> libvirt.virConnect:
        with self._lock:
            conn = self._connections.get(uri)
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except libvirt.libvirtError:
                    pass
            try:
                conn = libvirt.open(uri)
            except libvirt.libvirtError as error:
                raise AgentFailure(OcfRc.ERR_GENERIC, f"cannot connect to {uri}: {error.get_error_message()}") \
                    from None
            self._connections[uri] = conn
        if self.on_open is not None:
            self.on_open(uri, conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                with contextlib.suppress(libvirt.libvirtError):
                    conn.close()
            self._connections.clear()


class VirtualDomain:
    """The agent's actions as blocking methods returning an OCF rc (run them through `run`)."""

    def __init__(self, hypervisors: Hypervisors, default_uri: str):
        self.hypervisors = hypervisors
        self.default_uri = default_uri

    async def run(self, operation: Operation, wall_clock=time.time) -> OpResult:
        started = wall_clock()
        begun = time.monotonic()
        try:
            params = DomainParams.from_params(operation.params, self.default_uri)
            action = {"start": self.start, "stop": self.stop, "monitor": self.monitor,
                      "status": self.monitor, "validate-all": self.validate, "migrate_to": self.migrate_to,
                      "migrate_from": self.migrate_from}.get(operation.action)
            if action is None:
                return OpResult(ExecStatus.NOT_SUPPORTED, OcfRc.UNIMPLEMENTED, started=started,
                                exit_reason=f"VirtualDomain has no action '{operation.action}'")
            abandoned = threading.Event()
            try:
                call = in_thread(action, params, operation, abandoned, name=f"VirtualDomain {operation.action}")
                rc = await within(call, operation.timeout_ms / 1000)
            finally:
                abandoned.set()
            reason = ""
        except AgentFailure as failure:
            if operation.is_probe and failure.rc in (OcfRc.ERR_INSTALLED, OcfRc.ERR_CONFIGURED):
                rc, reason = OcfRc.NOT_RUNNING, ""      # a probe where the config is missing: not running here
            elif operation.action == "stop" and failure.rc == OcfRc.ERR_INSTALLED:
                # as resource-agents' VirtualDomain: without its config the domain cannot be named, so it is taken
                # as stopped; a failed stop would leave the resource blocked for good
                log.warning("stop %s: %s; taking the domain as stopped", operation.resource, failure.reason)
                rc, reason = OcfRc.OK, ""
            else:
                rc, reason = failure.rc, failure.reason
        except TimeoutError:
            return OpResult(ExecStatus.TIMEOUT, OcfRc.ERR_GENERIC, exit_reason="timed out", started=started,
                            duration_ms=int((time.monotonic() - begun) * 1000))
        return OpResult(ExecStatus.DONE, int(rc), exit_reason=reason, started=started,
                        duration_ms=int((time.monotonic() - begun) * 1000))

    def _lookup(self, params: DomainParams) -> tuple[libvirt.virConnect, str, libvirt.virDomain | None]:
        name = domain_name(params.config)
        conn = self.hypervisors.connection(params.uri)
        try:
            return conn, name, conn.lookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return conn, name, None
            raise AgentFailure(OcfRc.ERR_GENERIC, f"{name}: {error.get_error_message()}") from None

    @staticmethod
    def _state(domain: libvirt.virDomain | None) -> int | None:
        if domain is None:
            return None
        try:
            return domain.state()[0]
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise AgentFailure(OcfRc.ERR_GENERIC, f"domain state: {error.get_error_message()}") from None

    def validate(self, params: DomainParams, operation: Operation, abandoned: threading.Event) -> int:
        domain_name(params.config)
        return OcfRc.OK

    def monitor(self, params: DomainParams, operation: Operation, abandoned: threading.Event) -> int:
        _, name, domain = self._lookup(params)
        state = self._state(domain)
        if state in _RUNNING_STATES:
            return OcfRc.OK
        if state == libvirt.VIR_DOMAIN_CRASHED:
            raise AgentFailure(OcfRc.ERR_GENERIC, f"{name} crashed")
        return OcfRc.NOT_RUNNING

    def start(self, params: DomainParams, operation: Operation, abandoned: threading.Event) -> int:
        conn, name, domain = self._lookup(params)
        if self._state(domain) in _RUNNING_STATES:
            return OcfRc.OK
        xml = _with_uuid(params.config.read_text(), domain)
        try:
            if params.stateless:
                if domain is not None and domain.isPersistent():
                    domain.undefine()
                conn.createXML(xml, 0)
            else:
                domain = conn.defineXML(xml)
                domain.create()
        except libvirt.libvirtError as error:
            raise AgentFailure(OcfRc.ERR_GENERIC, f"failed to start {name}: {error.get_error_message()}") from None
        return OcfRc.OK

    def stop(self, params: DomainParams, operation: Operation, abandoned: threading.Event) -> int:
        _, name, domain = self._lookup(params)
        if self._state(domain) not in _RUNNING_STATES and self._state(domain) != libvirt.VIR_DOMAIN_CRASHED:
            return OcfRc.OK
        assert domain is not None
        if not params.force_stop:
            deadline = time.monotonic() + max(operation.timeout_ms / 1000 - STOP_MARGIN_S, 0.0)
            try:
                domain.shutdownFlags(params.shutdown_mode)
                while time.monotonic() < deadline:
                    if self._state(domain) not in _RUNNING_STATES:
                        return OcfRc.OK
                    if abandoned.wait(POLL_S):
                        return OcfRc.ERR_GENERIC      # nobody waits for this result any more
            except libvirt.libvirtError:
                pass       # no ACPI, agent missing, ...: fall through to destroy
        try:
            domain.destroy()
        except libvirt.libvirtError as error:
            if self._state(domain) in _RUNNING_STATES:
                raise AgentFailure(OcfRc.ERR_GENERIC, f"failed to destroy {name}: {error.get_error_message()}") \
                    from None
        return OcfRc.OK

    def migrate_to(self, params: DomainParams, operation: Operation, abandoned: threading.Event) -> int:
        """Live-migrate the running domain to the target's hypervisor, peer to peer (the source's libvirtd
        connects to the target's); a caller that gives up (timeout, daemon stopping) aborts the migration."""
        _, name, domain = self._lookup(params)
        if self._state(domain) not in _RUNNING_STATES:
            raise AgentFailure(OcfRc.ERR_GENERIC, f"{name}: migrate_to: not active locally")
        assert domain is not None
        target = operation.meta.get("migrate_target", "")
        if not target:
            raise AgentFailure(OcfRc.ERR_CONFIGURED, f"{name}: migrate_to without a migration target")
        migration = params.migration
        remote = migration.hypervisor_uri(params.uri, target)
        typed: dict[str, object] = {}
        data_uri = migration.data_uri(params.uri, target)
        if data_uri:
            typed[libvirt.VIR_MIGRATE_PARAM_URI] = data_uri
        if migration.speed_mib_s:
            typed[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = migration.speed_mib_s
        flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
        if not params.stateless:
            flags |= libvirt.VIR_MIGRATE_PERSIST_DEST      # defined on the target, as a start there would define it
        done = threading.Event()
        watcher = threading.Thread(target=self._watch_migration, args=(domain, migration, abandoned, done),
                                   name=f"migration of {name}", daemon=True)
        watcher.start()
        log.info("%s: live migration to %s (%s%s)", name, target, remote, f", data to {data_uri}" if data_uri else "")
        try:
            domain.migrateToURI3(remote, typed, flags)
        except libvirt.libvirtError as error:
            raise AgentFailure(OcfRc.ERR_GENERIC, f"{name}: live migration to {target} failed: "
                                                  f"{error.get_error_message()}") from None
        finally:
            done.set()
        return OcfRc.OK

    @staticmethod
    def _watch_migration(domain: libvirt.virDomain, migration: MigrationParams, abandoned: threading.Event,
                         done: threading.Event) -> None:
        """Set the downtime once the migration runs (as VirtualDomain does, after 2 s); abort it when the
        caller gives up."""
        if migration.downtime_ms and not done.wait(2.0):
            with contextlib.suppress(libvirt.libvirtError):
                domain.migrateSetMaxDowntime(migration.downtime_ms, 0)
        while not done.is_set():
            if abandoned.wait(POLL_S):
                with contextlib.suppress(libvirt.libvirtError):
                    domain.abortJob()
                return

    def migrate_from(self, params: DomainParams, operation: Operation, abandoned: threading.Event) -> int:
        """The target's side: done once the domain runs here (VirtualDomain waits for its monitor)."""
        while True:
            _, name, domain = self._lookup(params)
            state = self._state(domain)
            if state in _RUNNING_STATES:
                log.info("%s: live migration from %s succeeded", name, operation.meta.get("migrate_source", "?"))
                return OcfRc.OK
            if abandoned.wait(POLL_S * 5):
                return OcfRc.ERR_GENERIC

    def undefine(self, params: Mapping[str, str]) -> None:
        """Forget a stopped domain's definition (when its resource is deleted and the settings ask for it)."""
        domain_params = DomainParams.from_params(params, self.default_uri)
        _, _, domain = self._lookup(domain_params)
        if domain is not None and self._state(domain) not in _RUNNING_STATES:
            try:
                domain.undefine()
            except libvirt.libvirtError as error:
                raise AgentFailure(OcfRc.ERR_GENERIC, error.get_error_message()) from None
