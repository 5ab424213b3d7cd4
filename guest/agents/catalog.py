"""Which agents exist on this host, resolving short names like pcs, and their metadata.

Rules: OCF agents are executable files under OCF_ROOT/resource.d/PROVIDER/;
LSB scripts under the init directory; systemd units under the usual unit
directories; `builtins` are agents a program implements itself (the
appliance's VirtualDomain) and win over files. Metadata is read by running
the agent's `meta-data` action with a short timeout.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from guest.agents.metadata import AgentMetadata, MetadataError, parse_metadata
from guest.agents.process import ProcessRunner
from guest.agents.standards import AgentSettings

STANDARDS = ("ocf", "lsb", "service", "systemd", "stonith")
UNIT_DIRS = (Path("/etc/systemd/system"), Path("/run/systemd/system"), Path("/lib/systemd/system"),
             Path("/usr/lib/systemd/system"))
METADATA_TIMEOUT_S = 10.0


class AgentNotFound(Exception):
    def __init__(self, message: str, forceable: bool = False, ambiguous: bool = False):
        super().__init__(message)
        self.forceable = forceable   # the name is well-formed; only its presence here could not be confirmed
        self.message_is_ambiguity = ambiguous   # a bare type several providers have: --force cannot choose


@dataclass(frozen=True)
class AgentName:
    standard: str
    type: str
    provider: str | None = None

    def __str__(self) -> str:
        return f"{self.standard}:{self.provider}:{self.type}" if self.provider else f"{self.standard}:{self.type}"


def parse_agent_name(text: str) -> tuple[str | None, str | None, str]:
    """'ocf:heartbeat:apache' / 'systemd:httpd' / 'apache' -> (standard, provider, type); checks nothing else."""
    parts = text.split(":")
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        return parts[0], None, parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise AgentNotFound(f"invalid agent name '{text}': expected [STANDARD:[PROVIDER:]]TYPE")


@dataclass(frozen=True)
class Catalog:
    settings: AgentSettings = field(default_factory=AgentSettings)
    builtins: Mapping[str, AgentMetadata] = field(default_factory=dict)   # "ocf:heartbeat:VirtualDomain" -> meta
    unit_dirs: tuple[Path, ...] = UNIT_DIRS

    def _ocf_path(self, provider: str, agent_type: str) -> Path:
        return self.settings.ocf_root / "resource.d" / provider / agent_type

    def _is_ocf(self, provider: str, agent_type: str) -> bool:
        path = self._ocf_path(provider, agent_type)
        return path.is_file() and os.access(path, os.X_OK)

    def providers(self) -> list[str]:
        base = self.settings.ocf_root / "resource.d"
        found = {p.name for p in base.iterdir() if p.is_dir()} if base.is_dir() else set()
        found |= {name.split(":")[1] for name in self.builtins if name.startswith("ocf:")}
        return sorted(found)

    def agents(self, standard: str, provider: str | None = None) -> list[AgentName]:
        """Every agent of `standard` (and `provider`, for ocf) installed here, sorted as pcs lists them."""
        found: set[AgentName] = set()
        if standard == "ocf":
            for each in ([provider] if provider else self.providers()):
                directory = self.settings.ocf_root / "resource.d" / each
                if directory.is_dir():
                    found |= {AgentName("ocf", f.name, each) for f in directory.iterdir()
                              if not f.name.startswith(".") and self._is_ocf(each, f.name)}
            found |= {AgentName("ocf", name.split(":")[2], name.split(":")[1]) for name in self.builtins
                      if name.startswith("ocf:") and (provider is None or name.split(":")[1] == provider)}
        elif standard == "lsb" and self.settings.lsb_dir.is_dir():
            found = {AgentName("lsb", f.name) for f in self.settings.lsb_dir.iterdir()
                     if f.is_file() and os.access(f, os.X_OK)}
        elif standard in ("systemd", "service"):
            found = {AgentName(standard, f.name.removesuffix(".service")) for d in self.unit_dirs if d.is_dir()
                     for f in d.iterdir() if f.name.endswith(".service") and "@" not in f.name}
        elif standard == "stonith":
            found = {AgentName("stonith", f.name) for d in (Path("/usr/sbin"), Path("/sbin")) if d.is_dir()
                     for f in d.glob("fence_*") if f.is_file()}
        return sorted(found, key=lambda name: (name.provider or "", name.type.lower()))

    def standards(self) -> list[str]:
        """The standards with at least one agent here."""
        return [standard for standard in ("lsb", "ocf", "service", "stonith", "systemd") if self.agents(standard)]

    def exists(self, name: AgentName) -> bool:
        if str(name) in self.builtins:
            return True
        if name.standard == "ocf":
            return bool(name.provider) and self._is_ocf(name.provider, name.type)
        if name.standard == "lsb":
            return (self.settings.lsb_dir / name.type).is_file()
        unit = name.type if "." in name.type else f"{name.type}.service"
        if name.standard == "systemd":
            return any((d / unit).exists() for d in self.unit_dirs)
        if name.standard == "service":
            return any((d / unit).exists() for d in self.unit_dirs) or (self.settings.lsb_dir / name.type).is_file()
        if name.standard == "stonith":
            return any((Path(d) / name.type).is_file() for d in ("/usr/sbin", "/sbin"))
        return False

    def resolve(self, text: str) -> AgentName:
        """A full name is checked; a bare TYPE must match exactly one OCF provider, as pcs requires."""
        standard, provider, agent_type = parse_agent_name(text)
        if standard is None:
            matches = [AgentName("ocf", agent_type, p) for p in self.providers()
                       if str(AgentName("ocf", agent_type, p)) in self.builtins or self._is_ocf(p, agent_type)]
            if len(matches) == 1:
                return matches[0]
            if matches:
                names = ", ".join(f"'{m}'" for m in matches)
                raise AgentNotFound(f"Multiple agents match '{agent_type}', please specify full name: {names}",
                                    ambiguous=True)
            raise AgentNotFound(f"Unable to find agent '{agent_type}', try specifying its full name")
        if standard not in STANDARDS:
            raise AgentNotFound(f"invalid standard '{standard}' in '{text}': expected one of {', '.join(STANDARDS)}")
        if standard == "ocf" and not provider:
            raise AgentNotFound(f"ocf agents need a provider: ocf:PROVIDER:{agent_type}")
        if standard != "ocf" and provider:
            raise AgentNotFound(f"only ocf agents have a provider: {standard}:{agent_type}")
        name = AgentName(standard, agent_type, provider)
        if not self.exists(name):
            raise AgentNotFound(f"Agent '{name}' is not installed or does not provide valid metadata", True)
        return name

    def metadata(self, name: AgentName) -> AgentMetadata | None:
        """OCF metadata (None for standards that have none)."""
        builtin = self.builtins.get(str(name))
        if builtin is not None:
            return builtin
        if name.standard != "ocf" or not name.provider:
            return None
        env = {**self.settings.base_env, "OCF_ROOT": str(self.settings.ocf_root),
               "OCF_RESOURCE_INSTANCE": "drover-metadata", "OCF_RESOURCE_TYPE": name.type,
               "OCF_RESOURCE_PROVIDER": name.provider}
        argv = (str(self._ocf_path(name.provider, name.type)), "meta-data")
        completed = asyncio.run(ProcessRunner().run(argv, env, METADATA_TIMEOUT_S))
        if completed.exit_code != 0:
            reason = completed.spawn_error or ("timed out" if completed.timed_out else f"exit {completed.exit_code}")
            raise AgentNotFound(f"Agent '{name}' does not provide valid metadata: {reason}", True)
        try:
            return parse_metadata(completed.output, str(name))
        except MetadataError as error:
            raise AgentNotFound(str(error), True) from None
