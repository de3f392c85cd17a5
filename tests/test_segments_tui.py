"""Pilot tests of the segment list, builder and results at 80x24."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import TERMINAL_SIZE
from pilot import settle
from test_segments_data import (
    add_address,
    add_contact,
    add_order,
    segment_service,
)
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.screens.segments import (
    ConditionScreen,
    NameScreen,
    SegmentBuilderScreen,
    SegmentsScreen,
)
from logsteer_tui.services.segments import parse_definition


async def open_segments(pilot: Pilot[int]) -> SegmentsScreen:
    app = pilot.app
    await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
    await pilot.press("f6")
    await settle(
        pilot,
        lambda: isinstance(app.screen, SegmentsScreen) and not app.screen.listing,
    )
    screen = app.screen
    assert isinstance(screen, SegmentsScreen)
    return screen


def table_column(app: LogsteerApp, table_id: str, column: int) -> list[str]:
    table = app.screen.query_one(table_id, DataTable)
    return [str(table.get_row_at(index)[column]) for index in range(table.row_count)]


def label_text(app: LogsteerApp, label_id: str) -> str:
    return str(app.screen.query_one(label_id, Label).content)


async def add_people(runtime: Runtime) -> None:
    ana = await add_contact(runtime, first_name="Ana", last_name="Horvat")
    ana_split = await add_contact(runtime, first_name="Ana", last_name="Kovač")
    ivo = await add_contact(runtime, first_name="Ivo", last_name="Horvat")
    await add_address(runtime, ana, city="Zagreb")
    await add_address(runtime, ana_split, city="Split")
    await add_address(runtime, ivo, city="Zagreb")


async def pick(pilot: Pilot[int], text: str) -> None:
    """Open the focused Select, type the start of an option and choose it."""
    await pilot.press("enter", *text, "enter")
    await pilot.pause()


async def add_condition(
    pilot: Pilot[int], field: str, operator: str, value: str
) -> None:
    app = pilot.app
    await pilot.press("a")
    await settle(pilot, lambda: isinstance(app.screen, ConditionScreen))
    await pick(pilot, field)
    await pilot.press("tab")
    await pick(pilot, operator)
    await pilot.press("tab", *value, "enter")
    await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))


async def test_build_save_reopen_segment(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        await add_condition(pilot, "First name", "starts", "an")
        await add_condition(pilot, "City", "is", "zagreb")
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        await settle(
            pilot,
            lambda: "1 contact match" in label_text(app, "#segment-builder-count"),
        )

        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"Ana in Zagreb", "enter")
        await settle(pilot, lambda: builder.segment_name == "Ana in Zagreb")
        assert not builder.dirty

        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, SegmentsScreen))
        await settle(
            pilot,
            lambda: table_column(app, "#segments-table", 0) == ["Ana in Zagreb"],
        )
        assert table_column(app, "#segments-table", 1) == ["1"]

        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, SegmentResultsScreen) and app.screen.total == 1
            ),
        )
        assert table_column(app, "#segment-results-table", 1) == ["Ana Horvat"]
        assert label_text(app, "#segment-results-count") == "1 contact"

        await pilot.press("escape", "e")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        reopened = app.screen
        assert isinstance(reopened, SegmentBuilderScreen)
        assert [line.text for line in reopened.lines] == [
            "all of (and)",
            '  • First name starts with "an"',
            '  • City is "zagreb"',
        ]
    stored = await segment_service(runtime).get("Ana in Zagreb")
    assert len(stored.definition.conditions) == 2


async def test_builder_groups_reorders_removes(runtime: Runtime) -> None:
    await add_people(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        await add_condition(pilot, "Last name", "is", "horvat")
        await pilot.press("up", "g")
        await settle(pilot, lambda: len(builder.lines) == 3)
        assert builder.highlighted_path() == (1,)
        await add_condition(pilot, "First name", "is", "ivo")
        await add_condition(pilot, "City", "is", "split")
        await settle(
            pilot,
            lambda: "1 contact match" in label_text(app, "#segment-builder-count"),
        )
        assert builder.definition.to_json()["conditions"][1]["match"] == "or"

        await pilot.press("m")
        await settle(
            pilot,
            lambda: "0 contacts match" in label_text(app, "#segment-builder-count"),
        )
        await pilot.press("m", "K")
        assert builder.highlighted_path() == (1, 0)
        assert (
            builder.definition.to_json()["conditions"][1]["conditions"][0]["value"]
            == "split"
        )
        await pilot.press("x")
        await settle(
            pilot,
            lambda: "1 contact match" in label_text(app, "#segment-builder-count"),
        )
        assert [line.text for line in builder.lines] == [
            "all of (and)",
            '  • Last name is "horvat"',
            "  any of (or)",
            '    • First name is "ivo"',
        ]

        await pilot.press("v")
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, SegmentResultsScreen) and app.screen.total == 1
            ),
        )
        results = app.screen
        assert isinstance(results, SegmentResultsScreen)
        assert results.segment_name is None
        assert table_column(app, "#segment-results-table", 1) == ["Ivo Horvat"]


async def test_results_mark_open_and_return(runtime: Runtime) -> None:
    await add_people(runtime)
    await segment_service(runtime).save(
        "Horvat",
        parse_definition(
            {
                "match": "and",
                "conditions": [
                    {"field": "last_name", "operator": "equals", "value": "horvat"}
                ],
            }
        ),
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                isinstance(app.screen, SegmentResultsScreen) and app.screen.total == 2
            ),
        )
        results = app.screen
        assert isinstance(results, SegmentResultsScreen)
        assert results.segment_name == "Horvat"
        assert table_column(app, "#segment-results-table", 1) == [
            "Ana Horvat",
            "Ivo Horvat",
        ]
        await pilot.press("space")
        assert results.marked_ids == {1}
        assert results.table.cursor_row == 1
        await pilot.press("asterisk")
        await settle(pilot, lambda: results.marked_ids == {1, 3})
        assert "2 marked" in label_text(app, "#segment-results-count")

        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is results)
        assert results.table.cursor_row == 1
        assert results.marked_ids == {1, 3}

        await runtime.contacts.update(1, {"do_not_send_sms": True})
        await settle(
            pilot,
            lambda: table_column(app, "#segment-results-table", 6)[0] == "no SMS",
        )

        await pilot.press("r")
        await settle(
            pilot,
            lambda: (
                table_column(app, "#segment-results-table", 1)
                == ["Ivo Horvat", "Ana Horvat"]
            ),
        )


async def test_condition_dialog_rejects_bad_value(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, ConditionScreen))
        await pick(pilot, "Order total")
        await pilot.press("tab")
        await pick(pilot, "greater")
        await pilot.press("tab", *"lots", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConditionScreen)
        error = label_text(app, "#segment-condition-error")
        assert "'lots' is invalid" in error
        assert "expected a number" in error


async def test_builder_sets_sum_currency(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    ana = await add_contact(runtime, first_name="Ana")
    await add_order(runtime, ana, 60_000, now)
    await add_order(runtime, ana, 70_000, now)
    ivo = await add_contact(runtime, first_name="Ivo")
    await add_order(runtime, ivo, 80_000, now)
    await add_order(runtime, ivo, 90_000, now, currency="USD")
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_segments(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        builder = app.screen
        assert isinstance(builder, SegmentBuilderScreen)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, ConditionScreen))
        currency = app.screen.query_one("#segment-currency", Input)
        await pick(pilot, "City")
        assert not currency.display
        await pick(pilot, "Sum of")
        assert currency.display
        await pilot.press("tab")
        await pick(pilot, "greater")
        await pilot.press("tab", *"1000", "tab")
        assert currency.has_focus
        await pilot.press(*"eur", "enter")
        await settle(pilot, lambda: isinstance(app.screen, SegmentBuilderScreen))
        assert [line.text for line in builder.lines] == [
            "all of (and)",
            "  • Sum of order totals greater than 1000 EUR",
        ]
        # Ivo's 800 EUR and 900 USD would pass 1000 only if added together.
        await settle(
            pilot,
            lambda: "1 contact match" in label_text(app, "#segment-builder-count"),
        )


async def test_list_renames_duplicates_deletes(runtime: Runtime) -> None:
    await add_people(runtime)
    await segment_service(runtime).save("Everyone", {"match": "and"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_segments(pilot)
        assert table_column(app, "#segments-table", 1) == ["3"]
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*["backspace"] * 8, *"All people", "enter")
        await settle(
            pilot, lambda: table_column(app, "#segments-table", 0) == ["All people"]
        )
        await pilot.press("c")
        await settle(pilot, lambda: len(screen.summaries) == 2)
        assert table_column(app, "#segments-table", 0) == [
            "All people",
            "All people (copy)",
        ]
        await pilot.press("d", "y")
        await settle(pilot, lambda: len(screen.summaries) == 1)
    names = [segment.name for segment in await segment_service(runtime).list_segments()]
    assert names == ["All people (copy)"]


async def test_palette_opens_segments(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        commands = {command.name: command for command in app.palette_commands()}
        commands["Open segments"].callback()
        await settle(pilot, lambda: isinstance(app.screen, SegmentsScreen))
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
