"""`drover resource agents|describe|standards|providers`: what can be created here, as pcs lists and describes it.

Rules: only agents installed on this host are listed (plus drover's built-in VirtualDomain and remote);
`describe` prints the agent's metadata in pcs's layout: the name and its description, its parameters with
`(required)` and defaults, and the operations `resource create` adds by default.
"""

from __future__ import annotations

import asyncio
import textwrap

from appliance.cli import state
from appliance.cli.resource_args import default_actions, default_interval
from appliance.fencing.agent import FenceAgentError, FenceAgents
from guest.agents.catalog import STANDARDS, AgentNotFound, parse_agent_name
from guest.agents.metadata import AgentMetadata
from guest.agents.process import ProcessRunner
from guest.common.errors import UserError


def fence_metadata(agent: str) -> AgentMetadata:
    """A fence agent's metadata (it reads `action=metadata` on stdin); FenceAgentError when it has none."""
    return asyncio.run(FenceAgents(ProcessRunner()).metadata(agent))


def standards(current: state.Settings) -> None:
    print("\n".join(state.catalog(current).standards()))


def providers(current: state.Settings) -> None:
    print("\n".join(state.catalog(current).providers()))


def agents(current: state.Settings, which: str | None) -> None:
    catalog = state.catalog(current)
    if which is None:
        names = [str(name) for standard in catalog.standards() for name in catalog.agents(standard)]
    else:
        standard, _, provider = which.partition(":")
        if standard not in STANDARDS:
            raise UserError(f"invalid standard '{standard}': expected one of {', '.join(STANDARDS)}")
        if provider and standard != "ocf":
            raise UserError(f"only ocf agents have a provider: '{which}'")
        if provider and provider not in catalog.providers():
            raise UserError(f"no ocf provider '{provider}' here; providers: {', '.join(catalog.providers())}")
        names = [name.type for name in catalog.agents(standard, provider or None)] if provider or standard != "ocf" \
            else [f"{name.provider}:{name.type}" for name in catalog.agents(standard)]
    print("\n".join(names) if names else "No agents found")


def describe(current: state.Settings, text: str) -> None:
    catalog = state.catalog(current)
    try:
        name = catalog.resolve(text)
        metadata = fence_metadata(name.type) if name.standard == "stonith" else catalog.metadata(name)
    except (AgentNotFound, FenceAgentError) as error:
        raise UserError(str(error)) from None
    standard, _, _ = parse_agent_name(text)
    lines = [f"Assumed agent name '{name}' (deduced from '{text}')", ""] if standard is None else []
    if metadata is None:
        print("\n".join([*lines, f"{name}", "", "(this standard has no metadata: no parameters)"]))
        return
    summary = metadata.description.strip().splitlines()[0] if metadata.description.strip() else ""
    lines += [f"{name}" + (f" - {summary}" if summary else ""), ""]
    rest = "\n".join(metadata.description.strip().splitlines()[1:]).strip()
    if rest:
        lines += [*textwrap.wrap(" ".join(rest.split()), 80), ""]
    lines.append("Resource options:")
    for parameter in metadata.parameters:
        notes = [note for note in ("required" if parameter.required else None,
                                   f"default: {parameter.default}" if parameter.default else None) if note]
        text_part = " ".join(parameter.description.split()) or "(no description)"
        head = f"  {parameter.name}" + (f" ({', '.join(notes)})" if notes else "") + ": "
        lines += textwrap.wrap(head + text_part, 100, subsequent_indent="    ")
    lines += ["", "Default operations:"]
    shown = [a for a in metadata.actions if a.name == "monitor"] if name.standard == "stonith" \
        else default_actions(metadata, promotable=True)
    for action in shown:
        options = [f"interval={action.interval or default_interval(action.name)}"] \
            + ([f"timeout={action.timeout}"] if action.timeout else []) \
            + ([f"role={action.role}"] if action.role else [])
        lines.append(f"  {action.name}: {' '.join(options)}")
    print("\n".join(lines))
