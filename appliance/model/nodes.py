"""Nodes: configured cluster and remote nodes, and the node kinds a configuration implies.

Rules: a cluster node is a <node> of type member; a remote node is the id of an
ocf:pacemaker:remote primitive; a guest node is the remote-node meta value of a
VM primitive. Remote and guest nodes need no <node> entry; one exists only to
hold their permanent attributes (type="remote").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from appliance.model.attributes import Attributes

NODE_KINDS = ("cluster", "remote", "guest")
KIND_ATTRIBUTE = {"cluster": "cluster", "remote": "remote", "guest": "container"}   # a node kind's #kind value


@dataclass(frozen=True)
class Node:
    name: str                     # uname
    id: str                       # Pacemaker node id (cluster nodes: numeric; remote: the name)
    type: str = "member"          # member | remote | ping
    attributes: Attributes = field(default_factory=Attributes)    # permanent (lifetime forever)
    utilization: Attributes = field(default_factory=Attributes)
    description: str | None = None


@dataclass(frozen=True)
class NodeInfo:
    """A node as status and the scheduler see it, whatever declared it."""

    name: str
    kind: str                     # cluster | remote | guest
    resource: str | None = None   # the VM (guest) or connection (remote) primitive


def numeric_casecmp(a: str, b: str) -> int:
    """Pacemaker's pcmk__numeric_strcasecmp: "node9" < "node10" < "remotenode9"."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            end_a, end_b = i, j
            while end_a < len(a) and a[end_a].isdigit():
                end_a += 1
            while end_b < len(b) and b[end_b].isdigit():
                end_b += 1
            key_a, key_b = (int(a[i:end_a]), end_a - i), (int(b[j:end_b]), end_b - j)
            if key_a != key_b:
                return -1 if key_a < key_b else 1
            i, j = end_a, end_b
            continue
        lower_a, lower_b = a[i].lower(), b[j].lower()
        if lower_a != lower_b:
            return -1 if lower_a < lower_b else 1
        i, j = i + 1, j + 1
    return (i < len(a)) - (j < len(b))


node_name_key = functools.cmp_to_key(numeric_casecmp)
