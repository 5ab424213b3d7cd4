"""The scheduler against real Pacemaker: every committed corpus case must give Pacemaker's result, except the
ones listed in tests/scheduler/known_differences.txt, which must still differ (so the list stays honest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scheduler.conformance import DEFAULT_CORPUS, diff, run_case

CASES = sorted(p for p in DEFAULT_CORPUS.iterdir() if (p / "cib.xml").is_file())
KNOWN = Path(__file__).parent / "scheduler" / "known_differences.txt"


def _known() -> dict[str, str]:
    known = {}
    for line in KNOWN.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            case, _, reason = line.partition(" ")
            known[case] = reason.strip()
    return known


KNOWN_DIFFERENCES = _known()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_scheduler_places_everything_where_pacemaker_does(case: Path) -> None:
    same, got, expected = run_case(case)
    if case.name in KNOWN_DIFFERENCES:
        assert not same, f"{case.name} now matches Pacemaker: remove it from {KNOWN.name}"
        return
    assert same, "\n".join(diff(got, expected))


def test_known_differences_are_real_cases_with_reasons() -> None:
    names = {c.name for c in CASES}
    for case, reason in KNOWN_DIFFERENCES.items():
        assert case in names
        assert reason, f"{case} needs a reason"


def test_t1_and_t2_have_no_known_differences() -> None:
    tiers = {c.name: json.loads((c / "meta.json").read_text())["tier"] for c in CASES}
    assert not [case for case in KNOWN_DIFFERENCES if tiers[case] in ("T1", "T2")]


def test_drover_simulate_prints_the_schema_json_and_a_crm_simulate_like_summary() -> None:
    from tests.conftest import run_source
    from tests.scheduler import oracle

    case = DEFAULT_CORPUS / "t3-0002"
    result = run_source("drover", "simulate", "--xml-file", str(case / "cib.xml"), "--output-as=json")
    assert result.returncode == 0, result.stderr
    expected = json.loads((case / "expected.json").read_text())
    assert oracle.normalize(json.loads(result.stdout)) == oracle.normalize(expected)
    text = run_source("drover", "simulate", "-x", str(case / "cib.xml"))
    assert text.returncode == 0, text.stderr
    summary = text.stdout.split("Transition Summary:")[1].split("Revised Cluster Status:")[0]
    assert "* Fence (reboot) node4" in summary
    assert "* Move       rsc11                ( node4 -> node3 )" in summary
    assert "* Recover    rsc15                ( node5 )" in summary


def test_drover_simulate_refuses_a_bad_file_clearly(tmp_path: Path) -> None:
    from tests.conftest import run_source
    bad = tmp_path / "cib.xml"
    bad.write_text("<cib><configuration><resources><primitive id='a'")
    result = run_source("drover", "simulate", "--xml-file", str(bad))
    assert result.returncode == 1
    assert "not well-formed XML" in result.stderr and "Traceback" not in result.stderr


def test_acls_and_alerts_change_no_placement_and_an_import_keeps_them(tmp_path: Path) -> None:
    """They decide nothing about placement (crm_simulate's result is the same with or without them); an import
    keeps both, and the export has them."""
    from tests.conftest import run_source
    from tests.scheduler import oracle

    case = DEFAULT_CORPUS / "t3-0002"
    text = (case / "cib.xml").read_text()
    extra = ('<acls><acl_role id="viewer"><acl_permission id="viewer-read" kind="read" xpath="/cib"/></acl_role>'
             '</acls><alerts><alert id="log" path="/usr/share/pacemaker/alerts/alert_file.sh.sample"/></alerts>')
    assert "</configuration>" in text
    with_both = tmp_path / "cib.xml"
    with_both.write_text(text.replace("</configuration>", extra + "</configuration>"))
    result = run_source("drover", "simulate", "--xml-file", str(with_both), "--output-as=json")
    assert result.returncode == 0, result.stderr
    expected = json.loads((case / "expected.json").read_text())
    assert oracle.normalize(json.loads(result.stdout)) == oracle.normalize(expected)
    assert oracle.normalize(oracle.placement_from_simulate_xml(
        oracle.run_crm_simulate(str(with_both), str(tmp_path / "out.xml"))[0])) == oracle.normalize(expected)
    imported = run_source("drover", "cib", "import", str(with_both), root=tmp_path / "root")
    assert imported.returncode == 0, imported.stderr
    exported = run_source("drover", "cib", "export", root=tmp_path / "root")
    assert 'acl_permission id="viewer-read"' in exported.stdout and '<alert id="log"' in exported.stdout
