"""Pilot tests at 80x24: marking contacts and planning an SMS for the marks."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.pilot import Pilot
from textual.widgets import DataTable, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens import browser as browser_module
from logsteer_tui.screens.base import ScheduleTarget
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.help import HelpScreen
from logsteer_tui.screens.schedules import ScheduleFormScreen
from logsteer_tui.screens.segment_results import MARK, SegmentResultsScreen
from logsteer_tui.services.segments import SegmentService


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


async def add_contacts(runtime: Runtime) -> list[int]:
    ids = []
    for index, name in enumerate(["Ana", "Bruno", "Cvita"]):
        contact = await runtime.contacts.create(
            {"first_name": name, "mobile_1": f"+38591000000{index}"}
        )
        ids.append(contact.id)
    return ids


async def open_browser(pilot: Pilot[int]) -> BrowserScreen:
    app = pilot.app
    await settle(
        pilot,
        lambda: isinstance(app.screen, BrowserScreen) and not app.screen.page_loading,
    )
    screen = app.screen
    assert isinstance(screen, BrowserScreen)
    return screen


def marks_shown(screen: BrowserScreen) -> list[str]:
    table = screen.query_one("#browser-table", DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


def notes(app: LogsteerApp) -> list[str]:
    return [note.message for note in app._notifications]


async def test_space_marks_and_p_plans(runtime: Runtime) -> None:
    ana, bruno, cvita = await add_contacts(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await settle(pilot, lambda: screen.total == 3)
        await pilot.press("p")
        await settle(pilot, lambda: bool(notes(app)))
        assert "Mark contacts with space" in notes(app)[-1]
        assert app.screen is screen

        await pilot.press("space", "down", "space")
        assert screen.marked_ids == {ana, cvita}
        assert marks_shown(screen) == [MARK, "", MARK]
        count = str(screen.query_one("#browser-count", Label).content)
        assert count == "3 contacts, 2 marked"
        await pilot.press("up", "up", "space")
        assert screen.marked_ids == {cvita}
        assert marks_shown(screen) == ["", "", MARK]

        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        assert form.target == ScheduleTarget(contact_ids=(cvita,))
        label = form.query_one("#schedule-target", Label)
        assert "1 marked contact" in str(label.content)
        assert bruno not in screen.marked_ids


async def test_star_marks_search_and_u_clears(runtime: Runtime) -> None:
    ana, bruno, cvita = await add_contacts(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("slash", *"an")
        await settle(pilot, lambda: screen.total == 1)
        await pilot.press("enter", "asterisk")
        await settle(pilot, lambda: screen.marked_ids == {ana})
        assert "Marked all 1 matching contacts." in notes(app)

        await pilot.press("escape")
        await settle(pilot, lambda: screen.total == 3 and len(screen.rows) == 3)
        assert marks_shown(screen) == [MARK, "", ""]
        await pilot.press("asterisk")
        await settle(pilot, lambda: screen.marked_ids == {ana, bruno, cvita})
        assert marks_shown(screen) == [MARK, MARK, MARK]
        assert "Marked all 3 contacts." in notes(app)

        await pilot.press("u")
        await settle(pilot, lambda: not screen.marked_ids)
        assert marks_shown(screen) == ["", "", ""]
        assert "Cleared 3 marks." in notes(app)


async def test_mark_all_is_bounded(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_contacts(runtime)
    monkeypatch.setattr(browser_module, "MAX_MARKED", 2)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(screen.marked_ids) == 2)
        assert any("Marked the first 2 of 3 contacts" in text for text in notes(app))


async def test_plan_key_listed_in_help(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_browser(pilot)
        names = [command.name for command in app.palette_commands()]
        assert "Schedule for these contacts" in names
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one("#help-keys", DataTable)
        rows = [
            (str(table.get_row_at(row)[0]), str(table.get_row_at(row)[1]))
            for row in range(table.row_count)
        ]
        for entry in [("space", "Mark"), ("p", "Plan SMS"), ("*", "Mark all")]:
            assert entry in rows, entry
        assert ("u", "Unmark all") in rows


async def test_results_p_plans_marks_or_segment(runtime: Runtime) -> None:
    ana, _bruno, cvita = await add_contacts(runtime)
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Everyone", {"match": "and", "conditions": []})
    saved = await segments.get("Everyone")
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_browser(pilot)
        results = SegmentResultsScreen(runtime, saved.name, saved.definition)
        await app.push_screen(results)
        await settle(pilot, lambda: len(results.rows) == 3)
        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        assert form.target == ScheduleTarget(segment="Everyone")
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is results)

        await pilot.press("space", "down", "space")
        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        assert form.target == ScheduleTarget(contact_ids=(ana, cvita))
