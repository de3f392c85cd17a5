"""Pilot tests at 80x24: escape asks before typed SMS text is thrown away."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.widgets import OptionList, TextArea

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.compose_sms import ComposeSmsScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    settings.listener.enabled = False


async def test_composer_escape_asks_with_text(runtime: Runtime) -> None:
    contact = await runtime.contacts.create(
        {"first_name": "Ana", "mobile_1": "+385910000001"}
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        contact_screen = ContactScreen(runtime, contact.id)
        await app.push_screen(contact_screen)
        await settle(pilot, lambda: contact_screen.contact is not None)
        await pilot.press("f3")
        await settle(
            pilot, lambda: contact_screen.query_one("#log-sms", OptionList).loaded
        )
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ComposeSmsScreen))
        composer = app.screen
        assert isinstance(composer, ComposeSmsScreen)

        await pilot.press(*"Hi there")
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, lambda: app.screen is composer)
        assert composer.query_one("#compose-body", TextArea).text == "Hi there"

        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is contact_screen)


async def test_composer_escape_closes_when_empty(runtime: Runtime) -> None:
    contact = await runtime.contacts.create(
        {"first_name": "Ana", "mobile_1": "+385910000001"}
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        composer = ComposeSmsScreen(runtime, contact.id)
        await app.push_screen(composer)
        await settle(pilot, lambda: composer.contact is not None)
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
