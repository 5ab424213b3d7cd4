"""Write the golden cases of lost hosts and remote nodes whose connection's host is lost (tests/scheduler/remotes/)
with real Pacemaker's results; tests/test_scheduler_actions.py compares each transition with crm_simulate's.

    python -m tests.scheduler.remote_cases [OUT_DIR]

The connection's host must be fenced. When the connection can run elsewhere it moves, and what runs on the
remote node is monitored anew over it; when it can run nowhere, the remote node is fenced too (what is active
there can neither be stopped nor trusted). A remote node whose own attribute disables resource discovery is not
probed. A host that left cleanly but whose history says something still runs there is fenced before that runs
elsewhere; so is a remote node whose connection is down and whose history says so, unless that connection can
start again (Pacemaker revokes that fencing).
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.model.status import pacemaker_digest
from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "remotes"
KEY = "0:0:{target}:d4c0de00-0000-4000-8000-000000000000"


def _op(rid: str, task: str, call: int, rc: int = 0, interval: int = 0, target: int = 0) -> str:
    key = KEY.format(target=target)
    op_id = f"{rid}_{task}_{interval}" if interval else f"{rid}_last_0"
    # Pacemaker's digest of the (parameterless) definition, so nothing counts as changed
    digest = pacemaker_digest({"CRM_meta_timeout": "20000"} if interval else {})
    return (f'<lrm_rsc_op id="{op_id}" operation_key="{rid}_{task}_{interval}" operation="{task}" '
            f'call-id="{call}" rc-code="{rc}" op-status="0" interval="{interval}" last-rc-change="1500000000" '
            f'transition-key="{key}" transition-magic="0:{rc};{key}" op-digest="{digest}"/>')


def _history(rid: str, agent: str, provider: str, standard: str, *ops: str) -> str:
    provider_attr = f' provider="{provider}"' if provider else ""
    return f'<lrm_resource id="{rid}" class="{standard}"{provider_attr} type="{agent}">{"".join(ops)}</lrm_resource>'


RESOURCES = ('<primitive id="fencer" class="stonith" type="fence_dummy"/>'
             '<primitive id="remote1" class="ocf" provider="pacemaker" type="remote">'
             '<operations><op id="remote1-monitor" name="monitor" interval="30s"/></operations></primitive>'
             '<primitive id="web" class="ocf" provider="pacemaker" type="Dummy">'
             '<operations><op id="web-monitor" name="monitor" interval="10s"/></operations></primitive>')


def _cib(constraints: str) -> str:
    nodes = '<node id="1" uname="node1"/><node id="2" uname="node2"/><node id="remote1" uname="remote1" ' \
            'type="remote"/>'
    probed = lambda rid, agent, provider, standard: _history(rid, agent, provider, standard,  # noqa: E731
                                                             _op(rid, "monitor", 1, 7, target=7))
    node1 = (_history("fencer", "fence_dummy", "", "stonith", _op("fencer", "start", 2))
             + _history("remote1", "remote", "pacemaker", "ocf", _op("remote1", "start", 3),
                        _op("remote1", "monitor", 4, interval=30000))
             + probed("web", "Dummy", "pacemaker", "ocf"))
    node2 = probed("fencer", "fence_dummy", "", "stonith") + probed("remote1", "remote", "pacemaker", "ocf") \
        + probed("web", "Dummy", "pacemaker", "ocf")
    remote = _history("web", "Dummy", "pacemaker", "ocf", _op("web", "start", 2),
                      _op("web", "monitor", 3, interval=10000))
    states = (  # node1 left without saying goodbye: it must be fenced
        f'<node_state id="1" uname="node1" in_ccm="false" crmd="offline" join="down" expected="member">'
        f'<lrm id="1"><lrm_resources>{node1}</lrm_resources></lrm></node_state>'
        f'<node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">'
        f'<lrm id="2"><lrm_resources>{node2}</lrm_resources></lrm></node_state>'
        f'<node_state id="remote1" uname="remote1" remote_node="true" in_ccm="true" crmd="online">'
        f'<lrm id="remote1"><lrm_resources>{remote}</lrm_resources></lrm></node_state>')
    text = document(nodes, RESOURCES, constraints, states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


def _discovery_disabled() -> str:
    """remote1's connection is down (stopped), its node_state says resource-discovery-enabled=false."""
    nodes = '<node id="1" uname="node1"/><node id="2" uname="node2"/><node id="remote1" uname="remote1" ' \
            'type="remote"/>'
    probed = "".join(_history(rid, agent, provider, standard, _op(rid, "monitor", 1, 7, target=7))
                     for rid, agent, provider, standard in (("fencer", "fence_dummy", "", "stonith"),
                                                            ("remote1", "remote", "pacemaker", "ocf"),
                                                            ("web", "Dummy", "pacemaker", "ocf")))
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     f'expected="member"><lrm id="{n}"><lrm_resources>{probed}</lrm_resources></lrm></node_state>'
                     for n in (1, 2)) + \
        ('<node_state id="remote1" uname="remote1" remote_node="true" in_ccm="false">'
         '<transient_attributes id="remote1"><instance_attributes id="status-remote1">'
         '<nvpair id="status-remote1-discovery" name="resource-discovery-enabled" value="false"/>'
         '</instance_attributes></transient_attributes></node_state>')
    text = document(nodes, RESOURCES, "", states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


def _offline_host_still_running() -> str:
    """node1 left cleanly (expected down) but its history says web still runs there."""
    nodes = '<node id="1" uname="node1"/><node id="2" uname="node2"/>'
    probe = lambda rid, agent, standard, provider: _history(  # noqa: E731
        rid, agent, provider, standard, _op(rid, "monitor", 1, 7, target=7))
    node1 = _history("web", "Dummy", "pacemaker", "ocf", _op("web", "start", 2),
                     _op("web", "monitor", 3, interval=10000))
    node2 = _history("fencer", "fence_dummy", "", "stonith", _op("fencer", "start", 2)) \
        + probe("web", "Dummy", "ocf", "pacemaker")
    states = (f'<node_state id="1" uname="node1" in_ccm="false" crmd="offline" join="down" expected="down">'
              f'<lrm id="1"><lrm_resources>{node1}</lrm_resources></lrm></node_state>'
              f'<node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">'
              f'<lrm id="2"><lrm_resources>{node2}</lrm_resources></lrm></node_state>')
    resources = ('<primitive id="fencer" class="stonith" type="fence_dummy"/>'
                 '<primitive id="web" class="ocf" provider="pacemaker" type="Dummy">'
                 '<operations><op id="web-monitor" name="monitor" interval="10s"/></operations></primitive>')
    text = document(nodes, resources, "", states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


def _remote_down_history_says_running(constraints: str, remote_attrs: str = "") -> str:
    """remote1's connection is down (probed not running on both hosts), yet remote1's own history says web runs
    there; `remote_attrs`: nvpairs of remote1's transient attributes."""
    nodes = '<node id="1" uname="node1"/><node id="2" uname="node2"/><node id="remote1" uname="remote1" ' \
            'type="remote"/>'
    probed = "".join(_history(rid, agent, provider, standard, _op(rid, "monitor", 1, 7, target=7))
                     for rid, agent, provider, standard in (("remote1", "remote", "pacemaker", "ocf"),
                                                            ("web", "Dummy", "pacemaker", "ocf")))
    fencer = _history("fencer", "fence_dummy", "", "stonith", _op("fencer", "start", 2))
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     f'expected="member"><lrm id="{n}"><lrm_resources>{probed}{fencer if n == 1 else ""}'
                     '</lrm_resources></lrm></node_state>' for n in (1, 2))
    remote = _history("web", "Dummy", "pacemaker", "ocf", _op("web", "start", 2),
                      _op("web", "monitor", 3, interval=10000))
    attrs = (f'<transient_attributes id="remote1"><instance_attributes id="status-remote1">{remote_attrs}'
             '</instance_attributes></transient_attributes>') if remote_attrs else ""
    states += (f'<node_state id="remote1" uname="remote1" remote_node="true" in_ccm="false">{attrs}'
               f'<lrm id="remote1"><lrm_resources>{remote}</lrm_resources></lrm></node_state>')
    text = document(nodes, RESOURCES, constraints, states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


def _guest_down_history_says_running() -> str:
    """vm1 (a Dummy holding guest node guest1) runs on node1; guest1's connection is not running anywhere
    (probed), guest1's own history says web runs there."""
    nodes = '<node id="1" uname="node1"/><node id="2" uname="node2"/>'
    resources = ('<primitive id="fencer" class="stonith" type="fence_dummy"/>'
                 '<primitive id="vm1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="vm1-meta">'
                 '<nvpair id="vm1-remote-node" name="remote-node" value="guest1"/></meta_attributes></primitive>'
                 '<primitive id="web" class="ocf" provider="pacemaker" type="Dummy">'
                 '<operations><op id="web-monitor" name="monitor" interval="10s"/></operations></primitive>')
    probed = "".join(_history(rid, agent, provider, standard, _op(rid, "monitor", 1, 7, target=7))
                     for rid, agent, provider, standard in (("guest1", "remote", "pacemaker", "ocf"),
                                                            ("web", "Dummy", "pacemaker", "ocf")))
    vm1 = _history("vm1", "Dummy", "pacemaker", "ocf", _op("vm1", "start", 2))
    fencer = _history("fencer", "fence_dummy", "", "stonith", _op("fencer", "start", 3))
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     f'expected="member"><lrm id="{n}"><lrm_resources>{probed}'
                     f'{vm1 + fencer if n == 1 else _history("vm1", "Dummy", "pacemaker", "ocf", _op("vm1", "monitor", 1, 7, target=7)) + _history("fencer", "fence_dummy", "", "stonith", _op("fencer", "monitor", 1, 7, target=7))}'  # noqa: E501
                     '</lrm_resources></lrm></node_state>' for n in (1, 2))
    web = _history("web", "Dummy", "pacemaker", "ocf", _op("web", "start", 2), _op("web", "monitor", 3, interval=10000))
    states += (f'<node_state id="guest1" uname="guest1" remote_node="true" in_ccm="false">'
               f'<lrm id="guest1"><lrm_resources>{web}</lrm_resources></lrm></node_state>')
    text = document(nodes, resources, '<rsc_location id="web-on-guest1" rsc="web" node="guest1" score="100"/>',
                    states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


def _deleted_while_running(node: str, on_node1: str, probed_on_node2: str) -> str:
    """A connection to `node` (remote or guest) deleted from the configuration while it runs on node1 (its entries
    there `on_node1`, node2 having probed what `probed_on_node2` names), web running on `node`."""
    nodes = '<node id="1" uname="node1"/><node id="2" uname="node2"/>'
    resources = ('<primitive id="fencer" class="stonith" type="fence_dummy"/>'
                 '<primitive id="web" class="ocf" provider="pacemaker" type="Dummy">'
                 '<operations><op id="web-monitor" name="monitor" interval="10s"/></operations></primitive>')
    probed = lambda rid, agent, provider, standard: _history(rid, agent, provider, standard,  # noqa: E731
                                                             _op(rid, "monitor", 1, 7, target=7))
    node1 = _history("fencer", "fence_dummy", "", "stonith", _op("fencer", "start", 2)) + on_node1 \
        + probed("web", "Dummy", "pacemaker", "ocf")
    node2 = probed("fencer", "fence_dummy", "", "stonith") + probed(*probed_on_node2.split(",")) \
        + probed("web", "Dummy", "pacemaker", "ocf")
    web = _history("web", "Dummy", "pacemaker", "ocf", _op("web", "start", 2), _op("web", "monitor", 3, interval=10000))
    states = "".join(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
                     f'expected="member"><lrm id="{n}"><lrm_resources>{lrm}</lrm_resources></lrm></node_state>'
                     for n, lrm in ((1, node1), (2, node2)))
    states += (f'<node_state id="{node}" uname="{node}" remote_node="true" in_ccm="true" crmd="online">'
               f'<lrm id="{node}"><lrm_resources>{web}</lrm_resources></lrm></node_state>')
    text = document(nodes, resources, "", states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')


def _orphaned_connection() -> str:
    """remote1's connection is no longer configured but still runs on node1, and web runs on remote1."""
    return _deleted_while_running("remote1", _history("remote1", "remote", "pacemaker", "ocf",
                                                      _op("remote1", "start", 3),
                                                      _op("remote1", "monitor", 4, interval=30000)),
                                  "remote1,remote,pacemaker,ocf")


def _orphaned_guest() -> str:
    """vm1, which held guest node guest1, was deleted from the configuration while it ran on node1, with guest1's
    connection and web in it."""
    connection = _history("guest1", "remote", "pacemaker", "ocf", _op("guest1", "start", 4)).replace(
        'type="remote">', 'type="remote" container="vm1">')
    return _deleted_while_running("guest1", _history("vm1", "Dummy", "pacemaker", "ocf", _op("vm1", "start", 3))
                                  + connection, "vm1,Dummy,pacemaker,ocf")


def cases() -> dict[str, str]:
    web_stays = '<rsc_location id="web-on-remote1" rsc="web" node="remote1" score="INFINITY"/>'
    return {
        # the connection moves to node2: web keeps running on remote1, monitored again over the new connection
        "connection-moves-its-monitors-start-again": _cib(web_stays),
        # the connection may not run on node2: it runs nowhere, so remote1 is fenced with its resources
        "connection-nowhere-fences-the-remote-node": _cib(
            web_stays + '<rsc_location id="remote1-not-node2" rsc="remote1" node="node2" score="-INFINITY"/>'),
        # a host that left cleanly but whose history says web still runs there: fenced before web runs elsewhere
        "offline-host-thought-to-run-it-is-fenced": _offline_host_still_running(),
        # remote1's connection is down but its history says web runs there: fencing it is revoked because the
        # connection can start again, and web is then found running there
        "remote-down-history-running-connection-restarts": _remote_down_history_says_running(""),
        # the same with the connection allowed nowhere: remote1 is fenced before web starts elsewhere
        "remote-down-history-running-is-fenced": _remote_down_history_says_running(
            '<rsc_location id="remote1-not-node1" rsc="remote1" node="node1" score="-INFINITY"/>'
            '<rsc_location id="remote1-not-node2" rsc="remote1" node="node2" score="-INFINITY"/>'),
        # the same, remote1's status saying standby=on: read with its history, so web moves away once its
        # connection is back
        "remote-down-history-read-with-its-attributes": _remote_down_history_says_running(
            "", '<nvpair id="status-remote1-standby" name="standby" value="on"/>'),
        # a guest whose connection is down while its VM runs, its history saying web runs there: with fencing
        # that history is read last, web is failed there and the guest is "fenced" by recovering its VM
        "guest-down-history-running-recovers-its-vm": _guest_down_history_says_running(),
        # remote1's connection was deleted from the configuration while it ran: its node still exists, shutting
        # down, so web leaves it and then the connection stops
        "orphaned-connection-node-shuts-down": _orphaned_connection(),
        # the same for a guest whose VM was deleted: nothing is probed in it (its VM stops), web leaves it
        "orphaned-guest-node-shuts-down": _orphaned_guest(),
        # a remote node that says resource-discovery-enabled=false is not probed when its connection starts
        "no-probes-where-discovery-is-disabled": _discovery_disabled(),
    }


def main() -> int:
    return write_all(cases(), OUT, "remotes", "remote_cases.py")


if __name__ == "__main__":
    sys.exit(main())
