"""Recurrence rules: daily, weekly on chosen days, or a cron expression.

Rules are written as text and stored in schedule.rule: "daily", "weekly mon,thu"
or "cron 0 9 * * 1-5" (minute, hour, day of month, month, day of week). Daily
and weekly rules fire at the time of day of the schedule's first run.

APScheduler's CronTrigger computes the fire times, but over wall-clock time:
the trigger runs in UTC, which has no clock changes, on the local wall time, and
each result is placed in the configured zone afterwards. Run directly in a zone
with daylight saving, CronTrigger 3.11 skips the day after the spring change
for a daily 00:00 job and repeats a 02:30 job on the night the clocks go back.
Read on the wall clock instead:

- every wall time fires at most once, so a 02:30 job runs once on the night the
  clocks go back (at the first 02:30, summer time);
- a wall time that does not exist, 02:30 on the night the clocks go forward,
  fires one hour later, at 03:30 summer time, the moment the clocks show it
  would have been 02:30 without the change;
- a cron rule that fires every few minutes skips the repeated hour when the
  clocks go back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

from logsteer_tui.errors import LogsteerError
from logsteer_tui.services.schedules.timing import WEEKDAYS

RULE_HINT = 'use "daily", "weekly mon,thu" or "cron 0 9 * * 1-5"'

# A rule is asked for its next fire time at most this many times in a row when
# a candidate falls on an already passed wall time.
MAX_CANDIDATES = 8


class RecurrenceError(LogsteerError):
    title = "Invalid recurrence"

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        super().__init__(f"Recurrence {value!r}: {reason}")


@dataclass(frozen=True)
class Recurrence:
    """A parsed rule; ``trigger`` fires on UTC-labelled local wall times."""

    rule: str
    trigger: CronTrigger

    def next_after(self, after: datetime, zone: tzinfo) -> datetime:
        """Return the first fire time strictly after ``after``, in UTC."""
        wall = _wall(after, zone)
        for _ in range(MAX_CANDIDATES):
            candidate_wall = self.trigger.get_next_fire_time(None, wall)
            if candidate_wall is None:
                break
            instant = _place(candidate_wall, zone)
            if instant > after:
                return instant
            # The wall time already passed in the first of two repeated hours.
            wall = candidate_wall + timedelta(seconds=1)
        raise RecurrenceError(self.rule, "has no fire time after the start")

    def fire_times(self, start: datetime, zone: tzinfo, count: int) -> list[datetime]:
        """Return ``start`` and the fire times after it, ``count`` in all."""
        times = [start]
        while len(times) < count:
            times.append(self.next_after(times[-1], zone))
        return times


def parse_rule(text: str, first_run: datetime, zone: tzinfo) -> Recurrence | None:
    """Parse ``text``; None for an empty rule (a single send).

    ``first_run`` gives the time of day of daily and weekly rules.
    """
    rule = " ".join(text.strip().lower().split())
    if not rule or rule in ("once", "none"):
        return None
    local = first_run.astimezone(zone)
    clock = time(local.hour, local.minute)
    kind, _, rest = rule.partition(" ")
    if kind == "daily" and not rest:
        return Recurrence(rule, _cron(rule, hour=clock.hour, minute=clock.minute))
    if kind == "weekly":
        days = _weekdays(rule, rest or _day_name(local.weekday()))
        return Recurrence(
            rule,
            _cron(rule, day_of_week=days, hour=clock.hour, minute=clock.minute),
        )
    if kind == "cron":
        _check_day_numbers(text, rest)
        try:
            trigger = CronTrigger.from_crontab(_cron_weekdays(rest), timezone=UTC)
        except ValueError as error:
            raise RecurrenceError(text, f"invalid cron expression: {error}") from None
        return Recurrence(rule, trigger)
    raise RecurrenceError(text, f"not a known rule; {RULE_HINT}")


def _cron_weekdays(expression: str) -> str:
    """Write the day-of-week field of a crontab with day names.

    Crontab counts 0 (and 7) as Sunday, but APScheduler 3.11's from_crontab
    passes the numbers through to CronTrigger, where 0 is Monday. Names mean
    the same to both. NOTE: a step over the whole week ("*/2") keeps
    APScheduler's counting, from Monday.
    """
    fields = expression.split()
    if len(fields) != 5:
        return expression
    fields[4] = _DAY_NUMBER.sub(lambda match: _CRON_DAYS[int(match.group())], fields[4])
    return " ".join(fields)


def _check_day_numbers(text: str, expression: str) -> None:
    """Reject a day-of-week number above 7, naming crontab's range of 0 to 7."""
    fields = expression.split()
    if len(fields) != 5:
        return
    for match in re.finditer(r"(?<![/\d])\d+", fields[4]):
        if int(match.group()) > 7:
            raise RecurrenceError(
                text,
                f"invalid cron expression: day of week {match.group()} is out of "
                "range; use 0-7 (0 and 7 are Sunday) or sun..sat",
            )


_CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A day number in a list or range; a number after "/" is a step and stays.
_DAY_NUMBER = re.compile(r"(?<![/\d])[0-7](?!\d)")


def _cron(rule: str, **fields: object) -> CronTrigger:
    try:
        return CronTrigger(timezone=UTC, **fields)
    except ValueError as error:
        raise RecurrenceError(rule, str(error)) from None


def _weekdays(rule: str, text: str) -> str:
    names = [name.strip()[:3] for name in text.replace(" ", ",").split(",")]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in WEEKDAYS]
    if unknown or not names:
        raise RecurrenceError(
            rule, f"unknown day {', '.join(unknown) or text!r}; use mon..sun"
        )
    return ",".join(sorted(set(names), key=WEEKDAYS.__getitem__))


def _day_name(weekday: int) -> str:
    return next(name for name, number in WEEKDAYS.items() if number == weekday)


def _wall(instant: datetime, zone: tzinfo) -> datetime:
    """Return the wall time of ``instant`` in ``zone``, labelled as UTC."""
    return instant.astimezone(zone).replace(tzinfo=UTC, fold=0)


def _place(wall: datetime, zone: tzinfo) -> datetime:
    """Return the UTC instant at which the clocks in ``zone`` show ``wall``.

    A repeated wall time gives its first occurrence; a skipped one gives the
    instant it would have been without the change (fold=0 in zoneinfo).
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
