"""The collector pause around reading and scheduling a CIB: restored afterwards, also on errors and when nested."""

import gc

import pytest

from appliance.model.cib_read import SIMULATED, read_cib
from appliance.model.collector import collector_paused
from appliance.model.values import ModelError
from appliance.scheduler.schedule import schedule

pytestmark = pytest.mark.timeout(30)

CIB = b"""<cib validate-with="pacemaker-3.7"><configuration><crm_config><cluster_property_set id="o">
<nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="node1"/></nodes>
<resources><primitive id="r1" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/>
</configuration><status><node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member"
expected="member"/></status></cib>"""


def test_the_collector_runs_again_after_a_schedule_and_is_paused_during_it(monkeypatch):
    seen = []
    import appliance.scheduler.schedule as module
    original = module.unpack
    monkeypatch.setattr(module, "unpack", lambda *a: seen.append(gc.isenabled()) or original(*a))
    assert gc.isenabled()
    result = schedule(read_cib(CIB, "test", SIMULATED))
    assert [a.task for a in result.actions] == ["start"]
    assert seen == [False]
    assert gc.isenabled()


def test_a_refused_cib_leaves_the_collector_running():
    with pytest.raises(ModelError):
        read_cib(b"<cib><configuration>", "test")
    assert gc.isenabled()


def test_an_inner_pause_leaves_an_outer_one_in_place():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
