"""Pilot tests of the review screen: picking a contact for an ambiguous SMS."""

from __future__ import annotations

from conftest import TERMINAL_SIZE
from pilot import settle
from textual.widgets import DataTable, Label, OptionList

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.review import ReviewScreen
from logsteer_tui.services.webhooks import IncomingSms


def review_app(settings: Settings, paths: AppPaths) -> LogsteerApp:
    """An app whose runtime starts with the app, so the inbound writer runs."""
    settings.listener.port = 0
    return LogsteerApp(Runtime.create(settings, paths))


async def add_ambiguous_sms(runtime: Runtime, body: str) -> tuple[int, int]:
    """Store ``body`` from a number two contacts share; return their ids."""
    first = await runtime.contacts.create(
        {"first_name": "Ana", "last_name": "Horvat", "mobile_1": "+385910000002"}
    )
    second = await runtime.contacts.create(
        {"first_name": "Ivo", "last_name": "Kovac", "mobile_1": "0910000002"}
    )
    stored = await runtime.inbound.receive(
        IncomingSms("twilio", "SMreview1", "+385910000002", "+385", body)
    )
    assert stored.needs_review is True
    return first.id, second.id


async def test_review_highlights_first_candidate(
    settings: Settings, paths: AppPaths
) -> None:
    app = review_app(settings, paths)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await add_ambiguous_sms(app.runtime, "Hello")
        await pilot.press("f7")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        candidates = app.screen.query_one("#review-candidates", OptionList)
        await settle(pilot, lambda: candidates.option_count == 2)

        assert candidates.highlighted == 0


async def test_review_stop_asks_before_linking(
    settings: Settings, paths: AppPaths
) -> None:
    app = review_app(settings, paths)
    runtime = app.runtime
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        first_id, second_id = await add_ambiguous_sms(runtime, "STOP")
        await pilot.press("f7")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        review = app.screen
        table = review.query_one("#review-messages", DataTable)
        candidates = review.query_one("#review-candidates", OptionList)
        await settle(pilot, lambda: candidates.option_count == 2)
        second_name = str(candidates.get_option_at_index(1).prompt).split("  ")[0]

        await pilot.press("tab", "down", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#confirm-question", Label).content)
        assert second_name in question
        assert "out of SMS" in question

        await pilot.press("n")
        await settle(pilot, lambda: app.screen is review)
        assert table.row_count == 1
        untouched = await runtime.contacts.get(second_id)
        assert untouched.do_not_send_sms is False

        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: table.row_count == 0)

        chosen = await runtime.contacts.get(second_id)
        other = await runtime.contacts.get(first_id)
        assert chosen.do_not_send_sms is True
        assert other.do_not_send_sms is False
