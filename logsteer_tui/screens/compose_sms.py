"""The SMS composer: write a template, see it personalised and counted, send it now."""

from __future__ import annotations

from datetime import tzinfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.screen import ModalScreen
from textual.widgets import (
    Footer,
    Label,
    Log,
    OptionList,
    Select,
    Static,
    Switch,
    TextArea,
)
from textual.widgets.option_list import Option
from textual.worker import Worker

from logsteer_tui.db.models import Contact, Message, MessageStatus, MessageType
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.services.sms import SmsPreview
from logsteer_tui.services.sms.encoding import SmsEncoding
from logsteer_tui.services.templates import FIELD_LABELS
from logsteer_tui.services.validation import format_phone
from logsteer_tui.widgets.worker_errors import report_worker_error

# Field values longer than this are cut in the list of fields.
FIELD_VALUE_WIDTH = 16


def counter_text(preview: SmsPreview, max_parts: int) -> str:
    """Format the counter line: characters, encoding, parts and the room left."""
    count = preview.count
    parts = f"{count.parts} part{'s' if count.parts != 1 else ''}"
    text = (
        f"{count.characters} characters · {count.encoding.value} · {parts} · "
        f"{count.remaining} left"
    )
    if count.parts > max_parts:
        text += f" · over the maximum of {max_parts} parts"
    elif count.encoding is SmsEncoding.UCS2 and not preview.transliterated:
        text += " · ctrl+t for GSM-7"
    return text


def field_prompt(name: str, value: str | None) -> Content:
    display = value if value is not None else "(empty)"
    if len(display) > FIELD_VALUE_WIDTH:
        display = display[: FIELD_VALUE_WIDTH - 1] + "…"
    style = "$text-muted" if value is None else "$text"
    return Content.from_markup(
        f"$name [{style}]$value[/]", name=f"{name:<17}", value=display
    )


def result_line(message: Message, zone: tzinfo) -> str:
    """Format the log line for a message the provider accepted or failed."""
    at = utc_now().astimezone(zone).strftime("%H:%M:%S")
    if message.status is MessageStatus.ERROR:
        return (
            f"{at} error: SMS {message.id} to {message.to_address} failed: "
            f"{message.error_code} {message.error_text}"
        )
    return (
        f"{at} {message.status.value}: SMS {message.id} to {message.to_address} "
        f"({message.provider} {message.provider_message_id})"
    )


