"""OCF agent metadata (the XML an agent prints for `meta-data`) as data.

Pure: parse_metadata turns the XML into AgentMetadata (parameters with
required/default, actions with timeout/interval/role); the caller runs the
agent. Malformed metadata is an error naming the agent, never a crash.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


class MetadataError(Exception):
    pass


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool = False
    default: str | None = None
    description: str = ""
    reloadable: bool = False          # OCF 1.1: a change of it is applied by reload-agent, no restart
    unique: bool = False              # before OCF 1.1 Pacemaker read unique="0" as reloadable


@dataclass(frozen=True)
class Action:
    name: str
    timeout: str | None = None
    interval: str | None = None
    role: str | None = None
    depth: str | None = None


@dataclass(frozen=True)
class AgentMetadata:
    name: str
    parameters: tuple[Parameter, ...] = ()
    actions: tuple[Action, ...] = ()
    description: str = ""
    ocf_version: str = "1.0"          # <version>: OCF 1.1 agents say whether they can be promoted

    @property
    def provides_promotability(self) -> bool:
        return {"promote", "demote"} <= {action.name for action in self.actions}

    @property
    def reload_action(self) -> str | None:
        """How the agent applies changed parameters in place, as Pacemaker's controller reads it: "reload-agent"
        (OCF 1.1 or later with that action), "reload" (an older agent with a reload action), else None."""
        names = {action.name for action in self.actions}
        newer = _version_at_least(self.ocf_version, (1, 1))
        if newer and "reload-agent" in names:
            return "reload-agent"
        return "reload" if not newer and "reload" in names else None

    def restart_parameters(self) -> tuple[str, ...] | None:
        """The parameters whose change needs a restart (Pacemaker's op-force-restart list): those not marked
        reloadable (OCF 1.1), those marked unique (older agents); None when the agent cannot reload at all."""
        action = self.reload_action
        if action is None:
            return None
        if action == "reload-agent":
            return tuple(p.name for p in self.parameters if not p.reloadable)
        return tuple(p.name for p in self.parameters if p.unique)

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)


def _version_at_least(text: str, wanted: tuple[int, ...]) -> bool:
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts) >= wanted


_ROLE_NAMES = {"master": "Promoted", "slave": "Unpromoted", "promoted": "Promoted", "unpromoted": "Unpromoted"}


def _flag(element: ET.Element, name: str) -> bool:
    return element.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


def parse_metadata(text: str, agent: str) -> AgentMetadata:
    if "<!DOCTYPE" in text and "[" in text.split("<!DOCTYPE", 1)[1].split(">", 1)[0]:
        raise MetadataError(f"metadata of {agent} declares entities; refused")
    try:
        root = ET.fromstring(text[text.find("<"):] if "<" in text else text)
    except ET.ParseError as error:
        raise MetadataError(f"metadata of {agent} is not valid XML: {error}") from None
    if root.tag != "resource-agent":
        raise MetadataError(f"metadata of {agent} does not start with <resource-agent>")
    parameters = []
    for element in root.iter("parameter"):
        name = element.get("name")
        if not name:
            continue
        content = element.find("content")
        short = element.find("shortdesc")
        parameters.append(Parameter(name, _flag(element, "required"),
                                    content.get("default") if content is not None else None,
                                    (short.text or "").strip() if short is not None else "",
                                    _flag(element, "reloadable"), _flag(element, "unique")))
    actions = []
    for element in root.iter("action"):
        name = element.get("name")
        if not name:
            continue
        role = element.get("role")
        actions.append(Action(name, element.get("timeout"), element.get("interval"),
                              _ROLE_NAMES.get(role.lower(), role) if role else None, element.get("depth")))
    short = root.find("shortdesc")
    return AgentMetadata(root.get("name", agent), tuple(parameters), tuple(actions),
                         (short.text or "").strip() if short is not None else "",
                         (root.findtext("version") or "1.0").strip())
