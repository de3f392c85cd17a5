"""Pilot tests of the SMS composer at 80x24, on a real SQLite file."""

from pathlib import Path

from conftest import TERMINAL_SIZE
from sqlalchemy import func, select
from textual.app import App
from textual.widgets import Log, OptionList, Static, TextArea

from logsteer_tui.db.models import Contact, Message, MessageStatus, MessageType
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.compose_sms import ComposeSmsScreen

STYLESHEET = Path(__file__).parent.parent / "logsteer_tui" / "logsteer.tcss"


class ComposerHost(App[None]):
    """The app stylesheet and nothing but the composer, for one contact."""

    CSS_PATH = STYLESHEET

    def __init__(self, runtime: Runtime, contact_id: int) -> None:
        super().__init__()
        self.runtime = runtime
        self.contact_id = contact_id
        self.result: Message | None = None

    def on_mount(self) -> None:
        self.push_screen(ComposeSmsScreen(self.runtime, self.contact_id), self._done)

    def _done(self, result: Message | None) -> None:
        self.result = result


async def make_contact(runtime: Runtime, **values: object) -> Contact:
    fields: dict[str, object] = {
        "first_name": "Ana",
        "last_name": "Horvat",
        "mobile_1": "+385910000001",
    }
    fields.update(values)
    return await runtime.contacts.create(fields)


async def stored_messages(runtime: Runtime) -> list[Message]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(Message))).all())


async def message_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


def text_of(app: App[None], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def log_lines(app: App[None]) -> list[str]:
    return list(app.screen.query_one("#compose-log", Log).lines)


async def settle(app: App[None], pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def write(app: App[None], pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Put ``text`` at the cursor at once; typing every key is slower."""
    app.screen.query_one("#compose-body", TextArea).insert(text)
    await pilot.pause()


async def test_preview_and_counter_follow_typing(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*"Hi {{ first_name }}!")
        await pilot.pause()
        assert text_of(app, "#compose-preview") == "Hi Ana!"
        counter = text_of(app, "#compose-counter")
        assert "7 characters" in counter
        assert "GSM-7" in counter
        assert "1 part" in counter
        assert "Ana Horvat, +385 91 000 0001" in text_of(app, "#compose-title")


async def test_send_logs_sent_and_stores(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await write(app, pilot, "Hi {{ first_name }}")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        lines = log_lines(app)
        assert any(" sent: SMS " in line for line in lines)
        assert app.screen.query_one("#compose-body", TextArea).text == ""
        assert any("sent" in note.message for note in app._notifications)
        await pilot.press("escape")
        await pilot.pause()
    messages = await stored_messages(runtime)
    assert len(messages) == 1
    assert messages[0].status is MessageStatus.SENT
    assert messages[0].body == "Hi Ana"
    assert messages[0].type is MessageType.TRANSACTIONAL
    assert app.result is not None
    assert app.result.id == messages[0].id


async def test_opted_out_contact_cannot_send(runtime: Runtime) -> None:
    contact = await make_contact(runtime, do_not_send_sms=True)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        consent = app.screen.query_one("#compose-consent", Static)
        assert "Cannot send: Do not send SMS is set" in str(consent.render())
        assert consent.has_class("-refused")
        await write(app, pilot, "Hi {{ first_name }}")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert log_lines(app) == []
        assert app.screen.check_action("send", ()) is None
    assert await message_count(runtime) == 0
    assert not runtime.paths.dev_outbox_file.exists()


async def test_contact_without_mobile_cannot_send(runtime: Runtime) -> None:
    contact = await make_contact(runtime, mobile_1=None)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        assert "Mobile 1 is empty" in text_of(app, "#compose-consent")
        await write(app, pilot, "Hello")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    assert await message_count(runtime) == 0


async def test_bad_template_shows_error_sends_nothing(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await write(app, pilot, "Hi {{ nmae }}")
        await pilot.pause()
        preview = app.screen.query_one("#compose-preview", Static)
        assert "Unknown field nmae" in str(preview.render())
        assert preview.has_class("-error")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert log_lines(app) == []
    assert await message_count(runtime) == 0


async def test_empty_field_blocks_sending(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await write(app, pilot, "Hi {{ company }}")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "field company is empty" in text_of(app, "#compose-preview")
    assert await message_count(runtime) == 0


async def test_transliterate_toggle_updates_counter(runtime: Runtime) -> None:
    contact = await make_contact(runtime, first_name="Đurđica")
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await write(app, pilot, "Bok {{ first_name }}")
        await pilot.pause()
        assert "UCS-2" in text_of(app, "#compose-counter")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert text_of(app, "#compose-preview") == "Bok Djurdjica"
        assert "GSM-7" in text_of(app, "#compose-counter")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    messages = await stored_messages(runtime)
    assert [message.body for message in messages] == ["Bok Djurdjica"]


async def test_field_inserted_from_list(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*"Dear ", "ctrl+o")
        body = app.screen.query_one("#compose-body", TextArea)
        assert body.text == "Dear {{ first_name }}"
        app.screen.query_one("#compose-fields", OptionList).focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert body.text == "Dear {{ first_name }}{{ last_name }}"
        assert body.has_focus
        assert text_of(app, "#compose-preview") == "Dear AnaHorvat"


async def test_provider_error_logged_and_stored(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    runtime.paths.dev_outbox_file.mkdir(parents=True)  # a folder cannot be appended to
    app = ComposerHost(runtime, contact.id)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(app, pilot)
        await write(app, pilot, "Hello")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert any("error: SMS" in line for line in log_lines(app))
        assert app.screen.query_one("#compose-body", TextArea).text == "Hello"
    messages = await stored_messages(runtime)
    assert [message.status for message in messages] == [MessageStatus.ERROR]
