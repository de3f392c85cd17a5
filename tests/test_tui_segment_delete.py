"""Pilot tests at 80x24: the segment list after a delete shows what is saved."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from test_segments_data import segment_service
from test_segments_tui import add_people, table_column
from textual.widgets import Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.schedules import SchedulesScreen
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.screens.segments import SegmentsScreen


async def test_delete_leaves_no_stale_list(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_people(runtime)
    service = segment_service(runtime)
    for name in ("Alpha", "Gone", "Zagreb buyers"):
        await service.save(name, {"match": "and"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("f8")
        await settle(pilot, lambda: isinstance(app.screen, SchedulesScreen))
        await pilot.press("f6")
        await settle(
            pilot,
            lambda: isinstance(app.screen, SegmentsScreen) and not app.screen.listing,
        )
        screen = app.screen
        assert isinstance(screen, SegmentsScreen)
        await pilot.press("down", "d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        # Every list that reaches the screen from now on must be read after the
        # delete, or the screen shows a deleted segment until it is reloaded.
        applied_lists: list[list[str]] = []
        show = SegmentsScreen.on_segments_screen_listed

        def record(self: SegmentsScreen, message: SegmentsScreen.Listed) -> None:
            applied_lists.append([summary.name for summary in message.summaries])
            show(self, message)

        monkeypatch.setattr(SegmentsScreen, "on_segments_screen_listed", record)
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is screen and not screen.listing)
        await pilot.pause(0.5)
        assert applied_lists
        for names in applied_lists:
            assert "Gone" not in names
        names = table_column(app, "#segments-table", 0)
        assert "Gone" not in names
        assert names == ["Alpha", "Zagreb buyers"]
        count = str(screen.query_one("#segments-count", Label).content)
        assert count.startswith("2 segments"), count
        assert [summary.name for summary in screen.summaries] == names

        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, SegmentResultsScreen))
        results = app.screen
        assert isinstance(results, SegmentResultsScreen)
        assert results.title_text == "Zagreb buyers"
