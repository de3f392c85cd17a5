"""One contact: its details form, its SMS, its email and its whole history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane

from logsteer_tui.db.models import Channel, Contact
from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import HubEvent, LogsteerScreen, PaletteCommand
from logsteer_tui.screens.compose_sms import ComposeSmsScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.services.contacts import ContactValidationError
from logsteer_tui.services.events import ContactChanged, ContactDeleted, MessageStored
from logsteer_tui.widgets.contact_form import ContactForm
from logsteer_tui.widgets.formatting import local_date, local_time
from logsteer_tui.widgets.message_log import MessageLog
from logsteer_tui.widgets.status_bar import StatusBar

TAB_LABELS = {
    "details": "Details",
    "sms": "SMS",
    "email": "Email",
    "history": "History",
}


def related_text(contact: Contact, runtime: Runtime) -> str:
    """Format the contact's addresses, notes and orders as plain lines."""
    zone = runtime.settings.general.zone
    lines = ["Addresses"]
    for address in contact.addresses:
        parts = [address.street, f"{address.postal_code} {address.city}".strip()]
        place = ", ".join(part for part in (*parts, address.country) if part)
        lines.append(f"  {address.label or 'address'}: {place}")
    if not contact.addresses:
        lines.append("  none")
    lines.append("Notes")
    for note in contact.notes:
        lines.append(f"  {local_time(note.created_at, zone)}  {note.body}")
    if not contact.notes:
        lines.append("  none")
    lines.append("Orders")
    for order in contact.orders:
        total = f"{order.total_cents / 100:,.2f} {order.currency}"
        date = local_date(order.ordered_at, zone)
        lines.append(f"  {order.number}  {date}  {order.status:<10} {total:>14}")
    if not contact.orders:
        lines.append("  none")
    return "\n".join(lines)


