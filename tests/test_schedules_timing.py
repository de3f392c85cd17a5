"""Send times typed by an operator, and recurrence across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from logsteer_tui.services.schedules import (
    RecurrenceError,
    ScheduleTimeError,
    parse_rule,
    parse_send_time,
)

ZAGREB = ZoneInfo("Europe/Zagreb")
# Wednesday 2 December 2026, 10:15 in Zagreb (09:15 UTC).
NOW = datetime(2026, 12, 2, 9, 15, tzinfo=UTC)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZAGREB).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+2h", NOW + timedelta(hours=2)),
        ("+30m", NOW + timedelta(minutes=30)),
        ("+1d", NOW + timedelta(days=1)),
        ("+1h30m", NOW + timedelta(hours=1, minutes=30)),
        ("now", NOW),
        ("tomorrow 09:00", local(2026, 12, 3, 9, 0)),
        ("today 17:00", local(2026, 12, 2, 17, 0)),
        ("17:00", local(2026, 12, 2, 17, 0)),
        ("mon 08:30", local(2026, 12, 7, 8, 30)),
        ("wed 11:00", local(2026, 12, 2, 11, 0)),
        ("wed 08:00", local(2026, 12, 9, 8, 0)),
        ("2026-12-24 09:00", local(2026, 12, 24, 9, 0)),
        ("2026-12-24T09:00", local(2026, 12, 24, 9, 0)),
        ("24.12.2026 09:00", local(2026, 12, 24, 9, 0)),
        ("  Tomorrow   09:00 ", local(2026, 12, 3, 9, 0)),
    ],
)
def test_send_time_forms(text: str, expected: datetime) -> None:
    assert parse_send_time(text, ZAGREB, NOW) == expected


def test_relative_day_uses_configured_zone() -> None:
    # 23:30 UTC on 2 December is already 3 December in Zagreb.
    late = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert parse_send_time("tomorrow 09:00", ZAGREB, late) == local(2026, 12, 4, 9, 0)
    assert parse_send_time("tomorrow 09:00", UTC, late) == datetime(
        2026, 12, 3, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["09:00", "2026-12-01 09:00", "today 10:00"])
def test_past_time_rejected_naming_value(text: str) -> None:
    with pytest.raises(ScheduleTimeError) as caught:
        parse_send_time(text, ZAGREB, NOW)
    assert repr(text) in caught.value.message
    assert "in the past" in caught.value.message


@pytest.mark.parametrize(
    "text", ["", "soon", "tomorrow 25:00", "2026-13-01 09:00", "fri", "+2x"]
)
def test_unreadable_time_rejected(text: str) -> None:
    with pytest.raises(ScheduleTimeError) as caught:
        parse_send_time(text, ZAGREB, NOW)
    assert repr(text) in caught.value.message


@pytest.mark.parametrize("text", ["+2x", "+", "+h"])
def test_bad_relative_time_shows_forms(text: str) -> None:
    with pytest.raises(ScheduleTimeError) as caught:
        parse_send_time(text, ZAGREB, NOW)
    assert caught.value.message.endswith(
        "is not a time from now; write a number with d, h or m after the +, "
        "such as +2h, +1d or +1h30m"
    )


def test_time_in_spring_gap_rejected() -> None:
    with pytest.raises(ScheduleTimeError) as caught:
        parse_send_time("2027-03-28 02:30", ZAGREB, NOW)
    assert "does not exist" in caught.value.message


def test_repeated_hour_reads_first_occurrence() -> None:
    instant = parse_send_time("2027-10-31 02:30", ZAGREB, NOW)
    assert instant == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def fire_times(rule: str, first: datetime, count: int) -> list[datetime]:
    recurrence = parse_rule(rule, first, ZAGREB)
    assert recurrence is not None
    return recurrence.fire_times(first, ZAGREB, count)


def local_days(times: list[datetime]) -> list[str]:
    return [value.astimezone(ZAGREB).strftime("%m-%d %H:%M") for value in times]


def test_daily_midnight_fires_on_spring_change_days() -> None:
    times = fire_times("daily", local(2026, 3, 28, 0, 0), 4)
    assert local_days(times) == [
        "03-28 00:00",
        "03-29 00:00",
        "03-30 00:00",
        "03-31 00:00",
    ]


def test_daily_midnight_fires_on_autumn_change_days() -> None:
    times = fire_times("daily", local(2026, 10, 24, 0, 0), 4)
    assert local_days(times) == [
        "10-24 00:00",
        "10-25 00:00",
        "10-26 00:00",
        "10-27 00:00",
    ]


def test_half_past_two_fires_once_when_clocks_go_back() -> None:
    # Clocks go back from 03:00 summer time to 02:00 on Sunday 25 October 2026.
    times = fire_times("daily", local(2026, 10, 24, 2, 30), 4)
    on_change_night = [value for value in times if value.astimezone(ZAGREB).day == 25]
    assert len(on_change_night) == 1
    assert on_change_night[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local_days(times) == [
        "10-24 02:30",
        "10-25 02:30",
        "10-26 02:30",
        "10-27 02:30",
    ]


def test_half_past_two_after_second_pass_waits_a_day() -> None:
    recurrence = parse_rule("daily", local(2026, 10, 24, 2, 30), ZAGREB)
    assert recurrence is not None
    # 02:15 winter time on the change night: 02:30 already passed in summer time.
    second_pass = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert recurrence.next_after(second_pass, ZAGREB) == local(2026, 10, 26, 2, 30)


def test_half_past_two_moves_to_half_past_three_in_spring() -> None:
    times = fire_times("daily", local(2026, 3, 28, 2, 30), 3)
    assert times[1] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert local_days(times) == ["03-28 02:30", "03-29 03:30", "03-30 02:30"]


def test_weekly_on_days() -> None:
    times = fire_times("weekly mon,fri", local(2026, 12, 7, 8, 30), 4)
    assert local_days(times) == [
        "12-07 08:30",
        "12-11 08:30",
        "12-14 08:30",
        "12-18 08:30",
    ]


def test_weekly_keeps_time_across_change() -> None:
    times = fire_times("weekly sat", local(2026, 10, 17, 9, 0), 3)
    assert [value.astimezone(ZAGREB).hour for value in times] == [9, 9, 9]


def test_cron_rule_in_zone() -> None:
    recurrence = parse_rule("cron 0 9 * * 1-5", local(2026, 12, 4, 10, 0), ZAGREB)
    assert recurrence is not None
    first = recurrence.next_after(local(2026, 12, 4, 10, 0), ZAGREB)
    assert first == local(2026, 12, 7, 9, 0)


@pytest.mark.parametrize("rule", ["hourly", "weekly xyz", "cron 61 * * * *", "daily x"])
def test_invalid_rule_rejected(rule: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        parse_rule(rule, NOW, ZAGREB)
    assert repr(rule) in caught.value.message


def test_empty_rule_is_single_send() -> None:
    assert parse_rule("", NOW, ZAGREB) is None


def test_cron_counts_sunday_as_zero() -> None:
    recurrence = parse_rule("cron 0 10 * * 0", local(2026, 12, 2, 10, 0), ZAGREB)
    assert recurrence is not None
    first = recurrence.next_after(local(2026, 12, 2, 10, 0), ZAGREB)
    assert first == local(2026, 12, 6, 10, 0)
