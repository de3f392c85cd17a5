"""Segments that schedules send to: kept while in use, and runs once one is gone."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from sqlalchemy import delete, func, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.cli import main
from logsteer_tui.db.models import (
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
    ScheduleStatus,
    Segment,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.schedules import DeliveriesScreen, SchedulesScreen
from logsteer_tui.screens.segments import SegmentsScreen
from logsteer_tui.services.schedules import ScheduleError, ScheduleRequest
from logsteer_tui.services.segments import SegmentInUseError, SegmentService

EVERYONE = {"match": "and", "conditions": []}


def segments(runtime: Runtime) -> SegmentService:
    return SegmentService.from_settings(runtime.sessions, runtime.settings)


async def create(runtime: Runtime, **fields: object) -> int:
    values: dict[str, object] = {"at": "+1h", "body": "Hi", "segment": "Zagreb buyers"}
    request = ScheduleRequest(**{**values, **fields})  # type: ignore[arg-type]
    (schedule_id,) = await runtime.schedules.create(
        [await runtime.schedules.plan(request)]
    )
    return schedule_id


async def remove_segment_row(runtime: Runtime) -> None:
    """Delete the segment in SQL, as an older version or an operator could."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(delete(Segment))


async def runs_of(runtime: Runtime, schedule_id: int) -> list[ScheduleRun]:
    return list(reversed(await runtime.schedules.history(schedule_id)))


@pytest.fixture
async def zagreb(runtime: Runtime) -> Runtime:
    await runtime.contacts.create({"first_name": "Ana", "mobile_1": "+385910000001"})
    await segments(runtime).save("Zagreb buyers", EVERYONE)
    return runtime


async def test_delete_refused_naming_schedules(zagreb: Runtime) -> None:
    active = await create(zagreb)
    paused = await create(zagreb)
    await zagreb.schedules.pause(paused)
    with pytest.raises(SegmentInUseError) as caught:
        await segments(zagreb).delete("Zagreb buyers")
    assert caught.value.title == "Segment not deleted"
    assert caught.value.message == (
        f"Segment 'Zagreb buyers' is not deleted because schedules {active} "
        f"(active), {paused} (paused) send to it. Cancel them first (`logsteer "
        "schedule cancel ID`, or c on the Schedules screen), and plan the "
        "messages again for another segment if they should still go out."
    )
    assert [segment.name for segment in await segments(zagreb).list_segments()] == [
        "Zagreb buyers"
    ]


