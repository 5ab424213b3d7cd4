"""What an agent can reload, as Pacemaker's controller learns it: from the agent's meta-data, asked through the
node's executor (the agent lives where the resource runs: on the host, or in a guest) once per node and agent.

It gives the op-force-restart list the controller records beside a start's parameters (the scheduler then
reloads instead of restarting when only other parameters change) and the action that applies changed
parameters in place: "reload-agent", or "reload" for an agent older than OCF 1.1 (Pacemaker's controller maps
the scheduler's reload-agent to it the same way).

Rules: only OCF agents reload; meta-data that cannot be had or read counts as "cannot reload" (a restart, the
safe side) and is asked again once the node's connection is new.
"""

from __future__ import annotations

import dataclasses
import logging

from appliance.engine.env import NodeExecutor
from guest.agents.metadata import AgentMetadata, MetadataError, parse_metadata
from guest.agents.results import AgentSpec, ExecStatus, Operation

log = logging.getLogger(__name__)
METADATA_TIMEOUT_MS = 5_000
REMOTE_CONNECTION = AgentSpec("ocf", "remote", "pacemaker")     # drover's own guest connections: nothing to reload


class ReloadSupport:
    def __init__(self) -> None:
        self._known: dict[tuple[str, str], AgentMetadata | None] = {}

    async def _metadata(self, node: str, executor: NodeExecutor, op: Operation) -> AgentMetadata | None:
        if op.agent.standard != "ocf" or op.agent == REMOTE_CONNECTION:
            return None
        key = (node, f"{op.agent.standard}:{op.agent.provider}:{op.agent.type}")
        if key not in self._known:
            asked = dataclasses.replace(op, action="meta-data", interval_ms=0, timeout_ms=METADATA_TIMEOUT_MS,
                                        params={}, meta={})
            try:
                result = await executor.execute(asked)
            except Exception as error:           # (never a cancellation) asked again next time
                log.warning("meta-data of %s on %s: %s; it is restarted for any change", key[1], node, error)
                return None
            metadata = None
            if result.exec_status == ExecStatus.DONE and result.rc == 0:
                try:
                    metadata = parse_metadata(_xml_part(result.output), key[1])
                except MetadataError:
                    metadata = None
            self._known[key] = metadata
        return self._known[key]

    async def restart_list(self, node: str, executor: NodeExecutor, op: Operation) -> str | None:
        """Pacemaker's op-force-restart value (" a b ", names between spaces), or None when the agent cannot
        reload (then every change of its parameters is a restart)."""
        metadata = await self._metadata(node, executor, op)
        names = metadata.restart_parameters() if metadata is not None else None
        return None if names is None else " " + "".join(f"{name} " for name in names)

    async def action(self, node: str, executor: NodeExecutor, op: Operation) -> str:
        """The action that applies the new parameters in place: the agent's reload-agent, or its older reload."""
        metadata = await self._metadata(node, executor, op)
        return "reload" if metadata is not None and metadata.reload_action == "reload" else "reload-agent"

    def forget(self, node: str) -> None:
        """The node's connection is new (a guest rebooted or was rebuilt): its agents may be others now."""
        self._known = {key: value for key, value in self._known.items() if key[0] != node}


def _xml_part(output: str) -> str:
    """The agent's output holds stderr too: the XML is what lies between <resource-agent and its end tag."""
    start = output.find("<resource-agent")
    end = output.rfind("</resource-agent>")
    return output[start:end + len("</resource-agent>")] if start >= 0 and end > start else output
