"""The first run of a recurring schedule: never before the start that was typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logsteer_tui.db.types import utc_now
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules import ScheduleRequest
from logsteer_tui.services.segments import SegmentService

# Wednesday 2 December 2026, ten milliseconds before a whole minute.
NOW = datetime(2026, 12, 2, 17, 18, 59, 990_000, tzinfo=UTC)


async def save_everyone(runtime: Runtime) -> None:
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Everyone", {"match": "and", "conditions": []})


async def first_run(runtime: Runtime, at: str, every: str) -> datetime:
    request = ScheduleRequest(at=at, body="Hi", segment="Everyone", every=every)
    plan = await runtime.schedules.plan(request, now=NOW)
    return plan.first_run


@pytest.mark.parametrize(
    "every", ["cron * * * * *", "daily", "weekly", "cron */10 * * * *"]
)
async def test_first_run_not_before_start(runtime: Runtime, every: str) -> None:
    await save_everyone(runtime)
    first = await first_run(runtime, "+1m", every)
    assert first >= NOW + timedelta(minutes=1)
    assert first - NOW < timedelta(minutes=11)
    assert first.second == 0


async def test_every_minute_starts_next_minute(runtime: Runtime) -> None:
    await save_everyone(runtime)
    first = await first_run(runtime, "+1m", "cron * * * * *")
    assert first == datetime(2026, 12, 2, 17, 20, tzinfo=UTC)


async def test_daily_takes_rounded_start(runtime: Runtime) -> None:
    await save_everyone(runtime)
    first = await first_run(runtime, "+1m", "daily")
    assert first == datetime(2026, 12, 2, 17, 20, tzinfo=UTC)


async def test_weekly_on_later_day(runtime: Runtime) -> None:
    await save_everyone(runtime)
    first = await first_run(runtime, "+1m", "weekly mon")
    local = first.astimezone(runtime.schedules.zone)
    assert first > NOW
    assert f"{local:%a}" == "Mon"
    assert (local.minute, local.second) == (20, 0)


async def test_start_on_cron_time_fires_then(runtime: Runtime) -> None:
    await save_everyone(runtime)
    zone = runtime.schedules.zone
    start = datetime(2026, 12, 3, 9, 0, tzinfo=zone)
    first = await first_run(runtime, "2026-12-03 09:00", "cron 0 9 * * *")
    assert first == start.astimezone(UTC)


async def test_edit_keeps_cron_after_start(runtime: Runtime) -> None:
    await save_everyone(runtime)
    request = ScheduleRequest(at="+1h", body="Hi", segment="Everyone")
    (schedule_id,) = await runtime.schedules.create(
        [await runtime.schedules.plan(request)]
    )
    before = utc_now()
    await runtime.schedules.edit(schedule_id, at="+1m", every="cron * * * * *")
    schedule = await runtime.schedules.get(schedule_id)
    assert schedule.next_run_at is not None
    assert schedule.next_run_at >= before + timedelta(minutes=1)
    assert schedule.next_run_at.second == 0
