"""Nodes: configured cluster and remote nodes, and the node kinds a configuration implies.

Rules: a cluster node is a <node> of type member; a remote node is the id of an
ocf:pacemaker:remote primitive; a guest node is the remote-node meta value of a
VM primitive. Remote and guest nodes need no <node> entry; one exists only to
hold their permanent attributes (type="remote").
"""

from __future__ import annotations

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
