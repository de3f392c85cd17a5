"""Incoming SMS whose sender matched several contacts, for an operator to link.

The list on top shows each message under review; the list below it shows the
contacts whose Mobile 1 is that sender. Picking one links the message to that
contact and applies the message's STOP or START, if it is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Label, OptionList
from textual.widgets.option_list import Option

from logsteer_tui.db.models import ConsentAction
from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import HubEvent, LogsteerScreen, PaletteCommand
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.services.events import SmsReceived
from logsteer_tui.services.inbound import ReviewCandidate, ReviewItem, StoredSms
from logsteer_tui.services.validation import format_phone
from logsteer_tui.widgets.formatting import local_time
from logsteer_tui.widgets.status_bar import StatusBar

# Characters of a message body shown in the list; the rest is under the list.
BODY_PREVIEW_CHARS = 40


def candidate_label(candidate: ReviewCandidate) -> Text:
    """Describe a contact in one line: name, email, company and the SMS opt-out."""
    name = candidate.full_name or f"Contact {candidate.id}"
    details = [part for part in (candidate.email, candidate.company) if part]
    label = Text(name, style="bold")
    if details:
        label.append("  " + " · ".join(details), style="dim")
    if candidate.do_not_send_sms:
        label.append("  no SMS", style="italic")
    return label


def link_question(
    item: ReviewItem, candidate: ReviewCandidate, action: ConsentAction | None
) -> str:
    """Return the question that confirms linking, naming any consent change."""
    name = candidate.full_name or f"contact {candidate.id}"
    question = f"Link the message from {format_phone(item.sender)} to {name}?"
    if action is ConsentAction.OPT_OUT:
        question += f" This opts {name} out of SMS."
    elif action is ConsentAction.OPT_IN:
        question += f" This opts {name} back in to SMS."
    return question


class ReviewScreen(LogsteerScreen):
    """Incoming SMS that need an operator to pick their contact.

    | Key | Action |
    | --- | --- |
    | enter | On a message: choose its contact. On a contact: link it after a yes |
    | tab | Move between the messages and the contacts |
    | r | Reload the list |
    | escape | Back |
    """

    DEFAULT_CSS = """
    ReviewScreen #review-messages {
        height: 1fr;
    }
    ReviewScreen #review-body {
        height: auto;
        max-height: 4;
        padding: 0 1;
        color: $text-muted;
    }
    ReviewScreen #review-candidates {
        height: 8;
        border-top: solid $primary;
    }
    """

    TITLE = "Review incoming SMS"
    BINDINGS = [
        Binding(
            "r",
            "reload",
            "Reload",
            id="review.reload",
            tooltip="Read the messages under review again",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="review.back",
            tooltip="Back to the previous screen",
        ),
    ]

    class Listed(Message):
        def __init__(self, items: Sequence[ReviewItem]) -> None:
            super().__init__()
            self.items = items

    class Linked(Message):
        """A message under review was linked to the contact named ``name``."""

        def __init__(self, stored: StoredSms, name: str) -> None:
            super().__init__()
            self.stored = stored
            self.name = name

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.items: list[ReviewItem] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="review-title-row"):
            yield Label("Needs review", id="review-title")
            yield Label("", id="review-count")
        yield DataTable(id="review-messages", cursor_type="row", zebra_stripes=True)
        yield Label("", id="review-body")
        yield OptionList(id="review-candidates")
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#review-messages", DataTable)

    @property
    def candidates(self) -> OptionList:
        return self.query_one("#review-candidates", OptionList)

    def on_mount(self) -> None:
        self.table.add_column("Received", key="received", width=16)
        self.table.add_column("From", key="from", width=17)
        self.table.add_column("Contacts", key="candidates", width=8)
        self.table.add_column("Message", key="body")
        self.table.focus()
        self.action_reload()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "Reload review list",
            "Read the messages under review again",
            self.action_reload,
        )

    def action_reload(self) -> None:
        self._list()

    def action_back(self) -> None:
        self.dismiss()

    @work(exclusive=True, group="review-list", exit_on_error=False)
    async def _list(self) -> None:
        items = await self.runtime.inbound.list_needs_review()
        self.post_message(self.Listed(items))

    def on_review_screen_listed(self, message: Listed) -> None:
        selected = self.highlighted()
        self.items = list(message.items)
        table = self.table
        table.clear()
        zone = self.runtime.settings.general.zone
        for item in self.items:
            preview = item.body.replace("\n", " ")
            if len(preview) > BODY_PREVIEW_CHARS:
                preview = preview[: BODY_PREVIEW_CHARS - 1] + "…"
            table.add_row(
                local_time(item.received_at, zone),
                format_phone(item.sender),
                str(len(item.candidates)),
                preview,
                key=str(item.message_id),
            )
        ids = [item.message_id for item in self.items]
        if selected is not None and selected.message_id in ids:
            table.move_cursor(row=ids.index(selected.message_id))
        total = len(self.items)
        self.query_one("#review-count", Label).update(
            f"  {total} message{'s' if total != 1 else ''}"
        )
        self._show_candidates()

    def highlighted(self) -> ReviewItem | None:
        row = self.table.cursor_row
        if not self.items or not 0 <= row < len(self.items):
            return None
        return self.items[row]

    @on(DataTable.RowHighlighted, "#review-messages")
    def _row_highlighted(self) -> None:
        self._show_candidates()

    @on(DataTable.RowSelected, "#review-messages")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.candidates.option_count:
            self.candidates.highlighted = 0
            self.candidates.focus()

    def _show_candidates(self) -> None:
        item = self.highlighted()
        body = self.query_one("#review-body", Label)
        options = self.candidates
        options.clear_options()
        if item is None:
            body.update("Nothing needs review.")
            return
        body.update(item.body)
        options.add_options(
            Option(candidate_label(candidate), id=str(candidate.id))
            for candidate in item.candidates
        )
        if options.option_count:
            # Without a highlight, Down would land on the first contact, not the
            # second, and Enter would link a contact the operator never saw chosen.
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#review-candidates")
    def _candidate_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        item = self.highlighted()
        if item is None or event.option.id is None:
            return
        chosen = next(
            candidate
            for candidate in item.candidates
            if str(candidate.id) == event.option.id
        )
        message_id = item.message_id
        action = self.runtime.inbound.keywords.action_for(item.body)
        question = link_question(item, chosen, action)

        def link_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self._link(message_id, chosen)

        self.app.push_screen(ConfirmScreen(question, "Link"), link_if_confirmed)

    @work(group="review-link", exit_on_error=False)
    async def _link(self, message_id: int, candidate: ReviewCandidate) -> None:
        stored = await self.runtime.inbound.resolve_review(message_id, candidate.id)
        self.post_message(self.Linked(stored, candidate.full_name))

    def on_review_screen_linked(self, message: Linked) -> None:
        name = message.name or f"contact {message.stored.contact_id}"
        note = ""
        if message.stored.consent_change is not None:
            note = (
                " and opted them out of SMS"
                if message.stored.consent_change.value == "opt_out"
                else " and opted them back in to SMS"
            )
        self.notify(f"Linked the message to {name}{note}.", title="Reviewed")
        self.table.focus()
        self.action_reload()

    def on_hub_event(self, message: HubEvent) -> None:
        event = message.event
        if isinstance(event, SmsReceived) and event.needs_review:
            self.action_reload()
