"""Pacemaker's value syntaxes: scores, intervals, roles, ids."""

from __future__ import annotations

import pytest

from appliance.model.values import (
    INFINITY,
    ModelError,
    add_scores,
    check_id,
    format_interval,
    format_score,
    parse_interval_ms,
    parse_role,
    parse_score,
)


@pytest.mark.parametrize(("text", "score"), [
    ("100", 100), ("-5", -5), ("+7", 7), ("INFINITY", INFINITY), ("+INFINITY", INFINITY),
    ("-INFINITY", -INFINITY), ("infinity", INFINITY), ("2000000", INFINITY), ("-9999999", -INFINITY),
])
def test_scores(text: str, score: int) -> None:
    assert parse_score(text) == score


@pytest.mark.parametrize("text", ["", "ten", "1.5", "INF", "--1"])
def test_bad_scores(text: str) -> None:
    with pytest.raises(ModelError, match="invalid score"):
        parse_score(text)


def test_score_arithmetic_and_formatting_follow_pacemaker() -> None:
    assert add_scores(INFINITY, -INFINITY) == -INFINITY
    assert add_scores(999_999, 5) == INFINITY
    assert add_scores(-10, 3) == -7
    assert [format_score(s) for s in (INFINITY, -INFINITY, 0, -20)] == ["INFINITY", "-INFINITY", "0", "-20"]


@pytest.mark.parametrize(("text", "ms"), [
    ("10s", 10_000), ("10", 10_000), ("500ms", 500), ("2min", 120_000), ("1m", 60_000), ("1h", 3_600_000),
    ("0", 0), ("PT1M30S", 90_000), ("P1DT1H", 90_000_000), ("3000us", 3),
])
def test_intervals(text: str, ms: int) -> None:
    assert parse_interval_ms(text) == ms


@pytest.mark.parametrize("text", ["often", "-5s", "10 parsecs", "P", "PT"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ModelError, match="invalid interval"):
        parse_interval_ms(text)


def test_interval_formatting_is_what_pcs_writes() -> None:
    assert [format_interval(ms) for ms in (0, 30_000, 60_000, 1500)] == ["0s", "30s", "60s", "1500ms"]


def test_legacy_role_names_map_to_current_ones() -> None:
    assert [parse_role(r) for r in ("Master", "slave", "Promoted", "started")] == [
        "Promoted", "Unpromoted", "Promoted", "Started"]
    with pytest.raises(ModelError, match="invalid role 'Boss'"):
        parse_role("Boss")


def test_ids_follow_the_xml_id_rules() -> None:
    assert check_id("vm-guest1") == "vm-guest1"
    for bad in ("9lives", "has space", "", "a/b"):
        with pytest.raises(ModelError):
            check_id(bad)
