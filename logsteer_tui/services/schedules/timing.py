"""Read the send times an operator types, in the configured time zone.

Accepted forms, all read as wall-clock time in the zone:

- relative: "+30m", "+2h", "+1d", "+1h30m" (from now; "now" alone is now)
- a day and a time: "today 17:00", "tomorrow 09:00", "mon 08:30" (the next
  Monday at 08:30, today if that is still ahead), "09:00" (today)
- absolute: "2026-12-24 09:00", "2026-12-24T09:00", "24.12.2026 09:00"

A time that falls in the hour skipped when clocks go forward is rejected, and
one in the hour repeated when they go back is read as its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from logsteer_tui.errors import LogsteerError

WEEKDAYS = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}

FORMS_HINT = 'use "+2h", "tomorrow 09:00", "mon 08:30" or "2026-12-24 09:00"'

_RELATIVE = re.compile(r"^\+\s*((?:\d+\s*[dhm]\s*)+)$")
_RELATIVE_PART = re.compile(r"(\d+)\s*([dhm])")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ISO_SEPARATOR = re.compile(r"^(\d{4}-\d{2}-\d{2})t")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\.?$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}

# Relative times further ahead than this are almost certainly typing mistakes.
MAX_AHEAD = timedelta(days=3660)


class ScheduleTimeError(LogsteerError):
    """A send time that cannot be read or is not in the future."""

    title = "Invalid send time"

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"Send time {value!r}: {reason}")


def parse_send_time(text: str, zone: tzinfo, now: datetime | None = None) -> datetime:
    """Return the UTC instant that ``text`` names, read in ``zone``.

    Raises ScheduleTimeError naming the value when it cannot be read, is in the
    past or falls in a clock change gap.
    """
    now = now or datetime.now(UTC)
    value = _ISO_SEPARATOR.sub(r"\1 ", text.strip().lower())
    value = " ".join(value.split())
    if not value:
        raise ScheduleTimeError(text, f"empty; {FORMS_HINT}")
    if value == "now":
        return now
    instant = _relative(text, value, now) or _absolute(text, value, zone, now)
    if instant < now - timedelta(seconds=1):
        shown = instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        raise ScheduleTimeError(
            text, f"{shown} is in the past; give a time that is still ahead"
        )
    if instant - now > MAX_AHEAD:
        raise ScheduleTimeError(text, "more than ten years ahead; check the date")
    return instant


def _relative(text: str, value: str, now: datetime) -> datetime | None:
    match = _RELATIVE.match(value)
    if match is None:
        if value.startswith("+"):
            raise ScheduleTimeError(
                text,
                "is not a time from now; write a number with d, h or m after the "
                "+, such as +2h, +1d or +1h30m",
            )
        return None
    delta = timedelta()
    for amount, unit in _RELATIVE_PART.findall(match.group(1)):
        delta += timedelta(**{_UNITS[unit]: int(amount)})
    if delta > MAX_AHEAD:
        raise ScheduleTimeError(text, "more than ten years ahead; check the value")
    return now + delta


def _absolute(text: str, value: str, zone: tzinfo, now: datetime) -> datetime:
    words = value.split(" ")
    if len(words) == 1:
        words = ["today", *words]
    if len(words) != 2:
        raise ScheduleTimeError(text, f"cannot be read; {FORMS_HINT}")
    day_word, time_word = words
    clock = _parse_clock(text, time_word)
    today = now.astimezone(zone).date()
    if day_word in WEEKDAYS:
        day = today + timedelta(days=(WEEKDAYS[day_word] - today.weekday()) % 7)
        candidate = local_instant(text, day, clock, zone)
        if candidate < now:
            candidate = local_instant(text, day + timedelta(days=7), clock, zone)
        return candidate
    return local_instant(text, _parse_day(text, day_word, today), clock, zone)


def _parse_clock(text: str, word: str) -> time:
    match = _TIME.match(word)
    if match is None:
        raise ScheduleTimeError(
            text, f"{word!r} is not a time of day such as 09:00; {FORMS_HINT}"
        )
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleTimeError(text, f"{word!r} is not a valid time of day")
    return time(hour, minute)


def _parse_day(text: str, word: str, today: date) -> date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    iso = _ISO_DATE.match(word)
    dotted = _DOTTED_DATE.match(word)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if dotted:
            return date(
                int(dotted.group(3)), int(dotted.group(2)), int(dotted.group(1))
            )
    except ValueError:
        raise ScheduleTimeError(text, f"{word!r} is not a valid date") from None
    raise ScheduleTimeError(
        text, f"{word!r} is not a day (today, tomorrow, mon..sun or a date)"
    )


def local_instant(text: str, day: date, clock: time, zone: tzinfo) -> datetime:
    """Return the UTC instant of wall-clock ``day`` ``clock`` in ``zone``.

    Raises ScheduleTimeError when that wall time does not exist because the
    clocks go forward across it.
    """
    local = datetime.combine(day, clock, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ScheduleTimeError(
            text,
            f"{day.isoformat()} {clock:%H:%M} does not exist in {zone} because "
            "the clocks go forward then; pick a time an hour later",
        )
    return instant
