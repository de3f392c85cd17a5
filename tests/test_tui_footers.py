"""Pilot tests at 80x24: footers show the keys that matter, and all of them fit."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from test_segments_tui import add_people, open_segments
from textual.app import App
from textual.widgets import Footer, Tab
from textual.widgets._footer import FooterKey

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.screens.segments import SegmentBuilderScreen, SegmentsScreen


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


def shown_keys(app: App[int]) -> list[str]:
    """List the footer's keys that are wholly on screen, left of the palette's."""
    footer = app.screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = [key for key in keys if key.has_class("-command-palette")]
    right_edge = palette[0].region.x if palette else TERMINAL_SIZE[0]
    return [
        key.description
        for key in keys
        if not key.has_class("-command-palette")
        and key.region.width > 0
        and key.region.right <= right_edge
    ]


def footer_keys(app: App[int]) -> list[str]:
    footer = app.screen.query_one(Footer)
    return [
        key.description
        for key in footer.query(FooterKey)
        if not key.has_class("-command-palette")
    ]


async def test_browser_footer_shows_f6_f8(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        visible = shown_keys(app)
        for description in ("Open", "Mark", "Segments", "Schedules", "Keys"):
            assert description in visible, visible
        assert visible == footer_keys(app)
        await pilot.press("f6")
        await settle(pilot, lambda: isinstance(app.screen, SegmentsScreen))


async def test_builder_footer_shows_view_back(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        visible = shown_keys(app)
        for description in ("Add", "Edit", "Save", "View", "Back", "Keys"):
            assert description in visible, visible
        assert visible == footer_keys(app)


async def test_results_footer_fits(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        await pilot.press("v")
        await settle(pilot, lambda: isinstance(app.screen, SegmentResultsScreen))
        visible = shown_keys(app)
        assert "Back" in visible, visible
        assert "Keys" in visible, visible
        assert visible == footer_keys(app)


async def test_results_name_column_fixed(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        await pilot.press("v")
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, SegmentResultsScreen) and app.screen.total == 3
            ),
        )
        results = app.screen
        assert isinstance(results, SegmentResultsScreen)
        table = results.table
        assert table.fixed_columns == 2
        headers = [str(column.label) for column in table.columns.values()]
        assert headers[1] == "Name ▲"
        # The dates and flags come before the wide texts of the last SMS.
        assert headers.index("No SMS") < headers.index("Last sent SMS")
        await pilot.press("s")
        await settle(pilot, lambda: not results.page_loading)
        headers = [str(column.label) for column in table.columns.values()]
        assert headers[1] == "Name"
        assert "Mobile 1 ▲" in headers


async def test_contact_footer_fits(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        visible = shown_keys(app)
        for description in ("Back", "Save", "Keys"):
            assert description in visible, visible
        assert visible == footer_keys(app)
        tabs = [str(tab.label) for tab in app.screen.query(Tab)]
        assert tabs == ["f2 Details", "f3 SMS", "f4 Email", "f5 History"]
        await pilot.press("f3")
        await pilot.pause()
        visible = shown_keys(app)
        assert "New SMS" in visible, visible
        assert visible == footer_keys(app)
