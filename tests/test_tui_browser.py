"""Pilot tests of the contact browser at 80x24: search, sort, paging, delete."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from sqlalchemy import insert
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.db.models import Contact, ContactSource
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import PAGE_SIZE, BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.services.contacts import derived_columns


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    """Keep the app's webhook listener off, so tests never bind a real port."""
    settings.listener.enabled = False


def browser(app: LogsteerApp) -> BrowserScreen:
    screen = app.screen
    assert isinstance(screen, BrowserScreen)
    return screen


def names_shown(app: LogsteerApp) -> list[str]:
    table = app.screen.query_one("#browser-table", DataTable)
    return [str(table.get_row_at(index)[1]) for index in range(table.row_count)]


async def open_browser(pilot: Pilot[int]) -> BrowserScreen:
    app = pilot.app
    assert isinstance(app, LogsteerApp)
    await settle(
        pilot,
        lambda: isinstance(app.screen, BrowserScreen) and not app.screen.page_loading,
    )
    return browser(app)


async def add_people(runtime: Runtime, count: int) -> None:
    rows = []
    for index in range(count):
        values = {
            "first_name": f"Person{index:04}",
            "last_name": "Bulk",
            "email": f"person{index:04}@example.hr",
        }
        rows.append(
            {
                **values,
                **derived_columns(values),
                "source": ContactSource.MANUAL,
                "attributes": {},
            }
        )
    async with runtime.sessions() as session, session.begin():
        await session.execute(insert(Contact), rows)


async def test_browser_lists_contacts_sorted_by_name(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Zora", "last_name": "Anić"})
    await runtime.contacts.create(
        {"first_name": "Ivo", "last_name": "Babić", "mobile_1": "091 000 0001"}
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await settle(pilot, lambda: screen.total == 2)
        assert names_shown(app) == ["Zora Anić", "Ivo Babić"]
        table = screen.query_one("#browser-table", DataTable)
        assert str(table.get_row_at(1)[2]) == "+385 91 000 0001"
        count = screen.query_one("#browser-count", Label)
        assert "2 contacts" in str(count.content)


async def test_search_filters_as_you_type(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "last_name": "Horvat"})
    await runtime.contacts.create({"first_name": "Čedo", "last_name": "Šimić"})
    await runtime.contacts.create(
        {"first_name": "Marko", "email": "marko@firma.hr", "mobile_1": "0981234567"}
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("slash", *"simic")
        await settle(pilot, lambda: names_shown(app) == ["Čedo Šimić"])
        assert screen.total == 1

        await pilot.press(*["backspace"] * 5, *"098", "space", *"123")
        await settle(pilot, lambda: names_shown(app) == ["Marko"])

        await pilot.press(*["backspace"] * 7, *"nobody")
        await settle(pilot, lambda: names_shown(app) == [])
        assert "0 found" in str(screen.query_one("#browser-count", Label).content)


async def test_down_from_search_opens_match(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "last_name": "Horvat"})
    await runtime.contacts.create({"first_name": "Ivo", "last_name": "Horvat"})
    await runtime.contacts.create({"first_name": "Marko", "last_name": "Kovač"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_browser(pilot)
        await pilot.press("slash", *"horvat")
        await settle(pilot, lambda: names_shown(app) == ["Ana Horvat", "Ivo Horvat"])
        await pilot.press("down", "down", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        assert isinstance(app.screen, ContactScreen)
        assert app.screen.contact_id == 2


async def test_paging_loads_more_rows_moving_down(runtime: Runtime) -> None:
    await add_people(runtime, 350)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        assert len(screen.rows) == PAGE_SIZE
        await settle(pilot, lambda: screen.total == 350)

        await pilot.press(*["pagedown"] * 8)
        await settle(pilot, lambda: len(screen.rows) >= 2 * PAGE_SIZE)
        assert len(screen.rows) < 350

        for _ in range(40):
            await pilot.press("ctrl+end")
            await settle(pilot, lambda: not screen.page_loading)
            if screen.exhausted:
                break
        ids = [row.id for row in screen.rows]
        assert len(ids) == 350
        assert len(set(ids)) == 350
        assert names_shown(app)[-1] == "Person0349 Bulk"


async def test_sort_keys_cycle_and_reverse(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "email": "z@x.hr"})
    await runtime.contacts.create({"first_name": "Bea", "email": "a@x.hr"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        assert names_shown(app) == ["Ana", "Bea"]
        await pilot.press("r")
        await settle(pilot, lambda: names_shown(app) == ["Bea", "Ana"])
        await pilot.press("s", "s")
        await settle(pilot, lambda: screen.query_state.sort == "email")
        await settle(pilot, lambda: names_shown(app) == ["Bea", "Ana"])
        assert not screen.query_state.descending


async def test_delete_asks_then_removes(runtime: Runtime) -> None:
    keep = await runtime.contacts.create({"first_name": "Ana"})
    doomed = await runtime.contacts.create({"first_name": "Bruno"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_browser(pilot)
        await pilot.press("down", "d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert await runtime.contacts.count() == 2

        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: names_shown(app) == ["Ana"])
        assert await runtime.contacts.count() == 1
        rows = await runtime.contacts.page()
        assert [row.id for row in rows] == [keep.id]
        assert doomed.id not in [row.id for row in browser(app).rows]


async def test_names_with_brackets_shown_as_typed(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "[bold]Ana", "last_name": "[#1]"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_browser(pilot)
        assert names_shown(app) == ["[bold]Ana [#1]"]


async def test_changed_contact_refreshes_its_row(runtime: Runtime) -> None:
    contact = await runtime.contacts.create({"first_name": "Ana"})
    await runtime.contacts.create({"first_name": "Bruno"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await runtime.contacts.update(
            contact.id, {"last_name": "Horvat", "do_not_send_sms": True}
        )
        await settle(pilot, lambda: names_shown(app)[0] == "Ana Horvat")
        table = screen.query_one("#browser-table", DataTable)
        assert str(table.get_row_at(0)[4]) == "off"
        assert names_shown(app)[1] == "Bruno"


async def test_header_click_sorts_by_column(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "email": "z@x.hr"})
    await runtime.contacts.create({"first_name": "Bea", "email": "a@x.hr"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        # The Email header starts at column 40 of the table, on its first line.
        await pilot.click("#browser-table", offset=(42, 0))
        await settle(pilot, lambda: names_shown(app) == ["Bea", "Ana"])
        assert screen.query_state.sort == "email"
        await pilot.click("#browser-table", offset=(42, 0))
        await settle(pilot, lambda: names_shown(app) == ["Ana", "Bea"])
        assert screen.query_state.descending


async def test_empty_results_explain_and_escape_clears(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        hint = screen.query_one("#browser-empty", Label)
        await settle(pilot, lambda: hint.has_class("-visible"))
        assert "Press a to create one" in str(hint.content)

        await runtime.contacts.create({"first_name": "Ana"})
        await pilot.press("slash", *"zzz")
        await settle(pilot, lambda: "No contact matches zzz" in str(hint.content))
        await pilot.press("escape")
        await settle(pilot, lambda: names_shown(app) == ["Ana"])
        assert not hint.has_class("-visible")
        assert screen.query_one("#browser-search", Input).value == ""


async def test_new_contact_elsewhere_updates_count(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_browser(pilot)
        await settle(pilot, lambda: screen.total == 1)
        await runtime.contacts.create({"first_name": "Bruno"})
        await settle(pilot, lambda: screen.total == 2)
        assert names_shown(app) == ["Ana"]
        assert screen.stale
