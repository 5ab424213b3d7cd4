"""Shutdown locks (the cluster option shutdown-lock): what ran on a host that shut down cleanly waits for that
host instead of moving, as Pacemaker 2.1.5 does (pcmk__primitive_shutdown_lock, unpack_shutdown_lock).

Rules: only a primitive outside clones and bundles that is no fence device nor remote connection is locked. A
lock comes from the history (the shutdown-lock its node's entry recorded when it stopped there) unless it
expired (shutdown-lock-limit) or the resource runs again somewhere, which cancels it; or it is taken now, for a
resource active on exactly one node that is shutting down cleanly (not unclean), at the node's shutdown time. A
locked resource is banned from every other node. Pure: reads and updates the unpacked working set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.model.status import ResourceHistory
from appliance.scheduler.working import WNode, WRsc

if TYPE_CHECKING:
    from appliance.scheduler.unpack import Working


def note_recorded(working: Working, rsc: WRsc | None, entry: ResourceHistory, node: WNode) -> None:
    """Pacemaker's unpack_shutdown_lock: the lock a history entry records, unless it has expired."""
    if not working.options.shutdown_lock or not entry.shutdown_lock or rsc is None:
        return
    limit = working.options.shutdown_lock_limit_s
    if limit > 0 and working.now > entry.shutdown_lock + limit:
        return                                    # "Shutdown lock ... expired": its history is cleared
    rsc.lock_node, rsc.lock_time = node, entry.shutdown_lock


def apply(working: Working) -> None:
    if not working.options.shutdown_lock:
        return
    for rsc in working.all_primitives:
        if not _lockable(rsc):
            rsc.lock_node = None
            continue
        if rsc.lock_node is not None and rsc.running_on:
            rsc.lock_node = None                  # started elsewhere after all: the lock is cancelled
        elif rsc.lock_node is None and len(rsc.running_on) == 1:
            node = rsc.running_on[0]
            if node.shutdown and not node.unclean:
                rsc.lock_node, rsc.lock_time = node, _shutdown_time(working, node)
        if rsc.lock_node is not None:
            working.bans.extend((rsc, node.name) for node in working.nodes if node is not rsc.lock_node)


def expiry(working: Working) -> int | None:
    """When the next lock expires (epoch seconds): the scheduler's answer may change then."""
    limit = working.options.shutdown_lock_limit_s
    if not working.options.shutdown_lock or limit <= 0:
        return None
    return min((rsc.lock_time + limit + 1 for rsc in working.all_primitives if rsc.lock_node is not None),
               default=None)


def _lockable(rsc: WRsc) -> bool:
    return rsc.clone_parent() is None and rsc.bundled_in is None and not rsc.is_remote_connection and \
        (rsc.agent is None or rsc.agent.standard != "stonith")


def _shutdown_time(working: Working, node: WNode) -> int:
    try:
        when = int(node.attrs.get("shutdown") or "0")
    except ValueError:
        when = 0
    return when or working.now

