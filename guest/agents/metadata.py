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

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)


_ROLE_NAMES = {"master": "Promoted", "slave": "Unpromoted", "promoted": "Promoted", "unpromoted": "Unpromoted"}


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
        parameters.append(Parameter(name, element.get("required", "0") in ("1", "true"),
                                    content.get("default") if content is not None else None,
                                    (short.text or "").strip() if short is not None else ""))
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
