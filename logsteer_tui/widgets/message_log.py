"""A contact's messages, newest first, with direction, content, status and time."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from textual import work
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import OptionList
from textual.widgets.option_list import Option
from textual.worker import Worker

from logsteer_tui.db.models import Channel, Direction, Message, MessageStatus
from logsteer_tui.runtime import Runtime
from logsteer_tui.widgets.formatting import local_time
from logsteer_tui.widgets.worker_errors import report_worker_error

# Longer bodies are cut in the list; the full text stays in the database.
PREVIEW_CHARACTERS = 400
ERROR_STATUSES = frozenset(
    {MessageStatus.ERROR, MessageStatus.FAILED, MessageStatus.UNDELIVERED}
)


def message_prompt(message: Message, zone: ZoneInfo, show_channel: bool) -> Content:
    """Two or more lines for one message: a heading, then the subject and body."""
    arrow = "← in " if message.direction is Direction.IN else "→ out"
    channel = f"{message.channel.value.upper():5} " if show_channel else ""
    status_style = "$error" if message.status in ERROR_STATUSES else "$accent"
    heading = Content.from_markup(
        f"[bold]$arrow[/]  $channel[{status_style}]$status[/]  [dim]$time[/]",
        arrow=arrow,
        channel=channel,
        status=message.status.value,
        time=local_time(message.sent_at or message.created_at, zone),
    )
    lines = [heading]
    if message.error_code or message.error_text:
        error = " ".join(
            part for part in (message.error_code, message.error_text) if part
        )
        lines.append(Content.from_markup("[$error]$error[/]", error=error))
    if message.subject:
        lines.append(Content.from_markup("[bold]$subject[/]", subject=message.subject))
    body = message.body.strip()
    if len(body) > PREVIEW_CHARACTERS:
        body = body[:PREVIEW_CHARACTERS] + "…"
    lines.append(Content(body or "(empty)"))
    return Content("\n").join(lines)


class MessageLog(OptionList):
    """The messages of one contact, on one channel or on all of them.

    ``reload()`` reads them again in a worker; the App calls it through the
    contact screen when a message for this contact is stored.
    """

    class Loaded(TextualMessage):
        def __init__(self, log: MessageLog, messages: Sequence[Message]) -> None:
            super().__init__()
            self.log = log
            self.messages = messages

        @property
        def control(self) -> MessageLog:
            return self.log

    def __init__(
        self,
        runtime: Runtime,
        contact_id: int | None,
        channel: Channel | None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="message-log")
        self.runtime = runtime
        self.contact_id = contact_id
        self.channel = channel
        self.loaded = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        if self.contact_id is None:
            self._show([])
            return
        self._load(self.contact_id)

    @work(exclusive=True, group="message-log", exit_on_error=False)
    async def _load(self, contact_id: int) -> None:
        messages = await self.runtime.messages.list(contact_id, self.channel)
        self.post_message(self.Loaded(self, messages))

    def on_message_log_loaded(self, event: Loaded) -> None:
        if event.log is self:
            self._show(event.messages)

    def _show(self, messages: Sequence[Message]) -> None:
        zone = self.runtime.settings.general.zone
        highlighted = self.highlighted
        self.clear_options()
        if not messages:
            self.add_option(Option(Content.from_markup("[dim]No messages yet.[/]")))
        else:
            self.add_options(
                Option(
                    message_prompt(message, zone, self.channel is None),
                    id=str(message.id),
                )
                for message in messages
            )
            if highlighted is not None:
                self.highlighted = min(highlighted, len(messages) - 1)
        self.loaded = True
