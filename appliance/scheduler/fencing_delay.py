"""priority-fencing-delay: how long the fencing of a lost cluster host waits, so that in a split the side
running the more important resources wins the fencing race (Pacemaker 2.1.5's node_priority_fencing_delay).

Rules: a node's priority is the sum of the `priority` of the resources found running on it (not failed; a
promoted instance counts its priority + 1, a zero priority counts nothing); a resource on a guest node counts
on the host its VM runs on too. The delay applies only to a cluster host that is not online here, when this
partition holds at most half of the cluster hosts, the hosts' priorities are not all equal, and the target's is
the highest. It adds to the device's pcmk_delay_base/pcmk_delay_max. Pure.
"""

from __future__ import annotations

from collections import Counter

from appliance.model.values import ModelError, parse_interval_ms
from appliance.scheduler.unpack import Working


def configured_ms(cluster_options) -> int:
    text = cluster_options.get("priority-fencing-delay")
    try:
        return max(parse_interval_ms(text, "priority-fencing-delay"), 0) if text else 0
    except ModelError:
        return 0


def node_priorities(working: Working) -> Counter[str]:
    priorities: Counter[str] = Counter()
    hosts_of = {n.name: [h.name for h in n.remote_rsc.running_on]
                for n in working.nodes if n.kind == "guest" and n.remote_rsc is not None}
    for rsc in working.all_primitives:
        if rsc.priority == 0 or rsc.failed:
            continue
        value = rsc.priority + (1 if rsc.role == "Promoted" else 0)
        for node in rsc.running_on:
            priorities[node.name] += value
            for host in hosts_of.get(node.name, []):
                priorities[host] += value
    return priorities


def priority_fencing_delay_ms(working: Working, target: str, delay_ms: int) -> int:
    """The delay (ms) the fencing of `target` waits for, given priority-fencing-delay = `delay_ms`."""
    node = working.node(target)
    if delay_ms <= 0 or node is None or node.kind != "cluster" or node.online:
        return 0
    members = [n for n in working.nodes if n.kind == "cluster"]
    if sum(1 for n in members if n.online) > len(members) // 2:
        return 0
    priorities = node_priorities(working)
    values = [priorities[n.name] for n in members]
    if min(values) == max(values) or priorities[target] < max(values):
        return 0
    return delay_ms
