"""Pilot tests of the Plan messages form at 80x24: its look, keys and preview."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Label, Select, Static

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


async def add_marked_people(runtime: Runtime) -> list[int]:
    ids = []
    for index, name in enumerate(["Ana", "Ćiro", "Ema"]):
        contact = await runtime.contacts.create(
            {"first_name": name, "mobile_1": f"+38591000000{index}"}
        )
        ids.append(contact.id)
    return ids


async def open_form_for_everyone(
    app: LogsteerApp, pilot: Pilot[int]
) -> ScheduleFormScreen:
    """Mark every contact in the browser with *, then press p."""
    await settle(
        pilot,
        lambda: isinstance(app.screen, BrowserScreen) and not app.screen.page_loading,
    )
    browser = app.screen
    assert isinstance(browser, BrowserScreen)
    await pilot.press("asterisk")
    await settle(pilot, lambda: len(browser.marked_ids) == 3)
    await pilot.press("p")
    await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
    form = app.screen
    assert isinstance(form, ScheduleFormScreen)
    picker = form.query_one("#schedule-template-0", Select)
    # The picker is disabled once the templates are read and there are none.
    await settle(pilot, lambda: bool(form.templates) or picker.disabled)
    return form


async def pick_first_template(pilot: Pilot[int], form: ScheduleFormScreen) -> None:
    """From Text 1, tab to the template picker and choose its first template."""
    await pilot.press("tab", "tab", "tab")
    assert form.query_one("#schedule-template-0", Select).has_focus
    await pilot.press("enter", "down", "enter")


def preview_text(form: ScheduleFormScreen) -> str:
    return str(form.query_one("#schedule-preview", Static).content)


async def test_template_fills_text_and_is_planned(runtime: Runtime) -> None:
    ids = await add_marked_people(runtime)
    template = await runtime.schedules.save_template(
        "opening", "Hi {{ first_name }}, we open at 9."
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pilot.press("tab", *"+2h", "shift+tab")
        await pick_first_template(pilot, form)
        body = form.query_one("#schedule-body-0", Input)
        await settle(pilot, lambda: body.value == "Hi {{ first_name }}, we open at 9.")
        assert form.picked_template(0) == "opening"

        await pilot.press("ctrl+r")
        await settle(pilot, lambda: "Message 1" in preview_text(form))
        text = preview_text(form)
        assert "template opening" in text
        assert "Marked contacts: 3" in text
        assert "Contacts in the segment now" not in text
        assert "3 SMS parts; 2 in GSM-7, 1 in UCS-2" in text
        assert "Sample for Ana (GSM-7, 1 part):" in text
        assert form.query_one("#schedule-preview-box").has_focus

        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question  # type: ignore[attr-defined]
        assert question.startswith(
            "Save 1 schedule: 3 contacts, 3 SMS parts in total, first at "
        )
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    (summary,) = await runtime.schedules.summaries()
    schedule = await runtime.schedules.get(summary.id)
    assert schedule.template_id == template.id
    assert schedule.body == template.body
    assert schedule.contact_ids == ids
    assert schedule.transliterate is False


async def test_typing_over_template_plans_text(runtime: Runtime) -> None:
    await add_marked_people(runtime)
    await runtime.schedules.save_template("opening", "Hi {{ first_name }}")
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pick_first_template(pilot, form)
        body = form.query_one("#schedule-body-0", Input)
        await settle(pilot, lambda: body.value == "Hi {{ first_name }}")
        body.focus()
        await pilot.press("end", *"!")
        select = form.query_one("#schedule-template-0", Select)
        await settle(pilot, lambda: select.is_blank())
        assert form.picked_template(0) is None
        (request,) = form.requests()
        assert request.template is None
        assert request.body == "Hi {{ first_name }}!"


async def test_transliterate_switch_is_saved(runtime: Runtime) -> None:
    await add_marked_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pilot.press(*"Hi {{ first_name }}", "tab", *"+2h")
        # With no saved template the picker is disabled, so tab skips it.
        await pilot.press("tab", "tab")
        switch = form.query_one("#schedule-transliterate-0", Checkbox)
        assert switch.has_focus
        assert not switch.value
        await pilot.press("space")
        assert switch.value
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: "Message 1" in preview_text(form))
        assert "3 SMS parts; 3 in GSM-7" in preview_text(form)
        assert "Hi Ciro" in preview_text(form) or "Hi Ana" in preview_text(form)
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    (summary,) = await runtime.schedules.summaries()
    schedule = await runtime.schedules.get(summary.id)
    assert schedule.transliterate is True
    assert schedule.template_id is None


async def test_template_error_listed_once(runtime: Runtime) -> None:
    await add_marked_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        # The field exists, so only rendering for each contact finds the error.
        await pilot.press(*"Hi {{ first_name.nosuch }}", "tab", *"+2h", "ctrl+r")
        await settle(pilot, lambda: "Message 1" in preview_text(form))
        text = preview_text(form)
        assert "Failing, template error: 3" in text
        assert text.count("has no attribute 'nosuch'") == 1
        assert "3 contacts, such as contact" in text


async def test_escape_leaves_preview_then_form(runtime: Runtime) -> None:
    await add_marked_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pilot.press(*"Hi", "tab", *"+2h", "ctrl+r")
        await settle(pilot, lambda: "Message 1" in preview_text(form))
        assert form.showing_preview
        await pilot.press("escape")
        await settle(pilot, lambda: not form.showing_preview)
        assert app.screen is form
        assert form.query_one("#schedule-body-0", Input).has_focus
        # Saving still needs no new preview, as nothing changed.
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))


async def test_two_messages_confirm_totals(runtime: Runtime) -> None:
    await add_marked_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pilot.press(*"Reminder", "tab", *"+2h", "tab", *"daily")
        form.query_one("#schedule-body-1", Input).focus()
        await pilot.press(*"Follow-up", "tab", *"+3d")
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: "Message 2" in preview_text(form))
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question  # type: ignore[attr-defined]
        assert "Save 2 schedules: 3 contacts, 6 SMS parts in total" in question
        assert "A repeating schedule sends again at every run." in question
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    summaries = await runtime.schedules.summaries()
    assert len(summaries) == 2


async def test_save_before_preview_previews_then_asks(runtime: Runtime) -> None:
    await add_marked_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        form = await open_form_for_everyone(app, pilot)
        await pilot.press(*"Reminder", "tab", *"+2h")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Message 1" in preview_text(form)
        question = app.screen.question  # type: ignore[attr-defined]
        assert "Save 1 schedule: 3 contacts" in question
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    assert len(await runtime.schedules.summaries()) == 1
