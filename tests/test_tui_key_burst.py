"""Keys that arrive in one burst, as over a slow SSH link, land in their fields."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual import events
from textual.widgets import DataTable, Input

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.contact import ContactScreen


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


async def test_tab_in_a_burst_moves_focus_first(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "mobile_1": "091 000 0001"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, BrowserScreen)
                and app.screen.query_one(DataTable).row_count > 0
            ),
        )
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        first = app.screen.query_one("#field-first_name", Input)
        first.focus()
        await pilot.pause()
        # Queued together, the way a terminal delivers keys read in one chunk.
        for key, character in (("x", "x"), ("tab", "\t"), ("y", "y")):
            app.post_message(events.Key(key, character))
        await pilot.pause()
        await pilot.pause()
        following = app.focused
        assert first.value == "Anax"
        assert isinstance(following, Input)
        assert following is not first
        assert following.value.endswith("y")


async def test_slash_in_a_burst_searches(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "mobile_1": "091 000 0001"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, BrowserScreen)
                and app.screen.query_one(DataTable).row_count > 0
            ),
        )
        app.screen.query_one(DataTable).focus()
        await pilot.pause()
        # "a" on the table means New contact; after "/" it is search text.
        for key, character in (("slash", "/"), ("a", "a"), ("n", "n")):
            app.post_message(events.Key(key, character))
        await pilot.pause()
        await pilot.pause()
        search = app.screen.query_one("#browser-search", Input)
        assert isinstance(app.screen, BrowserScreen)
        assert search.value == "an"
        # In the search field, "/" is typed like any other character.
        await pilot.press("slash")
        assert search.value == "an/"
