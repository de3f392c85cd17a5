"""Pilot tests of the Schedules screen at 80x24: list, plan, progress, actions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from conftest import TERMINAL_SIZE
from pilot import add_people, settle
from textual.pilot import Pilot
from textual.widgets import (
    Checkbox,
    DataTable,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
)

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.db.models import ScheduleStatus
from logsteer_tui.db.types import utc_now
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.schedules import (
    DeliveriesScreen,
    ScheduleFormScreen,
    SchedulesScreen,
    ScheduleTarget,
    schedule_target,
)
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.services.events import Event, ScheduleRunProgressed
from logsteer_tui.services.schedules import ScheduleRequest
from logsteer_tui.services.segments import SegmentService


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    """Keep the webhook listener off, so tests never bind a real port."""
    settings.listener.enabled = False
    settings.sending.sms_per_second = 400


async def open_schedules(pilot: Pilot[int]) -> SchedulesScreen:
    app = pilot.app
    await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    screen = SchedulesScreen(app.runtime)  # type: ignore[attr-defined]
    await app.push_screen(screen)
    await settle(pilot, lambda: screen.query_one("#schedules-table").row_count >= 0)
    return screen


async def open_form(pilot: Pilot[int], key: str, segments: int) -> ScheduleFormScreen:
    """Press ``key`` on the Schedules screen; return the form once it lists segments."""
    app = pilot.app
    await pilot.press(key)
    await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
    form = app.screen
    assert isinstance(form, ScheduleFormScreen)
    choice = form.query_one("#schedule-segment", Select)
    # The options are the blank choice and the saved segments.
    await settle(pilot, lambda: len(choice._options) > segments)
    return form


def cells(screen: SchedulesScreen, row: int) -> list[str]:
    table = screen.query_one("#schedules-table", DataTable)
    return [str(cell) for cell in table.get_row_at(row)]


async def test_list_shows_status_and_next_run(runtime: Runtime) -> None:
    await add_people(runtime, 2)
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="2031-01-06 09:00", body="Hi", segment="Everyone")
    )
    await runtime.schedules.create([plan])
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        row = cells(screen, 0)
        assert row[1] == "active"
        assert row[2] == "2031-01-06 09:00"
        assert row[3:6] == ["0", "0", "0"]
        assert "1 schedule" in str(screen.query_one("#schedules-count", Label).content)


async def test_form_plans_two_messages_after_preview(runtime: Runtime) -> None:
    await add_people(runtime, 3)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        form.query_one("#schedule-segment").value = "Everyone"  # type: ignore[attr-defined]
        form.query_one("#schedule-body-0").value = "Reminder {{ first_name }}"  # type: ignore[attr-defined]
        form.query_one("#schedule-at-0").value = "+2h"  # type: ignore[attr-defined]
        form.query_one("#schedule-body-1").value = "Follow-up"  # type: ignore[attr-defined]
        form.query_one("#schedule-at-1").value = "+3d"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "Message 2" in str(preview.content))
        text = str(preview.content)
        assert "Contacts in the segment now: 3" in text
        assert "Reminder Ana0" in text
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is screen)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 2)
    summaries = await runtime.schedules.summaries()
    assert {summary.status for summary in summaries} == {ScheduleStatus.ACTIVE}


async def test_past_time_in_form_is_shown(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_schedules(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        form.query_one("#schedule-segment").value = "Everyone"  # type: ignore[attr-defined]
        form.query_one("#schedule-body-0").value = "Hi"  # type: ignore[attr-defined]
        form.query_one("#schedule-at-0").value = "2020-01-01 09:00"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "in the past" in str(preview.content))
        assert "'2020-01-01 09:00'" in str(preview.content)
        assert form.query_one("#schedule-save-button").disabled


async def test_progress_reaches_screen_while_it_stays_responsive(
    runtime: Runtime,
) -> None:
    await add_people(runtime, 2000)
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="+1m", body="Hi {{ first_name }}", segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    events: list[Event] = []
    runtime.hub.subscribe(events.append)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        await runtime.schedules.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
        row = screen.query_one("#schedules-progress-row")
        await settle(pilot, lambda: bool(row.display))
        # Keys are handled while the run sends: the form opens and closes.
        # How late the event loop wakes meanwhile is measured in
        # bench/bench_schedules.py, not here.
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen), 5)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is screen, 5)
        assert runtime.schedules.running_tasks()
        await settle(pilot, lambda: cells(screen, 0)[3] == "2000", 30)
        bar = screen.query_one("#schedules-progress", ProgressBar)
        assert bar.progress == 2000
    published = [event for event in events if isinstance(event, ScheduleRunProgressed)]
    assert 0 < screen.progress_events <= len(published)


async def test_key_opens_schedules(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("f8")
        await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
        commands = [command.name for command in app.palette_commands()]
        assert "Open schedules" in commands


async def test_schedule_marked_contacts_from_results(runtime: Runtime) -> None:
    await add_people(runtime, 5)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
        saved = await segments.get("Everyone")
        results = SegmentResultsScreen(runtime, saved.name, saved.definition)
        await app.push_screen(results)
        await settle(pilot, lambda: app.screen is results)
        names = [command.name for command in app.palette_commands()]
        assert "Schedule for these contacts" in names
        assert schedule_target(results) == ScheduleTarget(segment="Everyone")
        results.marked_ids = {3, 1}
        app.action_schedule_here()
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        label = form.query_one("#schedule-target", Label)
        assert "2 marked contacts" in str(label.content)
        assert form.target == ScheduleTarget(contact_ids=(1, 3))
        unsaved = SegmentResultsScreen(
            runtime, "Everyone", saved.definition, saved=False
        )
        assert schedule_target(unsaved) is None
        unsaved.marked_ids = {2}
        assert schedule_target(unsaved) == ScheduleTarget(contact_ids=(2,))


async def test_run_reasons_listed(runtime: Runtime) -> None:
    await add_people(runtime, 2)
    await runtime.contacts.create({"first_name": "Ivo"})
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="+1m", body="Hi", segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        await runtime.schedules.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
        await asyncio.gather(*runtime.schedules.running_tasks().values())
        runs = screen.query_one("#schedules-runs", DataTable)
        await settle(pilot, lambda: runs.row_count == 1)
        await settle(pilot, lambda: str(runs.get_row_at(0)[3]) == "finished")
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, DeliveriesScreen))
        table = app.screen.query_one("#deliveries-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        status, reason = (str(cell) for cell in table.get_row_at(0)[2:])
        assert status == "skipped"
        assert "Mobile 1" in reason


async def test_edit_pending_schedule_from_keys(runtime: Runtime) -> None:
    await add_people(runtime, 2)
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="2031-01-06 09:00", body="Hi", segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        body = form.query_one("#schedule-body-0", Input)
        at = form.query_one("#schedule-at-0", Input)
        assert body.value == "Hi"
        assert at.value == "2031-01-06 09:00"
        segment = form.query_one("#schedule-segment", Select)
        await settle(pilot, lambda: len(segment._options) > 1)
        assert segment.value == "Everyone"
        assert not form.query("#schedule-body-1")
        assert body.has_focus
        await pilot.press("end", "ctrl+u", *"Hello {{ first_name }}")
        await pilot.press("tab")
        assert at.has_focus
        await pilot.press("end", "ctrl+u", *"2031-01-07 10:30")
        assert body.value == "Hello {{ first_name }}"
        assert at.value == "2031-01-07 10:30"
        await pilot.press("ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "Message 1" in str(preview.content))
        assert "2031-01-07 10:30" in str(preview.content)
        assert "Hello Ana0" in str(preview.content)
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is screen)
        await settle(pilot, lambda: cells(screen, 0)[2] == "2031-01-07 10:30")
        assert cells(screen, 0)[1] == "active"
    schedule = await runtime.schedules.get(schedule_id)
    assert schedule.body == "Hello {{ first_name }}"
    assert schedule.next_run_at is not None
    zone = runtime.schedules.zone
    assert f"{schedule.next_run_at.astimezone(zone):%Y-%m-%d %H:%M}" == (
        "2031-01-07 10:30"
    )


async def test_edit_changes_segment_and_translit(runtime: Runtime) -> None:
    await add_people(runtime, 2)
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    ana1 = {"field": "first_name", "operator": "equals", "value": "Ana1"}
    only_ana1 = {"match": "and", "conditions": [ana1]}
    await segments.save("Ana1 only", only_ana1)
    plan = await runtime.schedules.plan(
        ScheduleRequest(
            at="2031-01-06 09:00",
            body="Živjeli {{ first_name }}",
            segment="Everyone",
            transliterate=False,
        )
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        form = await open_form(pilot, "e", segments=2)
        segment = form.query_one("#schedule-segment", Select)

        # From the text, back to the type and then the segment.
        await pilot.press("shift+tab", "shift+tab")
        assert segment.has_focus
        await pilot.press("enter")
        await pilot.press(*"Ana1", "enter")
        await settle(pilot, lambda: segment.value == "Ana1 only")
        translit = form.query_one("#schedule-transliterate-0", Checkbox)
        assert not translit.value
        translit.focus()
        await pilot.press("space")
        assert translit.value
        await pilot.press("ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "Message 1" in str(preview.content))
        assert "Zivjeli Ana1" in str(preview.content)
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is screen)
    schedule = await runtime.schedules.get(schedule_id)
    assert schedule.segment_name == "Ana1 only"
    assert schedule.transliterate is True
    assert schedule.body == "Živjeli {{ first_name }}"


@pytest.mark.parametrize("state", ["started", "cancelled"])
async def test_edit_rejected_with_reason(runtime: Runtime, state: str) -> None:
    await add_people(runtime, 1)
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="+1m", body="Hi", segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    if state == "started":
        await runtime.schedules.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
        await asyncio.gather(*runtime.schedules.running_tasks().values())
    else:
        await runtime.schedules.cancel(schedule_id)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        await pilot.press("e")
        await settle(pilot, lambda: bool(app._notifications))
        messages = [note.message for note in app._notifications]
        assert app.screen is screen
    # A single send that ran is finished, and neither state can be cancelled.
    reason = "is finished" if state == "started" else "is cancelled"
    assert any(reason in text and "cannot be edited" in text for text in messages)
    schedule = await runtime.schedules.get(schedule_id)
    assert schedule.body == "Hi"


async def test_rejected_pause_shows_reason(runtime: Runtime) -> None:
    await add_people(runtime, 1)
    plan = await runtime.schedules.plan(
        ScheduleRequest(at="+1h", body="Hi", segment="Everyone")
    )
    (schedule_id,) = await runtime.schedules.create([plan])
    await runtime.schedules.cancel(schedule_id)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 1)
        await pilot.press("p")
        await settle(pilot, lambda: bool(app._notifications))
        notes = [(note.title, note.message) for note in app._notifications]
        assert app.is_running
        assert app.screen is screen
    (title, message) = notes[0]
    assert title == "Schedule not paused"
    assert message == (
        f"Schedule {schedule_id} is cancelled, so it cannot be paused. Only "
        "active schedules can be paused."
    )


async def test_saved_schedule_gets_the_highlight(runtime: Runtime) -> None:
    await add_people(runtime, 2)
    for at in ("+1h", "+2h"):
        plan = await runtime.schedules.plan(
            ScheduleRequest(at=at, body="Hi", segment="Everyone")
        )
        await runtime.schedules.create([plan])
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_schedules(pilot)
        table = screen.query_one("#schedules-table", DataTable)
        await settle(pilot, lambda: table.row_count == 2)
        form = await open_form(pilot, "n", segments=1)
        form.query_one("#schedule-segment", Select).value = "Everyone"
        await pilot.press(*"Third", "tab", *"+3h")
        # A preview, and escape back to the text: typing goes on at its end.
        await pilot.press("ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "Message 1" in str(preview.content))
        await pilot.press("escape")
        body = form.query_one("#schedule-body-0", Input)
        assert body.has_focus
        await pilot.press(*" one")
        assert body.value == "Third one"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is screen)
        await settle(pilot, lambda: table.row_count == 3)
        await settle(pilot, lambda: screen.highlighted_id() == 3)
        await pilot.press("p")
        await settle(pilot, lambda: cells(screen, table.cursor_row)[1] == "paused")
    schedules = {item.id: item.status for item in await runtime.schedules.summaries()}
    assert schedules == {
        1: ScheduleStatus.ACTIVE,
        2: ScheduleStatus.ACTIVE,
        3: ScheduleStatus.PAUSED,
    }
