"""How a running resource's definition changed since it was started on a node, as Pacemaker 2.1.5 judges it
(pcmk__rsc_agent_changed, check_action_definition): a restart, an agent reload, or nothing.

Rules: drover's own history keeps the parameters a resource was started with (and, for an agent that can
reload, the op-force-restart list of those it cannot): a change of only the others is a reload, any other a
restart. A history Pacemaker wrote is judged by its digests. A changed agent (class, provider or type) is a
restart. A fence device restarted for a changed definition has its node unfenced again when unfencing is in
use ("Device definition changed", "Device parameters changed"). Pure: reads the history entry, sets the
resource's changed_on, reload_on and unfence_reasons.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from appliance.model.status import (
    FORCE_RESTART_EXTRA,
    PARAMS_EXTRA,
    ResourceHistory,
    encode_params,
    pacemaker_digest,
    recorded_digest_matches,
)
from appliance.scheduler.working import WNode, WRsc


def note_changes(now_s: int, rsc: WRsc, node: WNode, entry: ResourceHistory) -> None:
    """`rsc` is active on `node`, where `entry` is its history; `now_s`: the scheduler's time (epoch seconds,
    0 for none) for rules in its instance attributes."""
    fence_device = rsc.agent is not None and rsc.agent.standard == "stonith"
    if not rsc.orphan and rsc.agent is not None and _agent_changed(rsc, entry):
        rsc.changed_on.add(node.name)
        if fence_device:
            rsc.unfence_reasons.setdefault(node.name, "Device definition changed")
        return
    with_params = next((op for op in entry.ops if op.extra.get(PARAMS_EXTRA)), None)
    started_with = with_params.extra.get(PARAMS_EXTRA) if with_params is not None else None
    wanted = rsc.params
    if rsc.param_rules:
        now = datetime.fromtimestamp(now_s, UTC).replace(tzinfo=None) if now_s else None
        wanted = encode_params(tuple(rsc.params_on(node.attrs, now).items()))
    change = None
    if started_with is not None and wanted is not None and started_with != wanted:
        reloadable = _reloadable_change(with_params.extra.get(FORCE_RESTART_EXTRA), started_with, wanted)
        change = "reload" if reloadable else "restart"      # Pacemaker: "restart due to resource definition change"
    elif started_with is None and rsc.params is not None and node.available():
        change = _digest_change(entry, json.loads(wanted or "{}"), fence_device)   # a history Pacemaker wrote
    if change == "restart":
        rsc.changed_on.add(node.name)
        if fence_device:
            rsc.unfence_reasons.setdefault(node.name, "Device parameters changed")
    elif change == "reload":
        rsc.reload_on.add(node.name)    # only what the agent can reload changed: reload-agent, no restart


def _agent_changed(rsc: WRsc, entry: ResourceHistory) -> bool:
    old, new = entry.agent, rsc.agent
    return (old.standard, old.provider or "", old.type) != (new.standard, new.provider or "", new.type)


def _digest_change(entry: ResourceHistory, params: dict[str, str], fence_device: bool) -> str | None:
    """How the newest one-time operation Pacemaker recorded differs from `params`: "restart" when its
    op-restart-digest (over the op-force-restart parameters) differs, or, without one, its op-digest (and its
    secure digest: crm_simulate assumes masked secrets) does; "reload" when only parameters the agent can
    reload changed (Pacemaker's reload-agent; a recorded restart digest says the agent can reload); None when
    it ran with these."""
    recorded = [op for op in entry.ops if op.interval_ms == 0 and op.operation != "stop" and op.op_status == 0
                and op.extra.get("op-digest")]
    if not recorded:
        return None
    last = max(recorded, key=lambda op: op.call_id)
    restart_digest, force_restart = last.extra.get("op-restart-digest"), last.extra.get(FORCE_RESTART_EXTRA)
    matches = recorded_digest_matches(last.extra, params, fence_device)
    if restart_digest is None:                   # an agent that cannot reload
        return None if matches else "restart"
    # the restart digest is over the op-force-restart parameters (over them all without that list)
    if restart_digest != pacemaker_digest(_restart_part(params, force_restart)):
        return "restart"
    return None if matches else "reload"


def _reloadable_change(force_restart: str | None, started_with: str, wanted: str) -> bool:
    """Whether only parameters outside the recorded op-force-restart list changed (a list is recorded only for
    agents that can reload)."""
    if force_restart is None:
        return False
    return _restart_part(json.loads(started_with), force_restart) == _restart_part(json.loads(wanted), force_restart)


def _restart_part(params: dict[str, str], force_restart: str | None) -> dict[str, str]:
    """The parameters named in an op-force-restart list (all of them without one)."""
    if force_restart is None:
        return params
    names = set(force_restart.split())
    return {name: value for name, value in params.items() if name in names}
