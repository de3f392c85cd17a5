"""Pilot tests at 80x24: the help screen puts the current screen's keys first."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.widgets import DataTable, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.help import TOOLTIP_WIDTH, HelpScreen
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.services.segments import SegmentService

# The first rows of the help table, which fit above the fold at 80x24.
VISIBLE_ROWS = 8


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


async def test_help_lists_screen_keys_first(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana"})
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    saved = await segments.save("Everyone", {"match": "and", "conditions": []})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        results = SegmentResultsScreen(runtime, saved.name, saved.definition)
        await app.push_screen(results)
        await settle(pilot, lambda: results.total == 1)
        assert isinstance(app.focused, DataTable)

        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        title = app.screen.query_one("#help-title", Label)
        assert str(title.content) == "Keys: Segment results"

        table = app.screen.query_one("#help-keys", DataTable)
        actions = [str(table.get_row_at(row)[1]) for row in range(table.row_count)]
        top = actions[:VISIBLE_ROWS]
        # Enter shows as the DataTable's Select, which opens the contact here.
        for own in ("Mark", "Mark all", "Sort", "Reverse", "Back"):
            assert own in top, repr(actions)
        # The App's keys come after the screen's, and the keys of the focused
        # DataTable, such as the cursor keys, last.
        assert actions.index("Back") < actions.index("Quit"), repr(actions)
        for app_key in ("Quit", "Segments", "Review", "Schedules"):
            assert actions.index(app_key) < actions.index("Cursor down"), app_key
        assert actions.index("Segments") < actions.index("Next field"), repr(actions)


async def test_help_wraps_long_texts(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        title = app.screen.query_one("#help-title", Label)
        assert str(title.content) == "Keys: Contacts"
        table = app.screen.query_one("#help-keys", DataTable)
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.right <= TERMINAL_SIZE[0]
        assert table.region.right <= dialog.region.right
        for row_key, row in table.rows.items():
            tooltip = str(table.get_cell(row_key, "tooltip"))
            lines_needed = -(-len(tooltip) // TOOLTIP_WIDTH)
            assert row.height >= lines_needed, tooltip
        widths = sum(
            column.get_render_width(table) for column in table.columns.values()
        )
        assert widths <= table.region.width