class ComposeSmsScreen(ModalScreen[Message | None]):
    """Writes and sends one SMS to one contact; dismisses with the last sent one.

    | Key | Action |
    | --- | --- |
    | ctrl+s | Send now, with no confirmation |
    | ctrl+t | Transliterate č ć đ š ž on or off |
    | ctrl+o | Insert the highlighted field at the cursor |
    | enter (in the fields) | Insert that field |
    | escape | Close the composer, asking first when there is unsent text |
    """

    TITLE = "New SMS"
    BINDINGS = [
        Binding(
            "ctrl+s",
            "send",
            "Send",
            id="compose_sms.send",
            tooltip="Send the previewed text to this contact now",
            priority=True,
        ),
        Binding(
            "ctrl+t",
            "toggle_transliterate",
            "Transliterate",
            id="compose_sms.transliterate",
            tooltip="Replace č ć đ š ž by c c dj s z so the text stays in GSM-7",
        ),
        Binding(
            "ctrl+o",
            "insert_field",
            "Insert field",
            id="compose_sms.insert_field",
            tooltip="Insert the field highlighted in the list at the cursor",
        ),
        Binding(
            "escape",
            "close",
            "Close",
            id="compose_sms.close",
            tooltip="Close the composer; nothing more is sent",
        ),
    ]

    class Loaded(TextualMessage):
        def __init__(self, contact: Contact) -> None:
            super().__init__()
            self.contact = contact

    class Sent(TextualMessage):
        """The provider accepted or failed the message; both are stored."""

        def __init__(self, message: Message) -> None:
            super().__init__()
            self.message = message

    class Rejected(TextualMessage):
        """The SMS was rejected before anything was stored or sent."""

        def __init__(self, error: LogsteerError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, runtime: Runtime, contact_id: int) -> None:
        super().__init__(id="compose-sms-screen")
        self.runtime = runtime
        self.contact_id = contact_id
        self.contact: Contact | None = None
        self.preview: SmsPreview | None = None
        self.refusal: str | None = "Loading the contact…"
        self.sending = False
        self.last_sent: Message | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="compose-sms"):
            yield Label(f"New SMS to contact #{self.contact_id}", id="compose-title")
            yield Static("Loading the contact…", id="compose-consent")
            with Horizontal(id="compose-options"):
                yield Select(
                    [(kind.value.capitalize(), kind) for kind in MessageType],
                    value=MessageType.TRANSACTIONAL,
                    allow_blank=False,
                    id="compose-type",
                )
                yield Switch(
                    self.runtime.sms.transliterate_by_default,
                    id="compose-transliterate",
                )
                yield Label("Transliterate", id="compose-transliterate-label")
            with Horizontal(id="compose-main"):
                yield TextArea(
                    id="compose-body",
                    soft_wrap=True,
                    placeholder="Hi {{ first_name }}, …",
                )
                yield OptionList(id="compose-fields")
            yield Static("", id="compose-preview")
            yield Static("", id="compose-counter")
            yield Log(id="compose-log", max_lines=100)
        yield Footer()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def on_mount(self) -> None:
        self.query_one("#compose-body", TextArea).border_title = "Template"
        self.query_one("#compose-fields", OptionList).border_title = "Fields"
        self.query_one("#compose-preview", Static).border_title = "Preview"
        self.query_one("#compose-body", TextArea).focus()
        self._load(self.contact_id)

    @property
    def body(self) -> TextArea:
        return self.query_one("#compose-body", TextArea)

    @property
    def transliterated(self) -> bool:
        return self.query_one("#compose-transliterate", Switch).value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send":
            return None if self._send_blocker() else True
        if action == "close":
            # Closing would cancel a send between its two database writes.
            return not self.sending
        return True

    def _send_blocker(self) -> str | None:
        """Return why sending is not possible now, or None when it is."""
        if self.sending:
            return "An SMS is being sent; wait for the result."
        if self.refusal is not None:
            return self.refusal
        if self.preview is None:
            return "Fix the template first; the preview shows what is wrong."
        return None

    # Loading the contact.

    @work(exclusive=True, group="compose-sms-load", exit_on_error=False)
    async def _load(self, contact_id: int) -> None:
        contact = await self.runtime.sms.load_contact(contact_id)
        self.post_message(self.Loaded(contact))

    def on_compose_sms_screen_loaded(self, message: Loaded) -> None:
        contact = message.contact
        self.contact = contact
        name = contact.full_name or "(no name)"
        number = format_phone(contact.mobile_1) or "no Mobile 1"
        title = Content(f"New SMS to {name}, {number}")
        self.query_one("#compose-title", Label).update(title)
        self._show_fields(contact)
        self._show_consent(contact)
        self._update_preview()

    def _show_fields(self, contact: Contact) -> None:
        fields = self.query_one("#compose-fields", OptionList)
        fields.clear_options()
        for name, value in self.runtime.sms.fields(contact).items():
            option = Option(field_prompt(name, value), id=name)
            fields.add_option(option)
        fields.highlighted = 0

    def _show_consent(self, contact: Contact) -> None:
        sms = self.runtime.sms
        self.refusal = sms.refusal(contact) or sms.provider.configuration_problem()
        consent = self.query_one("#compose-consent", Static)
        if self.refusal is not None:
            consent.update(Content(f"Cannot send: {self.refusal}"))
        else:
            consent.update(
                Content(
                    f"SMS allowed · sent through {sms.provider.name} · "
                    f"up to {sms.max_parts} parts"
                )
            )
        consent.set_class(self.refusal is not None, "-refused")
        self.refresh_bindings()

    # The live preview.

    @on(TextArea.Changed, "#compose-body")
    @on(Switch.Changed, "#compose-transliterate")
    def _update_preview(self) -> None:
        if self.contact is None:
            return
        self.preview = None
        if not self.body.text.strip():
            self._show_preview("The personalised text appears here as you type.")
        else:
            try:
                preview = self.runtime.sms.preview(
                    self.contact, self.body.text, self.transliterated
                )
                self.runtime.sms.check_body(preview)
            except LogsteerError as error:
                self._show_preview(error.message, error=True)
            else:
                self.preview = preview
                counter = counter_text(preview, self.runtime.sms.max_parts)
                self._show_preview(preview.body, counter)
        self.refresh_bindings()

    def _show_preview(self, text: str, counter: str = "", error: bool = False) -> None:
        preview = self.query_one("#compose-preview", Static)
        preview.update(Content(text))
        preview.set_class(error, "-error")
        self.query_one("#compose-counter", Static).update(Content(counter))

    def action_toggle_transliterate(self) -> None:
        switch = self.query_one("#compose-transliterate", Switch)
        switch.value = not switch.value

    # Inserting fields.

    def action_insert_field(self) -> None:
        fields = self.query_one("#compose-fields", OptionList)
        if fields.highlighted is None:
            return
        self._insert_field(fields.get_option_at_index(fields.highlighted).id)

    @on(OptionList.OptionHighlighted, "#compose-fields")
    def _field_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id or ""
        label = FIELD_LABELS.get(name, "Imported attribute")
        self.query_one("#compose-fields", OptionList).border_subtitle = label

    @on(OptionList.OptionSelected, "#compose-fields")
    def _field_chosen(self, event: OptionList.OptionSelected) -> None:
        self._insert_field(event.option.id)

    def _insert_field(self, name: str | None) -> None:
        if name is None:
            return
        self.body.insert("{{ " + name + " }}")
        self.body.focus()

    # Sending.

    def action_send(self) -> None:
        blocker = self._send_blocker()
        if blocker is not None:
            self.notify(blocker, title="SMS not sent", severity="warning")
            return
        self.sending = True
        self.refresh_bindings()
        self._write_log("sending…")
        message_type = self.query_one("#compose-type", Select).value
        assert isinstance(message_type, MessageType)
        self._send(self.body.text, message_type, self.transliterated)

    @work(exclusive=True, group="compose-sms-send", exit_on_error=False)
    async def _send(
        self, template: str, message_type: MessageType, transliterated: bool
    ) -> None:
        try:
            message = await self.runtime.sms.send(
                self.contact_id, template, message_type, transliterated
            )
        except LogsteerError as error:
            self.post_message(self.Rejected(error))
            return
        self.post_message(self.Sent(message))

    def on_compose_sms_screen_sent(self, event: Sent) -> None:
        self._finish_send()
        message = event.message
        self._write_log(result_line(message, self.runtime.sms.zone))
        if message.status is MessageStatus.ERROR:
            self.notify(
                f"{message.error_code}: {message.error_text}",
                title="SMS failed",
                severity="error",
                timeout=10,
            )
            return
        self.last_sent = message
        # Clearing the text keeps a second ctrl+s from sending it twice.
        self.body.clear()
        self.notify(f"SMS {message.id} {message.status.value}.", title="SMS sent")

    def on_compose_sms_screen_rejected(self, event: Rejected) -> None:
        self._finish_send()
        error = event.error
        self._write_log(f"rejected: {error.message}")
        self.notify(error.message, title=error.title, severity="error", timeout=10)
        if self.contact is not None:
            self._load(self.contact_id)  # the consent may have changed meanwhile

    def _finish_send(self) -> None:
        self.sending = False
        self.refresh_bindings()

    def _write_log(self, line: str) -> None:
        self.query_one("#compose-log", Log).write_line(line)

    def action_close(self) -> None:
        if not self.body.text.strip():
            self.dismiss(self.last_sent)
            return

        def close_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self.dismiss(self.last_sent)

        self.app.push_screen(
            ConfirmScreen("Discard the unsent text of this SMS?", "Discard"),
            close_if_confirmed,
        )
