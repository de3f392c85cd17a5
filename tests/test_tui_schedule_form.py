"""Pilot tests of the Plan messages form at 80x24: its look and its keys."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.pilot import Pilot
from textual.widgets import Input, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.schedules import ScheduleFormScreen, SchedulesScreen


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


async def open_form(app: LogsteerApp, pilot: Pilot[int]) -> ScheduleFormScreen:
    await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    await pilot.press("f8")
    await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
    form = app.screen
    assert isinstance(form, ScheduleFormScreen)
    return form


async def test_form_inputs_have_border_and_label(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form(app, pilot)
        inputs = list(form.query(Input))
        assert len(inputs) == 9
        focused = form.query_one("#schedule-body-0", Input)
        assert focused.has_focus
        for field in inputs:
            siblings = list(field.parent.children)  # type: ignore[union-attr]
            before = siblings[siblings.index(field) - 1]
            assert isinstance(before, Label), field.id
            assert field.styles.border_top[0] not in ("", "none"), field.id
            assert field.region.bottom <= TERMINAL_SIZE[1], field.id
        blurred = form.query_one("#schedule-at-0", Input)
        assert focused.styles.border_top[1] != blurred.styles.border_top[1]


async def test_form_escape_asks_with_text(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form(app, pilot)
        await pilot.press(*"Reminder")
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, lambda: app.screen is form)
        assert form.query_one("#schedule-body-0", Input).value == "Reminder"

        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))


async def test_form_escape_closes_when_empty(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_form(app, pilot)
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
