"""Pilot tests of the command palette's entries for the screen beneath it."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.command import CommandList
from textual.widgets import Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.schedules import ScheduleFormScreen, ScheduleTarget
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.services.segments import SegmentService


def first_hit(app: LogsteerApp) -> str:
    """Return the text of the palette's first hit, or "" before it has any."""
    hits = app.screen.query(CommandList)
    if not hits or not hits.first().option_count:
        return ""
    return str(hits.first().get_option_at_index(0).prompt)


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


async def test_palette_schedules_marked_contacts(runtime: Runtime) -> None:
    for name in ("Ana", "Ivo", "Mia"):
        await runtime.contacts.create({"first_name": name, "last_name": "Horvat"})
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    saved = await segments.save("Everyone", {"match": "and", "conditions": []})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        results = SegmentResultsScreen(runtime, saved.name, saved.definition)
        await app.push_screen(results)
        await settle(pilot, lambda: results.total == 3)

        await pilot.press("space", "space")
        assert len(results.marked_ids) == 2
        marked = tuple(sorted(results.marked_ids))
        await pilot.press("ctrl+p")
        await pilot.press(*"schedule for")
        await settle(pilot, lambda: first_hit(app).startswith("Schedule for"))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))

        form = app.screen
        assert isinstance(form, ScheduleFormScreen)
        assert form.target == ScheduleTarget(contact_ids=marked)
        label = form.query_one("#schedule-target", Label)
        assert "2 marked contacts" in str(label.content)
