"""Pilot tests at 80x24 of the condition and name dialogs of the segment screens."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import TERMINAL_SIZE
from pilot import settle
from test_segments_data import add_contact, add_order, segment_service
from test_segments_tui import add_people, label_text, open_segments, pick
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Button, Footer, Input, Select
from textual.widgets._footer import FooterKey

from logsteer_tui.app import LogsteerApp
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.segment_dialogs import ConditionScreen, NameScreen
from logsteer_tui.screens.segments import SegmentBuilderScreen, SegmentsScreen
from logsteer_tui.services.segments.operators import MAX_TEXT_LENGTH
from logsteer_tui.services.segments.service import MAX_NAME_LENGTH
from logsteer_tui.services.segments.values import stored_values


async def open_dialog(pilot: Pilot[int]) -> ConditionScreen:
    app = pilot.app
    await open_segments(pilot)
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
    await pilot.press("a")
    await settle(pilot, lambda: isinstance(app.screen, ConditionScreen))
    dialog = app.screen
    assert isinstance(dialog, ConditionScreen)
    return dialog


def footer_keys(dialog: ConditionScreen) -> list[str]:
    footer = dialog.query_one(Footer)
    return [key.description for key in footer.query(FooterKey)]


def dialog_region(dialog: ConditionScreen) -> Region:
    return dialog.query_one("#segment-condition-dialog").region


async def test_dialog_footer_and_accept(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        keys = footer_keys(dialog)
        assert "Add" in keys, keys
        assert "Cancel" in keys, keys
        assert "Group" not in keys, keys
        button = dialog.query_one("#segment-condition-accept", Button)
        assert str(button.label) == "Add"
        assert dialog_region(dialog).contains_region(button.region)
        keys_hint = label_text(app, "#segment-condition-keys")
        assert keys_hint == "enter in the value or ctrl+s adds, esc cancels"


async def test_value_hint_follows_field(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_dialog(pilot)
        cases = [
            ("City", None, "text, such as Zagreb"),
            ("Order total", None, "an amount, such as 12.50"),
            ("Number of orders", None, "a whole number, such as 3"),
            ("Order date", None, "YYYY-MM-DD"),
            ("Order date", "between", "low..high, such as 2026-01-01..2026-01-31"),
            ("Order date", "within", "a whole number of days"),
            ("Order total", "between", "low..high, such as 10..20.50"),
        ]
        for field, operator, expected in cases:
            app.screen.query_one("#segment-field", Select).focus()
            await pick(pilot, field)
            if operator is not None:
                await pilot.press("tab")
                await pick(pilot, operator)
            hint = label_text(app, "#segment-value-hint")
            assert expected in hint, (field, operator, hint)
        assert "flags" not in hint


async def test_dropdowns_stay_in_dialog(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        inside = dialog_region(dialog).shrink((1, 1, 1, 1))
        for select_id in ("#segment-field", "#segment-operator"):
            if select_id == "#segment-operator":
                await pick(pilot, "Order date")
            select = dialog.query_one(select_id, Select)
            select.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert select.expanded
            overlay = select.query_one("SelectOverlay")
            assert inside.contains_region(overlay.region), (select_id, overlay.region)
            await pilot.press("escape")
            await pilot.pause()
        assert isinstance(app.screen, ConditionScreen)


async def test_choice_field_uses_list(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        await pick(pilot, "Do not send SMS")
        choice = dialog.query_one("#segment-choice", Select)
        assert choice.display
        assert not dialog.query_one("#segment-value", Input).display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConditionScreen)
        error = label_text(app, "#segment-condition-error")
        assert error == "The value is missing; pick yes or no, picked from the list."

        await pilot.press("tab", "tab")
        assert choice.has_focus
        await pick(pilot, "no")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        assert builder.definition.conditions[0].to_json() == {
            "field": "do_not_send_sms",
            "operator": "equals",
            "value": False,
        }


async def test_choice_list_of_source(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        await pick(pilot, "Source")
        choice = dialog.query_one("#segment-choice", Select)
        await pilot.press("tab", "tab")
        assert choice.has_focus
        await pilot.press("enter")
        await pilot.pause()
        overlay = choice.query_one("SelectOverlay")
        inside = dialog_region(dialog).shrink((1, 1, 1, 1))
        assert inside.contains_region(overlay.region), overlay.region
        await pilot.press(*"import", "enter")
        await pilot.pause()
        assert choice.value == "import"
        await pilot.press("tab")
        assert dialog.query_one("#segment-condition-accept", Button).has_focus
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))


async def test_long_value_error_keeps_reason(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        await pick(pilot, "City")
        dialog.query_one("#segment-value", Input).value = "Zagreb" + "x" * 2994
        await pilot.press("ctrl+s")
        await pilot.pause()
        error_label = dialog.query_one("#segment-condition-error")
        error = label_text(app, "#segment-condition-error")
        assert error.startswith("'Zagrebxxx")
        assert "(3,000 characters)" in error
        assert error.endswith("compare a shorter part with contains")
        assert dialog_region(dialog).contains_region(error_label.region)
        assert error_label.region.height <= 3

        # Typed or pasted text stops at the limit of a text value.
        value = dialog.query_one("#segment-value", Input)
        value.value = "y" * (MAX_TEXT_LENGTH - 2)
        value.focus()
        await pilot.press("end", *"zzzzz")
        assert value.value == "y" * (MAX_TEXT_LENGTH - 2) + "zz"


async def test_range_and_days_errors(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        value = dialog.query_one("#segment-value", Input)
        await pick(pilot, "Order total")
        await pilot.press("tab")
        await pick(pilot, "between")
        value.value = "5 and 2"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert label_text(app, "#segment-condition-error") == (
            "'5 and 2' is invalid: write the range as low..high, such as 10..20.50."
        )
        value.value = "5..2"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert label_text(app, "#segment-condition-error") == (
            "'5..2' is invalid: the first value is greater than the second; swap them"
        )

        dialog.query_one("#segment-field", Select).focus()
        await pick(pilot, "Order date")
        await pilot.press("tab")
        await pick(pilot, "within")
        value.value = "1" * 23
        await pilot.press("ctrl+s")
        await pilot.pause()
        error_label = dialog.query_one("#segment-condition-error")
        error = label_text(app, "#segment-condition-error")
        assert error.endswith("expected a number of days from 0 to 36500")
        assert dialog_region(dialog).contains_region(error_label.region)


async def test_name_dialog_keeps_rejected_name(runtime: Runtime) -> None:
    await add_people(runtime)
    for name in ("Everyone", "Zagreb"):
        await segment_service(runtime).save(name, {"match": "and"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_segments(pilot)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, NameScreen))
        name_input = app.screen.query_one("#segment-name-input", Input)
        assert name_input.max_length == MAX_NAME_LENGTH
        await pilot.press(*["backspace"] * 8, "enter")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        assert label_text(app, "#segment-name-error") == (
            "The name is empty; type a name, or press esc to cancel."
        )

        await pilot.press(*"Zagreb", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        assert name_input.value == "Zagreb"
        assert "'Zagreb' exists already" in label_text(app, "#segment-name-error")

        name_input.value = ""
        await pilot.press(*("x" * (MAX_NAME_LENGTH + 20)))
        assert len(name_input.value) == MAX_NAME_LENGTH
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, SegmentsScreen))
        await settle(pilot, lambda: "x" * MAX_NAME_LENGTH in screen_names(screen))


def screen_names(screen: SegmentsScreen) -> list[str]:
    return [summary.name for summary in screen.summaries]


async def test_order_status_suggests_stored(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    ana = await add_contact(runtime, first_name="Ana")
    await add_order(runtime, ana, 1_000, now, status="shipped")
    await add_order(runtime, ana, 2_000, now, status="shipped")
    await add_order(runtime, ana, 3_000, now, status="paid")
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        dialog = await open_dialog(pilot)
        await pick(pilot, "Order status")
        await settle(
            pilot,
            lambda: (
                "stored values are shipped, paid"
                in label_text(app, "#segment-value-hint")
            ),
        )
        await pilot.press("tab", "tab")
        value = dialog.query_one("#segment-value", Input)
        assert value.has_focus
        await pilot.press("s", "h")
        await settle(pilot, lambda: value._suggestion == "shipped")
        await pilot.press("right")
        assert value.value == "shipped"
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        assert builder.definition.conditions[0].to_json() == {
            "field": "order.status",
            "operator": "equals",
            "value": "shipped",
        }


async def test_stored_values_of_other_fields(runtime: Runtime) -> None:
    await add_contact(runtime, first_name="Ana")
    assert await stored_values(runtime.sessions, "first_name") == []
    assert await stored_values(runtime.sessions, "order.status") == []


async def test_edit_keeps_picked_value(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, ConditionScreen))
        await pick(pilot, "Source")
        await pilot.press("tab", "tab")
        await pick(pilot, "import")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen is builder)

        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ConditionScreen))
        dialog = app.screen
        assert isinstance(dialog, ConditionScreen)
        button = dialog.query_one("#segment-condition-accept", Button)
        assert str(button.label) == "Save"
        assert dialog.query_one("#segment-choice", Select).value == "import"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen is builder)
        assert builder.definition.conditions[0].to_json() == {
            "field": "source",
            "operator": "equals",
            "value": "import",
        }


async def test_save_as_rejects_used_name(runtime: Runtime) -> None:
    await segment_service(runtime).save("Zagreb", {"match": "and"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"Zagreb", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        assert "'Zagreb' exists already" in label_text(app, "#segment-name-error")
        await pilot.press(*" 2", "enter")
        await settle(pilot, lambda: app.screen is builder)
    names = [segment.name for segment in await segment_service(runtime).list_segments()]
    assert names == ["Zagreb", "Zagreb 2"]
