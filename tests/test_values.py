"""Pacemaker's value syntaxes: scores, intervals, roles, ids."""

from __future__ import annotations

import pytest

from appliance.model.values import (
    INFINITY,
    MAX_DURATION_MS,
    ModelError,
    add_scores,
    check_id,
    format_interval,
    format_score,
    parse_interval_ms,
    parse_role,
    parse_score,
    sanitize_id,
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


@pytest.mark.parametrize("text", ["99999999999999999999999", "-99999999999999999999999", "9223372036854775808",
                                  "9" * 5000])
def test_scores_beyond_a_long_long_are_refused_not_read_as_zero(text: str) -> None:
    with pytest.raises(ModelError, match="out of range") as refused:
        parse_score(text)
    assert len(refused.value.message) < 200


def test_the_largest_long_long_still_clamps_to_infinity() -> None:
    assert parse_score("9223372036854775807") == INFINITY
    assert parse_score("-9223372036854775808") == -INFINITY


def test_score_arithmetic_and_formatting_follow_pacemaker() -> None:
    assert add_scores(INFINITY, -INFINITY) == -INFINITY
    assert add_scores(999_999, 5) == INFINITY
    assert add_scores(-10, 3) == -7
    assert [format_score(s) for s in (INFINITY, -INFINITY, 0, -20)] == ["INFINITY", "-INFINITY", "0", "-20"]


@pytest.mark.parametrize(("text", "ms"), [
    ("10s", 10_000), ("10", 10_000), ("500ms", 500), ("2min", 120_000), ("1m", 60_000), ("1h", 3_600_000),
    ("0", 0), ("PT1M30S", 90_000), ("P1DT1H", 90_000_000), ("3000us", 3),
    # as Pacemaker's crm_time_parse_duration: H and S need no T (P10S, in its own regression inputs), W is weeks
    ("P10S", 10_000), ("pt10s", 10_000), ("P1W", 604_800_000), ("P1H", 3_600_000),
])
def test_intervals(text: str, ms: int) -> None:
    assert parse_interval_ms(text) == ms


@pytest.mark.parametrize("text", ["often", "-5s", "10 parsecs", "P", "PT", "P10", "PX", "P-1S"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ModelError, match="invalid interval"):
        parse_interval_ms(text)


def test_the_longest_duration_is_what_pacemaker_keeps_in_a_guint_of_milliseconds() -> None:
    assert parse_interval_ms(f"{MAX_DURATION_MS}ms") == MAX_DURATION_MS == 2 ** 32 - 1
    assert parse_interval_ms("1193h") == 1193 * 3_600_000
    assert parse_interval_ms("P49D") == 49 * 86_400_000


@pytest.mark.parametrize("text", [f"{MAX_DURATION_MS + 1}ms", "1200h", "P50D", "PT2000H",
                                  "99999999999999999999999h", "9" * 5000, "P" + "9" * 5000 + "D"])
def test_durations_longer_than_pacemaker_can_hold_are_refused(text: str) -> None:
    with pytest.raises(ModelError, match="longer than 49 days") as refused:
        parse_interval_ms(text, "timeout")
    assert len(refused.value.message) < 200


def test_interval_formatting_is_what_pcs_writes() -> None:
    assert [format_interval(ms) for ms in (0, 30_000, 60_000, 1500)] == ["0s", "30s", "60s", "1500ms"]


def test_legacy_role_names_map_to_current_ones() -> None:
    assert [parse_role(r) for r in ("Master", "slave", "Promoted", "started")] == [
        "Promoted", "Unpromoted", "Promoted", "Started"]
    with pytest.raises(ModelError, match="invalid role 'Boss'"):
        parse_role("Boss")


def test_ids_follow_the_xml_id_rules() -> None:
    assert check_id("vm-guest1") == "vm-guest1"
    assert check_id("_a.b-c_9") == "_a.b-c_9"
    for bad in ("9lives", "has space", "", "a/b", "a:b", "-a", ".a"):
        with pytest.raises(ModelError):
            check_id(bad)


def test_ids_have_a_sane_maximum_length_and_messages_stay_one_short_line() -> None:
    assert check_id("a" * 255) == "a" * 255
    with pytest.raises(ModelError, match=r"invalid resource name 'a{40}\.\.\.' \(10000 characters\): longer than 255"):
        check_id("a" * 10_000, "resource name")
    with pytest.raises(ModelError, match="an id cannot be empty"):
        check_id("", "resource name")
    with pytest.raises(ModelError) as refused:
        check_id("a\nb")
    assert "\n" not in refused.value.message and "a\\nb" in refused.value.message


def test_generated_ids_never_contain_a_colon() -> None:
    assert sanitize_id("order-a:b then c") == "order-a_b_then_c"


def test_fail_count_attribute_names_round_trip_both_forms() -> None:
    from appliance.model.status import FailCount, fail_attribute_names, split_fail_attribute
    assert split_fail_attribute("fail-count-db#monitor_10000") == ("fail-count", "db", "monitor", 10000)
    assert split_fail_attribute("fail-count-db") == ("fail-count", "db", "", 0)      # Pacemaker 1.x's form
    assert split_fail_attribute("last-failure-db") == ("last-failure", "db", "", 0)
    assert split_fail_attribute("failcount-db") is None
    assert fail_attribute_names(FailCount("n1", "db", "", 0, 1)) == ("fail-count-db", "last-failure-db")
    assert fail_attribute_names(FailCount("n1", "db", "start", 0, 1)) == ("fail-count-db#start_0",
                                                                         "last-failure-db#start_0")
