"""Pilot tests at 80x24: the Schedules screen reloads on its own while shown."""

from __future__ import annotations

import asyncio

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.widgets import DataTable

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.schedules import ScheduleFormScreen, SchedulesScreen
from logsteer_tui.services.schedules import ScheduleRequest
from logsteer_tui.services.segments import SegmentService

# Short enough that the test waits a fraction of a second for each reload.
RELOAD_SECONDS = 0.1


@pytest.fixture(autouse=True)
def fast_reload(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.listener.enabled = False
    monkeypatch.setattr(
        SchedulesScreen, "reload_seconds", RELOAD_SECONDS, raising=False
    )


async def create_schedule(runtime: Runtime, body: str) -> int:
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="+1h", body=body, segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    return schedule_id


async def test_schedules_reload_from_other_runtime(
    runtime: Runtime, settings: Settings, paths: AppPaths
) -> None:
    await runtime.contacts.create({"first_name": "Ana", "mobile_1": "+385910000001"})
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Everyone", {"match": "and", "conditions": []})
    first_id = await create_schedule(runtime, "First")
    second_id = await create_schedule(runtime, "Second")
    # A second runtime on the same database simulates a command run in another
    # process, because its changes reach no hub that the App listens to.
    other = Runtime.create(settings, paths)
    await other.start(background=False)
    app = LogsteerApp(runtime)
    try:
        async with app.run_test(size=TERMINAL_SIZE) as pilot:
            await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
            await pilot.press("f8")
            await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
            screen = app.screen
            assert isinstance(screen, SchedulesScreen)
            table = screen.query_one("#schedules-table", DataTable)
            await settle(pilot, lambda: table.row_count == 2)
            table.move_cursor(row=table.get_row_index(str(second_id)))
            assert screen.highlighted_id() == second_id

            await create_schedule(other, "Third")
            await settle(pilot, lambda: table.row_count == 3)
            assert screen.highlighted_id() == second_id

            await pilot.press("n")
            await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
            await create_schedule(other, "Fourth")
            # Several reload periods pass while the form covers the list.
            await asyncio.sleep(RELOAD_SECONDS * 5)
            await pilot.pause()
            assert table.row_count == 3

            await pilot.press("escape")
            await settle(pilot, lambda: table.row_count == 4)
            assert screen.highlighted_id() == second_id
            assert first_id in screen.summaries
    finally:
        await other.stop()