class ContactScreen(LogsteerScreen):
    """Shows one contact, or an empty form for a new one when ``contact_id`` is None.

    | Key | Action |
    | --- | --- |
    | ctrl+s | Save the details |
    | f2 to f5 | Details, SMS, Email and History tabs |
    | n (SMS tab) | Write a new SMS to this contact |
    | escape | Back to the previous screen, asking first about unsaved edits |

    ``TAB_ACTIONS`` maps an action that belongs to one tab to that tab's id. Its
    binding shows and works only while that tab is active.
    """

    TITLE = "Contact"
    BINDINGS = [
        Binding(
            "escape",
            "back",
            "Back",
            id="contact.back",
            tooltip="Back to the previous screen",
        ),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="contact.save",
            tooltip="Validate and save the details",
        ),
        # The tab keys are hidden from the footer, which has no room for them at
        # 80 columns, and shown in the tab titles instead.
        Binding(
            "f2",
            "show_tab('details')",
            "Details",
            id="contact.tab_details",
            tooltip="Name, numbers, flags, addresses, notes and orders",
            show=False,
        ),
        Binding(
            "f3",
            "show_tab('sms')",
            "SMS",
            id="contact.tab_sms",
            tooltip="Text messages with this contact",
            show=False,
        ),
        Binding(
            "f4",
            "show_tab('email')",
            "Email",
            id="contact.tab_email",
            tooltip="Email with this contact",
            show=False,
        ),
        Binding(
            "f5",
            "show_tab('history')",
            "History",
            id="contact.tab_history",
            tooltip="Every message, newest first",
            show=False,
        ),
        Binding(
            "n",
            "new_sms",
            "New SMS",
            id="contact.new_sms",
            tooltip="Write an SMS to this contact and send it now",
        ),
    ]

    TAB_ACTIONS: Mapping[str, str] = {"new_sms": "sms"}

    class Loaded(Message):
        def __init__(self, contact: Contact) -> None:
            super().__init__()
            self.contact = contact

    class Saved(Message):
        def __init__(self, contact: Contact, created: bool) -> None:
            super().__init__()
            self.contact = contact
            self.created = created

    class Invalid(Message):
        def __init__(self, error: ContactValidationError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, runtime: Runtime, contact_id: int | None) -> None:
        super().__init__(runtime)
        self.contact_id = contact_id
        self.contact: Contact | None = None

    def compose(self) -> ComposeResult:
        yield Label(Content(self._title()), id="contact-title")
        with TabbedContent(id="contact-tabs", initial="details"):
            with (
                TabPane("f2 Details", id="details"),
                VerticalScroll(id="contact-details"),
            ):
                yield ContactForm(id="contact-form")
                yield Static("", id="contact-related")
            with TabPane("f3 SMS", id="sms"):
                yield MessageLog(
                    self.runtime, self.contact_id, Channel.SMS, id="log-sms"
                )
            with TabPane("f4 Email", id="email"):
                yield MessageLog(
                    self.runtime, self.contact_id, Channel.EMAIL, id="log-email"
                )
            with TabPane("f5 History", id="history"):
                yield MessageLog(self.runtime, self.contact_id, None, id="log-history")
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        yield Footer()

    @property
    def form(self) -> ContactForm:
        return self.query_one("#contact-form", ContactForm)

    @property
    def active_tab(self) -> str:
        return self.query_one("#contact-tabs", TabbedContent).active

    def on_mount(self) -> None:
        if self.contact_id is not None:
            self._load(self.contact_id)
        else:
            self.query_one("#contact-related", Static).update("")
        self.query_one("#field-first_name").focus()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "Save contact", "Validate and save the details", self.action_save
        )
        yield PaletteCommand(
            "New SMS", "Write an SMS to this contact", self.action_new_sms
        )
        for tab, label in TAB_LABELS.items():
            yield PaletteCommand(
                f"Show the {label} tab",
                "Switch the contact's tab",
                partial(self.action_show_tab, tab),
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tab = self.TAB_ACTIONS.get(action)
        if tab is not None and self.is_mounted:
            return self.active_tab == tab
        return True

    @on(TabbedContent.TabActivated, "#contact-tabs")
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def _title(self) -> str:
        if self.contact is None:
            return (
                "New contact"
                if self.contact_id is None
                else f"Contact #{self.contact_id}"
            )
        name = self.contact.full_name or self.contact.email or "(no name)"
        return f"{name}  [#{self.contact.id}]"

    # Loading and saving.

    @work(exclusive=True, group="contact-load", exit_on_error=False)
    async def _load(self, contact_id: int) -> None:
        contact = await self.runtime.contacts.get(contact_id)
        self.post_message(self.Loaded(contact))

    def on_contact_screen_loaded(self, message: Loaded) -> None:
        self._show_contact(message.contact)
        self.form.load(message.contact)

    def _show_contact(self, contact: Contact) -> None:
        self.contact = contact
        self.contact_id = contact.id
        self.query_one("#contact-title", Label).update(Content(self._title()))
        self.query_one("#contact-related", Static).update(
            Content(related_text(contact, self.runtime))
        )

    def action_save(self) -> None:
        self._save(self.contact_id, self.form.values())

    @work(exclusive=True, group="contact-save", exit_on_error=False)
    async def _save(self, contact_id: int | None, values: dict[str, Any]) -> None:
        try:
            if contact_id is None:
                contact = await self.runtime.contacts.create(values)
            else:
                contact = await self.runtime.contacts.update(contact_id, values)
        except ContactValidationError as error:
            self.post_message(self.Invalid(error))
            return
        self.post_message(self.Saved(contact, created=contact_id is None))

    def on_contact_screen_invalid(self, message: Invalid) -> None:
        self.form.show_errors(message.error.errors)
        count = len(message.error.errors)
        self.notify(
            f"Nothing was saved: {count} field{'s' if count > 1 else ''} "
            "invalid. Fix the marked fields and press ctrl+s again.",
            title="Invalid contact",
            severity="warning",
        )

    def on_contact_screen_saved(self, message: Saved) -> None:
        self._show_contact(message.contact)
        self.form.load(message.contact)
        if message.created:
            for log in self.query(MessageLog):
                log.contact_id = message.contact.id
            self.reload_messages()
        self.notify(f"Saved {self._title()}.", title="Contact saved", markup=False)

    def reload_messages(self) -> None:
        """Read the SMS, Email and History tabs again from the database."""
        for log in self.query(MessageLog):
            log.reload()

    # Navigation.

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#contact-tabs", TabbedContent).active = tab

    def action_new_sms(self) -> None:
        if self.contact_id is None:
            self.notify(
                "Save the contact first (ctrl+s); an SMS needs a stored contact.",
                title="No SMS yet",
                severity="warning",
            )
            return
        self.app.push_screen(
            ComposeSmsScreen(self.runtime, self.contact_id),
            lambda _sent: self.reload_messages(),
        )

    def action_back(self) -> None:
        if not self.form.is_modified():
            self.dismiss(None)
            return

        def leave_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen("Discard the unsaved changes to this contact?", "Discard"),
            leave_if_confirmed,
        )

    def on_hub_event(self, message: HubEvent) -> None:
        event = message.event
        if self.contact_id is None:
            return
        if isinstance(event, MessageStored) and event.contact_id == self.contact_id:
            self.reload_messages()
        elif isinstance(event, ContactChanged) and event.contact_id == self.contact_id:
            # A STOP reply or an import may change the flags while the form is
            # open; typed edits are kept and win when saved.
            if not self.form.is_modified():
                self._load(self.contact_id)
        elif isinstance(event, ContactDeleted) and event.contact_id == self.contact_id:
            self.notify("This contact was deleted.", severity="warning")
            if self.app.screen is self:
                self.dismiss(None)
