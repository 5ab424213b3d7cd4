"""Live migration in the scheduler: what an interrupted migration left behind, and when a move is a migration.

Rules (Pacemaker 2.1.5's unpack_migrate_to_success/failure and
pcmk__rsc_can_migrate): a successful migration is migrate_to on the source,
migrate_from on the target, then a stop on the source; the start on the target
is implied. Only the newest one-off operation per node counts (a later stop on
the source ends the migration there). Reading what is left:
- migrate_to and migrate_from both done, no stop yet: "dangling", the resource
  runs on the target and is still to be stopped on the source;
- migrate_to done, migrate_from not (yet): "partial", the resource may run on
  both; if the target is still chosen the migration continues with migrate_from,
  else it is stopped on both and started where it goes;
- migrate_to failed: it may run on the target too (stopped there).
A move migrates when the primitive allows it (allow-migrate, remote connections
by default), is managed, not failed, no start pending, not a clone instance,
active on exactly one clean node (or on both sides of a partial migration) and
goes to a clean node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from appliance.model.status import OpRecord, ResourceHistory
from appliance.scheduler.working import WNode, WRsc

SOURCE, TARGET = "migrate_source", "migrate_target"     # lrm_rsc_op attributes, as Pacemaker records them


@dataclass(frozen=True)
class Migration:
    source: WNode
    target: WNode
    partial: bool           # migrate_to already done: only migrate_from (and the source's stop) remain


def _newer(op: OpRecord | None, than: OpRecord) -> bool:
    return op is not None and (op.last_rc_change or 0) > (than.last_rc_change or 0)


def _last_one_off(entry: ResourceHistory | None) -> OpRecord | None:
    if entry is None:
        return None
    ops = [op for op in entry.ops if op.interval_ms == 0 and op.op_status != 1]
    pending = [op for op in ops if op.op_status == -1]
    if pending:
        return pending[-1]
    return max(ops, key=lambda op: op.call_id, default=None)


def resolve(seen: Iterable[tuple[WRsc, WNode, OpRecord]], history: Iterable[ResourceHistory],
            node_named) -> None:
    """Apply what migrations left in the history (`seen`: primitives whose newest operation on a node is a
    migrate_to), as Pacemaker's unpack does."""
    entries = {(entry.node, entry.resource): entry for entry in history}
    for rsc, source, migrate_to in seen:
        target: WNode | None = node_named(migrate_to.extra.get(TARGET) or "")
        if target is None or target is source:
            continue
        on_target = _last_one_off(entries.get((target.name, rsc.id)))
        migrated = on_target is not None and on_target.operation == "migrate_from"
        if migrate_to.op_status == 0 and migrate_to.rc_code == 0:
            if migrated and on_target.op_status == 0 and on_target.rc_code == 0:
                if source in rsc.running_on:
                    rsc.running_on.remove(source)
                if source.online and not source.unclean:
                    rsc.dangling.append(source)
                continue
            if migrated and on_target.op_status != -1:
                continue                       # migrate_from failed: its own history keeps the target active
            if not _newer(on_target, migrate_to) and target.online:
                if target not in rsc.running_on:
                    rsc.running_on.append(target)
                if source.online:
                    rsc.partial_migration = (source, target)
            else:
                rsc.failed = True              # forces a restart, no migration
                rsc.allow_migrate = False
        elif not migrated and not _newer(on_target, migrate_to) and target.online and target not in rsc.running_on:
            rsc.running_on.append(target)      # a failed migrate_to may have left it running on the target


def plan(rsc: WRsc, fenced: set[str]) -> Migration | None:
    """How `rsc` moves in this transition if it migrates (its assignment is known), else None."""
    if not rsc.allow_migrate or rsc.variant != "primitive" or rsc.clone_parent() is not None:
        return None
    if not rsc.managed or rsc.blocked or rsc.failed or rsc.start_pending or rsc.orphan:
        return None
    target = rsc.assigned
    if target is None or rsc.next_role == "Stopped" or target.unclean or target.name in fenced:
        return None
    if rsc.partial_migration is not None:
        source, partial_target = rsc.partial_migration
        if target is partial_target and len(rsc.running_on) == 2 and source in rsc.running_on \
                and _clean(source, fenced):
            return Migration(source, target, partial=True)
        return None
    if len(rsc.running_on) != 1:
        return None
    source = rsc.running_on[0]
    if source is target or not _clean(source, fenced):
        return None
    return Migration(source, target, partial=False)


def _clean(node: WNode, fenced: set[str]) -> bool:
    return node.online and not node.unclean and node.name not in fenced