async def test_missed_schedule_keeps_segment(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    async with zagreb.sessions() as session, session.begin():
        schedule = await session.get(Schedule, schedule_id)
        assert schedule is not None
        schedule.status = ScheduleStatus.MISSED
    with pytest.raises(SegmentInUseError) as caught:
        await segments(zagreb).delete("Zagreb buyers")
    assert f"because schedule {schedule_id} (missed) sends to it" in (
        caught.value.message
    )


async def test_delete_allowed_once_cancelled(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    (contact,) = [c.id for c in await zagreb.contacts.list_all()]
    # Marked contacts keep the segment only as the place they were marked in.
    await create(zagreb, contact_ids=(contact,))
    await zagreb.schedules.cancel(schedule_id)
    await segments(zagreb).check_deletable("Zagreb buyers")
    await segments(zagreb).delete("Zagreb buyers")
    assert await segments(zagreb).list_segments() == []


async def test_fire_without_segment_fails_schedule(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    await remove_segment_row(zagreb)
    now = utc_now() + timedelta(hours=2)
    assert await zagreb.schedules.fire(schedule_id, now=now) == []
    schedule = await zagreb.schedules.get(schedule_id)
    assert schedule.status is ScheduleStatus.FAILED
    assert schedule.next_run_at is None
    (run,) = await runs_of(zagreb, schedule_id)
    assert run.status is ScheduleRunStatus.FAILED
    assert run.note == (
        f"The segment 'Zagreb buyers' of schedule {schedule_id} was deleted, so "
        "there is nobody to send to. Cancel the schedule and plan it again for "
        "another segment."
    )
    with pytest.raises(ScheduleError) as caught:
        await zagreb.schedules.send_now(run.id)
    assert caught.value.title == "Run not sent"
    assert f"so run {run.id} cannot be sent" in caught.value.message
    await zagreb.schedules.cancel(schedule_id)
    schedule = await zagreb.schedules.get(schedule_id)
    assert schedule.status is ScheduleStatus.CANCELLED


async def test_recurring_without_segment_stops(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb, every="daily")
    await remove_segment_row(zagreb)
    await zagreb.schedules.fire(schedule_id, now=utc_now() + timedelta(hours=2))
    schedule = await zagreb.schedules.get(schedule_id)
    assert schedule.status is ScheduleStatus.FAILED
    assert schedule.next_run_at is None


async def test_resume_without_segment_refused(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    await zagreb.schedules.pause(schedule_id)
    await remove_segment_row(zagreb)
    with pytest.raises(ScheduleError) as caught:
        await zagreb.schedules.resume(schedule_id)
    assert caught.value.title == "Schedule not resumed"
    assert caught.value.message == (
        f"The segment 'Zagreb buyers' of schedule {schedule_id} was deleted, so "
        "the schedule cannot be resumed. Cancel the schedule and plan it again "
        "for another segment."
    )
    assert (await zagreb.schedules.get(schedule_id)).status is ScheduleStatus.PAUSED


async def test_run_failed_by_engine_fails_schedule(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    # The segment goes after the run was made but before it found its contacts.
    async with zagreb.sessions() as session, session.begin():
        schedule = await session.get(Schedule, schedule_id)
        assert schedule is not None
        session.add(
            ScheduleRun(
                schedule_id=schedule_id,
                planned_at=schedule.next_run_at,
                status=ScheduleRunStatus.RUNNING,
                started_at=utc_now(),
            )
        )
        schedule.next_run_at = None
    await remove_segment_row(zagreb)
    await zagreb.schedules.poll()
    await asyncio.gather(*zagreb.schedules.running_tasks().values())
    (run,) = await runs_of(zagreb, schedule_id)
    assert run.status is ScheduleRunStatus.FAILED
    assert "was deleted" in run.note
    assert (await zagreb.schedules.get(schedule_id)).status is ScheduleStatus.FAILED


async def test_stranded_schedule_failed_on_poll(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    # As an older version left it: the run failed, the schedule stayed active.
    async with zagreb.sessions() as session, session.begin():
        schedule = await session.get(Schedule, schedule_id)
        assert schedule is not None
        session.add(
            ScheduleRun(
                schedule_id=schedule_id,
                planned_at=schedule.next_run_at,
                status=ScheduleRunStatus.FAILED,
                note="The segment was deleted.",
            )
        )
        schedule.next_run_at = None
    await remove_segment_row(zagreb)
    await zagreb.schedules.poll()
    assert (await zagreb.schedules.get(schedule_id)).status is ScheduleStatus.FAILED
    async with zagreb.sessions() as session:
        runs = await session.scalar(select(func.count()).select_from(ScheduleRun))
    assert runs == 1


def test_cli_delete_refused_while_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "segment.json"
    path.write_text(json.dumps(EVERYONE), encoding="utf-8")
    assert main(["segments", "save", "Zagreb buyers", "--file", str(path)]) == 0
    create = ["schedule", "create", "--segment", "Zagreb buyers", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--yes"]) == 0
    capsys.readouterr()
    assert main(["segments", "delete", "Zagreb buyers"]) == 2
    error = capsys.readouterr().err
    assert "Segment 'Zagreb buyers' is not deleted because schedule 1 (active)" in (
        error
    )
    assert "`logsteer schedule cancel ID`" in error
    assert main(["schedule", "cancel", "1"]) == 0
    assert main(["segments", "delete", "Zagreb buyers"]) == 0
    assert "Deleted segment 'Zagreb buyers'." in capsys.readouterr().out


async def open_segments(app: LogsteerApp, pilot: Pilot[int]) -> SegmentsScreen:
    await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    await pilot.press("f6")
    await settle(pilot, lambda: isinstance(app.screen, SegmentsScreen))
    screen = app.screen
    assert isinstance(screen, SegmentsScreen)
    table = screen.query_one("#segments-table", DataTable)
    await settle(pilot, lambda: table.row_count == 1)
    return screen


async def test_tui_delete_refused_before_question(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    app = LogsteerApp(zagreb)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_segments(app, pilot)
        await pilot.press("d")
        await settle(pilot, lambda: bool(app._notifications))
        (note,) = app._notifications
        assert app.screen is screen
        assert note.title == "Segment not deleted"
        assert f"because schedule {schedule_id} (active) sends to it" in note.message
        assert "Cancel it first" in note.message
    assert [segment.name for segment in await segments(zagreb).list_segments()] == [
        "Zagreb buyers"
    ]


async def test_tui_delete_unused_asks_first(zagreb: Runtime) -> None:
    app = LogsteerApp(zagreb)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(app, pilot)
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, SegmentsScreen))
    assert await segments(zagreb).list_segments() == []


async def test_tui_shows_failed_schedule_and_note(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    await remove_segment_row(zagreb)
    await zagreb.schedules.fire(schedule_id, now=utc_now() + timedelta(hours=2))
    app = LogsteerApp(zagreb)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        screen = SchedulesScreen(zagreb)
        await app.push_screen(screen)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[1]) == "failed"
        runs = screen.query_one("#schedules-runs", DataTable)
        await settle(pilot, lambda: runs.row_count == 1)
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, DeliveriesScreen))
        hint = app.screen.query_one("#deliveries-hint", Label)
        await settle(pilot, lambda: "was deleted" in str(hint.content))
        text = str(hint.content)
    assert f"The segment 'Zagreb buyers' of schedule {schedule_id} was deleted" in text
    assert "Every contact of this run got the SMS" not in text


async def test_edit_without_segment_refused(zagreb: Runtime) -> None:
    schedule_id = await create(zagreb)
    await remove_segment_row(zagreb)
    with pytest.raises(ScheduleError) as caught:
        await zagreb.schedules.editable(schedule_id)
    assert caught.value.title == "Schedule not editable"
    assert caught.value.message == (
        f"The segment 'Zagreb buyers' of schedule {schedule_id} was deleted, so "
        "the schedule cannot be edited. Cancel the schedule and plan it again "
        "for another segment."
    )
