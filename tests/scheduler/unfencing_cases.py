"""Write the golden cases of unfencing (tests/scheduler/unfencing/) with real Pacemaker's results;
tests/test_scheduler_actions.py compares each transition, its "stonith on" actions included, with crm_simulate's.

    python -m tests.scheduler.unfencing_cases [OUT_DIR]

A fence device with provides=unfencing (fence_scsi, fence_mpath) makes every other resource require unfencing:
a host is unfenced ("on") before such a resource, or a fence device, is probed or started there, unless it was
already (#node-unfenced); requires=unfencing on a resource does the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.scheduler.golden import document, write_all

OUT = Path(__file__).resolve().parent / "unfencing"
NO_PARAMETERS = "f2317cad3d54cec5d7d7aa7d0bf35cf8"      # the op-digest of no parameters at all


def _nv(owner: str, name: str, value: str) -> str:
    return f'<nvpair id="{owner}-{name}" name="{name}" value="{value}"/>'


def _device(rid: str, agent: str, meta: str = "") -> str:
    block = f'<meta_attributes id="{rid}-meta">{meta}</meta_attributes>' if meta else ""
    return f'<primitive id="{rid}" class="stonith" type="{agent}">{block}</primitive>'


def _dummy(rid: str, meta: str = "") -> str:
    block = f'<meta_attributes id="{rid}-meta">{meta}</meta_attributes>' if meta else ""
    return f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy">{block}</primitive>'


def _probed(rid: str, agent: str, standard: str = "ocf", operation: str = "monitor") -> str:
    """A history whose last operation found `rid` not running, as it was expected to (rc 7, target 7)."""
    provider = ' provider="pacemaker"' if standard == "ocf" else ""
    key = "0:0:7:d4c0de00-0000-4000-8000-000000000000"
    return (f'<lrm_resource id="{rid}" class="{standard}"{provider} type="{agent}">'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_{operation}_0" operation="{operation}" call-id="1" '
            f'rc-code="7" op-status="0" interval="0" last-rc-change="1500000000" transition-key="{key}" '
            f'transition-magic="0:7;{key}"/></lrm_resource>')


def _started(rid: str, agent: str, standard: str = "ocf", digest: str = "") -> str:
    """A history whose last operation started `rid` (with parameters of op-digest `digest`, when given)."""
    provider = ' provider="pacemaker"' if standard == "ocf" else ""
    key = "0:0:0:d4c0de00-0000-4000-8000-000000000000"
    recorded = f' op-digest="{digest}"' if digest else ""
    return (f'<lrm_resource id="{rid}" class="{standard}"{provider} type="{agent}">'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_start_0" operation="start" call-id="2" '
            f'rc-code="0" op-status="0" interval="0" last-rc-change="1500000000" transition-key="{key}" '
            f'transition-magic="0:0;{key}"{recorded}/></lrm_resource>')


def _cib(resources: str, unfenced: tuple[int, ...] = (), probed: str = "", fencing: bool = True,
         node1: str | None = None) -> str:
    """`probed`: the history of each unfenced host (`node1`: node1's own instead)."""
    nodes = "".join(f'<node id="{n}" uname="node{n}"/>' for n in (1, 2, 3))
    states = "".join(
        f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" expected="member">'
        + (f'<transient_attributes id="{n}"><instance_attributes id="status-{n}">'
           f'{_nv(f"status-{n}", "#node-unfenced", "1500000000")}</instance_attributes></transient_attributes>'
           if n in unfenced else "")
        + f'<lrm id="{n}"><lrm_resources>{_history(n, unfenced, probed, node1)}</lrm_resources></lrm></node_state>'
        for n in (1, 2, 3))
    text = document(nodes, resources, "", states)
    return text.replace('name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"') \
        if fencing else text


def _history(n: int, unfenced: tuple[int, ...], probed: str, node1: str | None) -> str:
    if n == 1 and node1 is not None:
        return node1
    return probed if n in unfenced else ""


def cases() -> dict[str, str]:
    scsi = _device("scsi", "fence_scsi", _nv("scsi", "provides", "unfencing"))
    known = _probed("scsi", "fence_scsi", "stonith") + _probed("web", "Dummy")
    sticky = _dummy("web", _nv("web", "resource-stickiness", "100"))          # stays where it runs
    web_running = _started("web", "Dummy", digest=NO_PARAMETERS)
    return {
        # a device that provides unfencing: every host is unfenced before anything is probed there
        "every-host-unfenced-first": _cib(scsi + _dummy("web")),
        # hosts already unfenced (#node-unfenced) are not unfenced again; the new one is
        "only-the-new-host-is-unfenced": _cib(scsi + _dummy("web"), unfenced=(1, 2), probed=known),
        # requires=unfencing on one resource, with an ordinary device: unfencing where it is probed or started
        "a-resource-requires-unfencing": _cib(_device("ipmi", "fence_ipmilan")
                                              + _dummy("web", _nv("web", "requires", "unfencing"))),
        # without fencing, a resource's requires=unfencing means quorum; the device's probes still unfence
        "no-unfencing-without-fencing": _cib(scsi + _dummy("web"), fencing=False),
        # a start recorded as "not running" where that was its expected result is a stopped device (Pacemaker's
        # remap of rc 7), not one active everywhere to recover
        "a-start-expected-not-running-is-stopped": _cib(
            scsi + _dummy("web"), unfenced=(1, 2, 3),
            probed=_probed("scsi", "fence_scsi", "stonith", "start") + _probed("web", "Dummy")),
        # a device whose agent changed restarts, its host is unfenced again first, and what requires unfencing
        # there restarts after that ("due to required stonith")
        "a-changed-device-agent-unfences-again": _cib(
            scsi + sticky, unfenced=(1, 2, 3), probed=known,
            node1=_started("scsi", "fence_virt", "stonith") + web_running),
        # the same for parameters other than those it was started with (its op-digest)
        "changed-device-parameters-unfence-again": _cib(
            scsi + sticky, unfenced=(1, 2, 3), probed=known,
            node1=_started("scsi", "fence_scsi", "stonith", digest="0" * 32) + web_running),
        # a device that did not change leaves its host and what runs there alone
        "an-unchanged-device-unfences-nothing": _cib(
            scsi + sticky, unfenced=(1, 2, 3), probed=known,
            node1=_started("scsi", "fence_scsi", "stonith", digest=NO_PARAMETERS) + web_running),
    }


def main() -> int:
    return write_all(cases(), OUT, "unfencing", "unfencing_cases.py")


if __name__ == "__main__":
    sys.exit(main())
