"""Pilot tests at 80x24: the plan form rejects a text that cannot be sent."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from test_tui_schedule_form import add_marked_people, open_form_for_everyone
from textual.widgets import Button, Static

from logsteer_tui.app import LogsteerApp
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.confirm import ConfirmScreen


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi {{ coupon }}", "Message 1: Unknown field coupon; use one of first_name"),
        ("Hi {{ first_name", "Message 1: Template syntax error on line 1: "),
    ],
)
async def test_form_rejects_bad_template(
    runtime: Runtime, body: str, expected: str
) -> None:
    await add_marked_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pilot.press(*body, "tab", *"+2h", "ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "Message 1" in str(preview.content))
        text = str(preview.content)
        assert expected in text
        assert ".." not in text
        assert "Would get the SMS" not in text
        assert form.query_one("#schedule-save-button", Button).disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert await runtime.schedules.summaries() == []
