"""Failures over time: fail counts, failure-timeout expiry, and a container's fail count including its guest's.

Rules: pure, as Pacemaker 2.1.5 counts them. A failed result older than the
resource's failure-timeout (a remote connection's reconnect_interval, which
overrides it) is ignored (check_operation_expiry); a fail count is ignored
once its newest failure is older than that (pe_get_failcount, effective); a
container's count includes the resources it holds, so a guest whose
connection cannot start keeps its VM off that node too
(pcmk__threshold_reached with pe_fc_fillers). `next_expiry` tells when the
answer changes (Pacemaker's cluster-recheck time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from appliance.model.history import base_id
from appliance.model.status import FailCount, OpRecord
from appliance.model.values import INFINITY, ModelError, parse_interval_ms
from appliance.scheduler.working import WRsc

if TYPE_CHECKING:
    from appliance.scheduler.unpack import Working

EXEC_ERROR = 4                        # PCMK_EXEC_ERROR: judged by the result code, as a completed operation
EXEC_NOT_INSTALLED = 7                # PCMK_EXEC_NOT_INSTALLED: such failures never expire


def interval_seconds(value: str | None) -> int:
    """An interval meta attribute (failure-timeout, reconnect_interval) in whole seconds; bad or missing: 0."""
    if not value:
        return 0
    try:
        return parse_interval_ms(value) // 1000
    except ModelError:
        return 0


def expired(rsc: WRsc, op: OpRecord, stonith_enabled: bool, now: int) -> bool:
    """check_operation_expiry: this failed result is older than the resource's failure timeout."""
    if rsc.failure_timeout_s <= 0 or op.last_rc_change is None or now < op.last_rc_change + rsc.failure_timeout_s:
        return False
    if op.op_status == EXEC_NOT_INSTALLED:
        return False
    # should_ignore_failure_timeout: a remote connection's recurring monitor failure waits for the node's fencing
    return not (rsc.reconnect_interval_s and stonith_enabled and op.interval_ms and op.operation == "monitor")


def record_fail_counts(working: Working, fail_counts: Iterable[FailCount], legacy: bool = False) -> None:
    """`legacy`: also count the per-resource fail counts of Pacemaker 1.x (operation '')."""
    for fail in fail_counts:
        if not fail.operation and not legacy:
            continue
        key = (fail.resource, fail.node)
        working.fail_counts[key] = working.fail_counts.get(key, 0) + fail.count
        if fail.last_failure:
            working.last_failures[key] = max(working.last_failures.get(key, 0), fail.last_failure)


def failcount(working: Working, rsc: WRsc, node: str, effective: bool = True, fillers: bool = True) -> int:
    """pe_get_failcount: the sum over the resource's fail counts on `node`; `effective` drops them all once the
    newest is older than its failure-timeout; `fillers` adds those of what a container holds (its guest's
    connection), as pcmk__threshold_reached counts them."""
    clone = rsc.clone_parent()
    names = {rsc.id} if clone is not None and clone.unique else {rsc.id, base_id(rsc.id)}
    keys = [key for key in ((name, node) for name in names) if key in working.fail_counts]
    total = sum(working.fail_counts[key] for key in keys)
    last = max((working.last_failures.get(key, 0) for key in keys), default=0)
    if effective and total > 0 and last > 0 and rsc.failure_timeout_s and working.now > last + rsc.failure_timeout_s:
        total = 0
    if fillers and rsc.guest_node:
        connection = working.by_id.get(rsc.guest_node)
        if connection is not None and connection.is_remote_connection:
            total += failcount(working, connection, node, effective, fillers=False)
    if fillers and not rsc.guest_node:       # a container counts the failures of what runs in it
        for filler in working.fillers.get(rsc.id, ()):
            total += failcount(working, filler, node, effective, fillers=False)
    return min(total, INFINITY)


def next_expiry(working: Working) -> int | None:
    """When the next unexpired failure expires (epoch seconds): the scheduler's answer may change then
    (Pacemaker's cluster-recheck time)."""
    due = []
    for (name, _node), last in working.last_failures.items():
        rsc = working.by_id.get(name) or working.by_id.get(base_id(name))
        if rsc is not None and rsc.failure_timeout_s and last + rsc.failure_timeout_s >= working.now:
            due.append(last + rsc.failure_timeout_s + 1)
    return min(due, default=None)


def expired_fail_counts(working: Working) -> list[tuple[str, str]]:
    """(resource, node) of fail counts that have expired and can be cleared (Pacemaker's clear_failcount)."""
    found = []
    for (name, node), count in working.fail_counts.items():
        rsc = working.by_id.get(name) or working.by_id.get(base_id(name))
        last = working.last_failures.get((name, node), 0)
        if count > 0 and rsc is not None and rsc.failure_timeout_s and last > 0 and \
                working.now > last + rsc.failure_timeout_s:
            found.append((name, node))
    return found
