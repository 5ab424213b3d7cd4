"""What `drover status` says about fencing: failed and pending fencing actions as crm_mon lists them, and why a
lost host would not be recovered.

Rules (crm_mon 2.1.5's default --fence-history=1): a failed action is shown until a later one of the same
target succeeds; pending ones always. A cluster host that no configured device can fence is named in a
warning while stonith-enabled=true (its resources would stay where it was if it were lost), and so is a target
the controller gave up fencing (stonith-max-attempts failures in a row); with
stonith-enabled=false the warning says what that choice means. Pure.
"""

from __future__ import annotations

from appliance.fencing import plan as plans
from appliance.fencing.plan import PlanError
from appliance.model import fence_history
from appliance.model.cluster import Cib
from appliance.model.fence_history import FenceEvent, describe
from appliance.model.resources import primitives
from appliance.model.values import is_true


def shown_events(events: tuple[FenceEvent, ...]) -> tuple[tuple[FenceEvent, ...], tuple[FenceEvent, ...]]:
    """(failed, pending) as crm_mon shows them, newest first."""
    failed, pending, succeeded = [], [], set()
    for event in reversed(events):
        if event.state == "pending":
            pending.append(event)
        elif event.state == "done":
            succeeded.add(event.target)
        elif event.target not in succeeded:
            failed.append(event)
    return tuple(failed), tuple(pending)


def text_sections(failed: tuple[FenceEvent, ...], pending: tuple[FenceEvent, ...]) -> list[str]:
    lines: list[str] = []
    if failed:
        lines += ["", "Failed Fencing Actions:", *(f"  * {describe(e)}" for e in failed)]
    if pending:
        lines += ["", "Pending Fencing Actions:", *(f"  * {describe(e)}" for e in pending)]
    return lines


def warnings(cib: Cib) -> tuple[str, ...]:
    configuration = cib.configuration
    if not is_true(configuration.cluster_options.get("stonith-enabled", "true")):
        return ("stonith-enabled=false: the resources of a host that is lost are started elsewhere without "
                "fencing it first (a host that only lost its network may still run them)",)
    if not any(p.agent.standard == "stonith" for p in primitives(configuration.resources)):
        return ("stonith-enabled=true and no fence device is configured: no resource is started, as in Pacemaker "
                "(drover stonith create ..., or drover property set stonith-enabled=false to run without fencing)",)
    found = [_gave_up(cib, target) for target in sorted({e.target for e in cib.status.fencing})
             if fence_history.failures_in_a_row(cib.status.fencing, target)
             >= fence_history.max_attempts(configuration.cluster_options)]
    for info in configuration.node_infos():
        if info.kind != "cluster":
            continue
        try:
            plans.plan(configuration, cib.status, info.name)
        except PlanError as error:
            found.append(f"{error}: if {info.name} is lost, its resources are not recovered elsewhere")
    return tuple(found)


def _gave_up(cib: Cib, target: str) -> str:
    failed = fence_history.failures_in_a_row(cib.status.fencing, target)
    return (f"fencing {target} failed {failed} times in a row (stonith-max-attempts="
            f"{fence_history.max_attempts(cib.configuration.cluster_options)}): the cluster stopped trying; it tries "
            f"again when the configuration changes (a device fixed, a level added) or after "
            f"drover stonith history cleanup {target}")
