"""Bundles against real Pacemaker: the committed cases (tests/scheduler/bundles/, from
tests/scheduler/bundle_cases.py with crm_simulate's results) are scheduled alike; a bundle is kept through
import, storage and export (the exported CIB gives crm_simulate the same result); bad bundles are refused with a
message; and the controller, which runs no containers, leaves bundles alone and says so."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import tempfile
from pathlib import Path

import pytest

from appliance.cli.status_view import build
from appliance.engine import records
from appliance.engine.controller import Controller
from appliance.model.cib_read import read_cib
from appliance.model.cib_write import write_cib
from appliance.model.values import ModelError
from appliance.scheduler.schedule import schedule
from tests.scheduler import oracle
from tests.scheduler.bundle_cases import OUT, cases
from tests.scheduler.conformance import assert_placement_is_pacemakers
from tests.scheduler.golden import committed
from tests.scheduler.golden import stored as stored_cib
from tests.test_engine import MemoryEnv, ScriptedExecutor

CASES = committed(OUT)


def test_every_case_of_the_generator_is_committed():
    assert sorted(cases()) == [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bundles_are_scheduled_as_pacemaker_schedules_them(case: Path) -> None:
    assert_placement_is_pacemakers(case)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_import_keeps_bundles_and_the_export_means_the_same_to_pacemaker(case: Path, tmp_path: Path) -> None:
    original = read_cib((case / "cib.xml").read_bytes(), case.name)
    assert original.configuration.bundles
    stored = stored_cib(original, tmp_path)
    assert stored.configuration == original.configuration
    exported = tmp_path / "exported.xml"
    exported.write_text(write_cib(stored))
    assert read_cib(exported.read_bytes(), "exported").configuration == original.configuration
    with tempfile.TemporaryDirectory() as scratch:
        stdout, _ = oracle.run_crm_simulate(str(exported), str(Path(scratch) / "out.xml"))
    expected = json.loads((case / "expected.json").read_text())
    assert oracle.placement_from_simulate_xml(stdout)["resources"] == expected["resources"]


def test_a_bundle_keeps_its_place_among_the_resources_on_export() -> None:
    cib = read_cib(cases()["constraints-name-the-bundle"].encode(), "case")
    exported = write_cib(cib)
    assert exported.index('<primitive id="vip"') < exported.index('<bundle id="web"')
    first = '<primitive id="first" class="ocf" provider="pacemaker" type="Dummy"/>'
    text = cases()["constraints-name-the-bundle"].replace("<resources>", "<resources>" + first, 1)
    reread = read_cib(text.encode(), "case")
    assert reread.configuration.bundles[0].position == 2
    assert read_cib(write_cib(reread).encode(), "again").configuration == reread.configuration


@pytest.mark.parametrize(("change", "message"), [
    (('<podman image="localhost/web:latest"', '<podman'), "needs an image"),
    (('ip-range-start="192.168.122.131"', 'ip-range-start="not-an-ip"'), "invalid ip-range-start"),
    (('replicas="2"', 'replicas="two"'), "invalid replicas 'two'"),
    (('<network ip-range-start="192.168.122.131" host-interface="eth0" host-netmask="24">'
      '<port-mapping id="web-port" port="80"/></network>', ''), "cannot control 'web-rsc' inside it"),
    (('<port-mapping id="web-port" port="80"/>', '<port-mapping id="web-port"/>'), "either a port or a range"),
    (('<podman ', '<lxc '), "unexpected element"),
])
def test_a_bad_bundle_is_refused_naming_the_problem(change: tuple[str, str], message: str) -> None:
    text = cases()["replicas-spread-over-hosts"]
    assert change[0] in text
    with pytest.raises(ModelError, match=message):
        read_cib(text.replace(*change).replace("</podman>", "</lxc>").encode(), "bad.xml")


def test_the_controller_runs_no_bundle_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    cib = read_cib(cases()["constraints-name-the-bundle"].encode(), "case")
    logs: dict[str, list] = {f"node{n}": [] for n in (1, 2, 3)}
    env = MemoryEnv(cib, {name: ScriptedExecutor({}, log) for name, log in logs.items()})

    async def rounds() -> None:
        controller = Controller(env)
        env.edit_status(lambda s: records.cluster_node_up(s, "node1", "1"))
        for _ in range(6):
            if not await controller.round():
                return
        raise AssertionError("did not converge")

    with caplog.at_level(logging.WARNING):
        asyncio.run(rounds())
    ran = {entry[0] for log in logs.values() for entry in log}
    assert "vip" in ran                                  # the rest of the configuration runs
    assert not any(rid.startswith("web") for rid in ran)
    told = [r.getMessage() for r in caplog.records if "bundle web" in r.getMessage()]
    assert told == ["bundle web is kept and simulated but not run: drover does not run bundle containers"]
    assert dataclasses.replace(env.cib.configuration) == cib.configuration      # the bundle itself is kept


def test_a_bundle_whose_neighbours_were_deleted_is_still_scheduled_and_shown() -> None:
    cib = read_cib(cases()["constraints-name-the-bundle"].encode(), "case")
    assert cib.configuration.bundles[0].position == 1
    alone = dataclasses.replace(cib, configuration=dataclasses.replace(cib.configuration, resources=(),
                                                                       constraints=()))
    placed = schedule(alone).resources
    assert placed["web-rsc"] == [("web-0", "Started"), ("web-1", "Started")]
    assert [r.id for r in build(alone, "drover", None, "0").resources] == ["web"]
