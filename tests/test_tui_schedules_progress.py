"""Pilot tests at 80x24: live progress, run numbers, deliveries and quitting."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from conftest import TERMINAL_SIZE
from pilot import add_people, settle
from sqlalchemy import insert, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer, Label
from textual.widgets._footer import FooterKey

from logsteer_tui.app import LogsteerApp, QuitScreen
from logsteer_tui.config import Settings
from logsteer_tui.db.models import Schedule, ScheduleRun, ScheduleRunStatus
from logsteer_tui.db.types import utc_now
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.schedules import (
    DeliveriesScreen,
    ScheduleFormScreen,
    SchedulesScreen,
)
from logsteer_tui.services.schedules import ScheduleRequest

# Slow enough that a run of PEOPLE contacts sends for about five seconds, in
# batches of two seconds' worth, so the screen is seen while the run sends.
SMS_PER_SECOND = 20
PEOPLE = 100


@pytest.fixture(autouse=True)
def slow_sending(settings: Settings) -> None:
    settings.listener.enabled = False
    settings.sending.sms_per_second = SMS_PER_SECOND


async def create(runtime: Runtime, body: str = "Hi {{ first_name }}") -> int:
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="+1m", body=body, segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    return schedule_id


async def fire(runtime: Runtime, schedule_id: int) -> None:
    await runtime.schedules.fire(schedule_id, now=utc_now() + timedelta(minutes=2))


async def open_schedules(app: LogsteerApp, pilot: Pilot[int]) -> SchedulesScreen:
    await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    await pilot.press("f8")
    await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
    screen = app.screen
    assert isinstance(screen, SchedulesScreen)
    return screen


def sent_cell(screen: SchedulesScreen) -> int:
    table = screen.query_one("#schedules-table", DataTable)
    return int(str(table.get_row_at(0)[3])) if table.row_count else 0


def progress_label(screen: SchedulesScreen) -> str:
    return str(screen.query_one("#schedules-progress-label", Label).content)


async def stop_runs(runtime: Runtime) -> None:
    tasks = list(runtime.schedules.running_tasks().values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_table_follows_run_while_sending(runtime: Runtime) -> None:
    await add_people(runtime, PEOPLE)
    schedule_id = await create(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(app, pilot)
        await settle(pilot, lambda: sent_cell(screen) == 0 and bool(screen.summaries))
        await fire(runtime, schedule_id)
        # The 10-second reload cannot explain a count seen within the run.
        await settle(
            pilot,
            lambda: (
                bool(runtime.schedules.running_tasks())
                and 0 < sent_cell(screen) < PEOPLE
            ),
        )
        label = progress_label(screen)
        assert label.startswith("Run ID ")
        assert f": {sent_cell(screen)} sent," in label
        await settle(pilot, lambda: sent_cell(screen) == PEOPLE, 20)


async def test_closed_dialog_reloads_at_once(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    await create(runtime, "First")
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(app, pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        # Written straight to the table, so no event notifies the screen.
        async with runtime.sessions() as session, session.begin():
            first = await session.scalar(select(Schedule))
            assert first is not None
            row = {
                column.key: getattr(first, column.key)
                for column in Schedule.__table__.columns
                if column.key != "id"
            }
            await session.execute(insert(Schedule), [{**row, "name": "Second"}])
        await pilot.press("escape")
        await settle(pilot, lambda: table.row_count == 2, seconds=3)


async def test_runs_numbered_per_schedule(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    first_id = await create(runtime, "First")
    second_id = await create(runtime, "Second")
    await fire(runtime, first_id)
    await fire(runtime, second_id)
    await asyncio.gather(*runtime.schedules.running_tasks().values())
    (second_run,) = await runtime.schedules.history(second_id)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(app, pilot)
        runs = screen.query_one("#schedules-runs", DataTable)
        await settle(pilot, lambda: runs.row_count == 1)
        assert screen.highlighted_id() == second_id
        labels = [str(column.label) for column in runs.columns.values()]
        assert labels[:2] == ["No.", "Run ID"]
        number, run_id = (str(cell) for cell in runs.get_row_at(0)[:2])
        assert number == "1"
        assert run_id == str(second_run.id)
        assert run_id != "1"


async def test_not_sent_lists_names_and_numbers(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    await runtime.contacts.create({"first_name": "Ivo", "last_name": "Kos"})
    await runtime.contacts.create(
        {"first_name": "Mia", "mobile_1": "+385989999999", "do_not_send_sms": True}
    )
    schedule_id = await create(runtime, "Hi")
    await fire(runtime, schedule_id)
    await asyncio.gather(*runtime.schedules.running_tasks().values())
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(app, pilot)
        bindings = {
            binding.binding.key: binding.binding.description
            for binding in screen.active_bindings.values()
        }
        assert bindings["d"] == "Not sent"
        runs = screen.query_one("#schedules-runs", DataTable)
        await settle(pilot, lambda: runs.row_count == 1)
        await settle(pilot, lambda: str(runs.get_row_at(0)[3]) == "finished")
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, DeliveriesScreen))
        table = app.screen.query_one("#deliveries-table", DataTable)
        await settle(pilot, lambda: table.row_count == 2)
        rows = {
            str(table.get_row_at(row)[0]): [str(cell) for cell in table.get_row_at(row)]
            for row in range(table.row_count)
        }
        assert rows["Ivo Kos"][1:3] == ["", "skipped"]
        assert rows["Mia"][1:3] == ["+385 98 999 9999", "skipped"]
        reason = str(app.screen.query_one("#deliveries-reason").content)  # type: ignore[attr-defined]
        assert reason


async def test_quit_asks_while_run_sends(runtime: Runtime) -> None:
    await add_people(runtime, PEOPLE)
    schedule_id = await create(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_schedules(app, pilot)
        await fire(runtime, schedule_id)
        (run_id,) = runtime.schedules.running_tasks()
        await pilot.press("ctrl+q")
        await settle(pilot, lambda: isinstance(app.screen, QuitScreen))
        question = app.screen.question  # type: ignore[attr-defined]
        assert f"Schedule run with ID {run_id} is sending." in question
        assert "goes out when Logsteer or `logsteer serve` starts again" in question
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
        assert app.is_running

        await pilot.press("ctrl+q")
        await settle(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("y")
        await settle(pilot, lambda: not app.is_running)
    await stop_runs(runtime)
    async with runtime.sessions() as session:
        run = await session.get(ScheduleRun, run_id)
    assert run is not None
    assert run.status is ScheduleRunStatus.RUNNING
    assert run.sent < PEOPLE


async def test_quit_at_once_when_idle(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("ctrl+q")
        await settle(pilot, lambda: not app.is_running)


async def test_detail_line_and_footer(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    await create(runtime, "Reminder for\n{{ first_name }}")
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(app, pilot)
        detail = screen.query_one("#schedules-detail", Label)
        await settle(pilot, lambda: bool(str(detail.content)))
        assert str(detail.content) == (
            "Schedule 1 to segment Everyone, once: Reminder for {{ first_name }}"
        )
        footer = screen.query_one(Footer)
        keys = [key for key in footer.query(FooterKey) if key.region.width > 0]
        palette = [key for key in keys if key.has_class("-command-palette")]
        shown = [
            key.description
            for key in keys
            if key not in palette and key.region.right <= palette[0].region.x
        ]
        for description in ("New", "Pause", "Send now", "Not sent", "Back", "Keys"):
            assert description in shown, shown


async def test_missed_run_explains_itself(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    schedule_id = await create(runtime, "Hi")
    await runtime.schedules.fire(schedule_id, now=utc_now() + timedelta(days=2))
    (run,) = await runtime.schedules.history(schedule_id)
    assert run.status is ScheduleRunStatus.MISSED
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(app, pilot)
        runs = screen.query_one("#schedules-runs", DataTable)
        await settle(pilot, lambda: runs.row_count == 1)
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, DeliveriesScreen))
        hint = app.screen.query_one("#deliveries-hint", Label)
        await settle(pilot, lambda: "No contact is listed" in str(hint.content))
        assert "missed run. Missed: nothing was running at" in str(hint.content)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen)

        await pilot.press("s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question  # type: ignore[attr-defined]
        assert question == (
            f"Send run ID {run.id} now? It never started, so it sends to every "
            "contact its schedule has now."
        )
        assert "interrupted" not in question
