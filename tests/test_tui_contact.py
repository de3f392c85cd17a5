"""Pilot tests of the contact screen at 80x24: open, edit, validate, create."""

from __future__ import annotations

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from sqlalchemy import insert
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, OptionList, TabbedContent

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.db.models import Channel, Direction, Message, MessageStatus
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.services.events import MessageStored
from logsteer_tui.widgets.contact_form import ContactForm


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    """Keep the app's webhook listener off, so tests never bind a real port."""
    settings.listener.enabled = False


async def open_contact(pilot: Pilot[int]) -> ContactScreen:
    """Wait for the browser, press enter on the highlighted row, wait for the form."""
    app = pilot.app
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, BrowserScreen)
            and app.screen.query_one(DataTable).row_count > 0
        ),
    )
    await pilot.press("enter")
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, ContactScreen) and app.screen.contact is not None
        ),
    )
    screen = app.screen
    assert isinstance(screen, ContactScreen)
    return screen


def field(screen: ContactScreen, name: str) -> Input:
    return screen.query_one(f"#field-{name}", Input)


async def replace_text(pilot: Pilot[int], text: str) -> None:
    """Select all of the focused input and type ``text`` over it."""
    await pilot.press("ctrl+shift+a", "backspace")
    await pilot.press(*[("space" if char == " " else char) for char in text])


async def add_messages(runtime: Runtime, contact_id: int) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            insert(Message),
            [
                {
                    "contact_id": contact_id,
                    "channel": Channel.SMS,
                    "direction": Direction.OUT,
                    "status": MessageStatus.DELIVERED,
                    "body": "Your order 1001 has shipped",
                },
                {
                    "contact_id": contact_id,
                    "channel": Channel.EMAIL,
                    "direction": Direction.IN,
                    "status": MessageStatus.RECEIVED,
                    "subject": "Invoice",
                    "body": "Please send the invoice again",
                },
            ],
        )


async def test_enter_opens_contact_with_details(runtime: Runtime) -> None:
    contact = await runtime.contacts.create(
        {"first_name": "Ana", "last_name": "Horvat", "mobile_1": "091 000 0001"}
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_contact(pilot)
        assert screen.contact_id == contact.id
        assert field(screen, "first_name").value == "Ana"
        assert field(screen, "mobile_1").value == "+385 91 000 0001"
        tabs = screen.query_one(TabbedContent)
        assert [pane.id for pane in tabs.query("TabPane")] == [
            "details",
            "sms",
            "email",
            "history",
        ]


async def test_bad_phone_shows_error_saves_nothing(runtime: Runtime) -> None:
    contact = await runtime.contacts.create(
        {"first_name": "Ana", "mobile_1": "091 000 0001"}
    )
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_contact(pilot)
        field(screen, "first_name").focus()
        await replace_text(pilot, "Anamarija")
        field(screen, "mobile_1").focus()
        await replace_text(pilot, "12")
        await pilot.press("ctrl+s")
        form = screen.query_one(ContactForm)
        await settle(pilot, lambda: form.error_text("mobile_1") != "")
        assert "'12'" in form.error_text("mobile_1")
        assert form.error_text("first_name") == ""
        assert app.focused is field(screen, "mobile_1")

    stored = await runtime.contacts.get(contact.id)
    assert stored.first_name == "Ana"
    assert stored.mobile_1 == "+385910000001"


async def test_edit_saves_normalised_values(runtime: Runtime) -> None:
    contact = await runtime.contacts.create({"first_name": "Ana"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_contact(pilot)
        field(screen, "mobile_1").focus()
        await replace_text(pilot, "00385 91 000 0002")
        field(screen, "email").focus()
        await replace_text(pilot, "Ana@Example.COM")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: field(screen, "email").value == "ana@example.com")
        assert field(screen, "mobile_1").value == "+385 91 000 0002"
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))

    stored = await runtime.contacts.get(contact.id)
    assert stored.mobile_1 == "+385910000002"
    assert stored.email == "ana@example.com"


async def test_new_contact_from_browser(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        screen = app.screen
        assert isinstance(screen, ContactScreen)
        assert screen.contact_id is None
        await pilot.press(*"Iva")
        field(screen, "mobile_1").focus()
        await replace_text(pilot, "091 555 1234")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: screen.contact_id is not None)
        await pilot.press("escape")
        await settle(
            pilot,
            lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 1,
        )
        assert app.screen.rows[0].first_name == "Iva"

    rows = await runtime.contacts.page()
    assert [(row.first_name, row.mobile_1) for row in rows] == [
        ("Iva", "+385915551234")
    ]


async def test_empty_new_contact_not_saved(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        screen = app.screen
        assert isinstance(screen, ContactScreen)
        await pilot.press("ctrl+s")
        form = screen.query_one(ContactForm)
        await settle(pilot, lambda: form.error_text("first_name") != "")
        assert "needs a name" in form.error_text("first_name")
        assert screen.contact_id is None
    assert await runtime.contacts.count() == 0


async def test_escape_with_edits_asks_first(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_contact(pilot)
        field(screen, "last_name").focus()
        await pilot.press(*"Kovač")
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))

    stored = (await runtime.contacts.page())[0]
    assert stored.last_name == ""


async def test_message_tabs_list_and_reload(runtime: Runtime) -> None:
    contact = await runtime.contacts.create({"first_name": "Ana"})
    await add_messages(runtime, contact.id)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_contact(pilot)
        sms = screen.query_one("#log-sms", OptionList)
        history = screen.query_one("#log-history", OptionList)
        await settle(pilot, lambda: sms.option_count == 1)
        assert "shipped" in str(sms.get_option_at_index(0).prompt)
        assert "delivered" in str(sms.get_option_at_index(0).prompt)
        await settle(pilot, lambda: history.option_count == 2)

        await pilot.press("f3")
        await settle(pilot, lambda: screen.active_tab == "sms")

        await add_messages(runtime, contact.id)
        runtime.hub.publish(MessageStored(0, contact.id, "out", "delivered"))
        await settle(pilot, lambda: history.option_count == 4)
        assert sms.option_count == 2


async def test_outside_change_reloads_unedited_form(runtime: Runtime) -> None:
    contact = await runtime.contacts.create({"first_name": "Ana"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        screen = await open_contact(pilot)
        await runtime.contacts.update(contact.id, {"do_not_send_sms": True})
        flag = screen.query_one("#field-do_not_send_sms", Checkbox)
        await settle(pilot, lambda: flag.value is True)
        assert not screen.form.is_modified()
