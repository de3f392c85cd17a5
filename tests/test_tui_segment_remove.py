"""Pilot tests at 80x24: the segment builder asks before removing a group."""

from __future__ import annotations

from conftest import TERMINAL_SIZE
from pilot import settle
from test_segments_tui import add_condition, add_people, open_segments
from textual.widgets import Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.segments import SegmentBuilderScreen


async def test_root_remove_asks_first(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        await add_condition(pilot, "Last name", "is", "horvat")
        await add_condition(pilot, "First name", "is", "ivo")
        assert len(builder.definition.conditions) == 2

        await pilot.press("home", "x")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#confirm-question", Label).content)
        assert "2 conditions" in question
        await pilot.press("n")
        await settle(pilot, lambda: app.screen is builder)
        assert len(builder.definition.conditions) == 2

        await pilot.press("x")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is builder)
        assert builder.definition.conditions == ()


async def test_condition_remove_asks_nothing(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        await add_condition(pilot, "Last name", "is", "horvat")
        assert builder.highlighted_path() == (0,)

        await pilot.press("x")
        await settle(pilot, lambda: builder.definition.conditions == ())
        assert app.screen is builder
