"""Pilot tests at 80x24: from a contact's SMS tab, `n` opens the composer."""

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Log, OptionList, Static

from logsteer_tui.app import LogsteerApp
from logsteer_tui.db.models import Contact, Message, MessageStatus
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.compose_sms import ComposeSmsScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen


@pytest.fixture(autouse=True)
def no_listener(runtime: Runtime) -> None:
    # These tests need no webhooks, and a bound port could clash with another run.
    runtime.settings.listener.enabled = False


async def open_sms_tab(pilot: Pilot[int]) -> ContactScreen:
    app = pilot.app
    await settle(
        pilot,
        lambda: isinstance(app.screen, BrowserScreen) and not app.screen.page_loading,
    )
    await pilot.press("enter")
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, ContactScreen) and app.screen.contact is not None
        ),
    )
    await pilot.press("f3")
    await settle(pilot, lambda: app.screen.query_one("#log-sms", OptionList).loaded)
    screen = app.screen
    assert isinstance(screen, ContactScreen)
    return screen


async def open_composer(pilot: Pilot[int]) -> ComposeSmsScreen:
    await pilot.press("n")
    await settle(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, ComposeSmsScreen)
            and pilot.app.screen.contact is not None
        ),
    )
    screen = pilot.app.screen
    assert isinstance(screen, ComposeSmsScreen)
    return screen


def sms_tab_text(screen: ContactScreen) -> str:
    log = screen.query_one("#log-sms", OptionList)
    return "\n".join(
        str(log.get_option_at_index(index).prompt) for index in range(log.option_count)
    )


async def message_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def make_contact(runtime: Runtime, **values: object) -> Contact:
    fields: dict[str, object] = {"first_name": "Ana", "mobile_1": "+385910000001"}
    fields.update(values)
    return await runtime.contacts.create(fields)


async def test_sms_from_contact_shows_sent(runtime: Runtime) -> None:
    await make_contact(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        contact_screen = await open_sms_tab(pilot)
        composer = await open_composer(pilot)
        await pilot.press(*"Hi {{ first_name }}")
        await pilot.pause()
        preview = composer.query_one("#compose-preview", Static)
        assert str(preview.render()) == "Hi Ana"
        counter = str(composer.query_one("#compose-counter", Static).render())
        assert "GSM-7 · 1 part" in counter
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: composer.sending is False and composer.last_sent)
        lines = list(composer.query_one("#compose-log", Log).lines)
        assert any(" sent: SMS " in line for line in lines)
        await pilot.press("escape")
        await settle(pilot, lambda: "sent" in sms_tab_text(contact_screen))
        assert "Hi Ana" in sms_tab_text(contact_screen)
    async with runtime.sessions() as session:
        message = await session.scalar(select(Message))
    assert message is not None
    assert message.status is MessageStatus.SENT


async def test_opted_out_contact_refused_in_tui(runtime: Runtime) -> None:
    await make_contact(runtime, do_not_send_sms=True)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        contact_screen = await open_sms_tab(pilot)
        composer = await open_composer(pilot)
        consent = str(composer.query_one("#compose-consent", Static).render())
        assert "Cannot send: Do not send SMS is set" in consent
        await pilot.press(*"Hi", "ctrl+s")
        await pilot.pause()
        assert list(composer.query_one("#compose-log", Log).lines) == []
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: app.screen is contact_screen)
    assert await message_count(runtime) == 0
    assert not runtime.paths.dev_outbox_file.exists()


async def test_bad_template_refused_in_tui(runtime: Runtime) -> None:
    await make_contact(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await open_sms_tab(pilot)
        composer = await open_composer(pilot)
        await pilot.press(*"{{ nmae }}")
        await pilot.pause()
        preview = composer.query_one("#compose-preview", Static)
        assert "Unknown field nmae" in str(preview.render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert list(composer.query_one("#compose-log", Log).lines) == []
    assert await message_count(runtime) == 0


async def test_new_sms_in_command_palette(runtime: Runtime) -> None:
    await make_contact(runtime)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        contact_screen = await open_sms_tab(pilot)
        names = [command.name for command in contact_screen.palette_commands()]
        assert "New SMS" in names
