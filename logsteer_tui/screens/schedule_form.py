"""The form that plans new schedules or edits one, with its preview.

The form has two pages. On the first the operator writes up to three
messages, each a text or a saved template with its send time, repeat rule and
transliteration. ctrl+r checks them in a worker and turns to the second page,
the preview of each message. There ctrl+s saves after a confirmation, and
escape goes back to the messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Input,
    Label,
    Select,
    Static,
)
from textual.worker import Worker

from logsteer_tui.db.models import MessageType, Schedule, Template
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.base import ScheduleTarget
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.services.schedules import (
    SchedulePlan,
    SchedulePreview,
    ScheduleRequest,
)
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.widgets.worker_errors import report_worker_error

MESSAGE_ROWS = 3
"""Messages one form can plan at once, such as a reminder and a follow-up."""

MESSAGES_PAGE = "schedule-messages"
PREVIEW_PAGE = "schedule-preview-box"


def edit_target(schedule: Schedule) -> ScheduleTarget:
    """Return whom a stored schedule sends to, for the form that edits it."""
    if schedule.contact_ids is not None:
        return ScheduleTarget(contact_ids=tuple(schedule.contact_ids))
    return ScheduleTarget(segment=schedule.segment_name)


@dataclass(frozen=True)
class PlannedMessage:
    """One checked message of the form with its preview, ready to save."""

    plan: SchedulePlan
    preview: SchedulePreview


def confirm_question(messages: Sequence[PlannedMessage], zone: ZoneInfo) -> str:
    """Return the confirmation question for saving ``messages``, with what they send.

    Every message of one form goes to the same contacts, so the contacts are
    those of the message that reaches the most of them.
    """
    count = len(messages)
    contacts = max(message.preview.sendable for message in messages)
    parts = sum(message.preview.parts for message in messages)
    first = min(message.plan.first_run for message in messages).astimezone(zone)
    question = (
        f"Save {count} schedule{'s' if count != 1 else ''}: {contacts:,} "
        f"contact{'s' if contacts != 1 else ''}, {parts:,} SMS "
        f"part{'s' if parts != 1 else ''} in total, "
        f"first at {first:%a %Y-%m-%d %H:%M}?"
    )
    failing = sum(sum(message.preview.failed.values()) for message in messages)
    if failing:
        question += f" {failing:,} would fail, as the preview lists."
    if any(message.plan.recurrence for message in messages):
        question += " A repeating schedule sends again at every run."
    return question


class ScheduleFormScreen(ModalScreen[int]):
    """Plans up to three messages, or edits one schedule that has not started.

    It dismisses with the number of schedules saved or edited, 0 when closed.

    | Key | Action |
    | --- | --- |
    | ctrl+r | Preview the messages |
    | ctrl+s | Save, after the preview and a confirmation |
    | escape | Back from the preview; else close, asking first when text was typed |
    """

    TITLE = "Plan messages"

    BINDINGS = [
        Binding(
            "ctrl+r",
            "preview",
            "Preview",
            id="schedule_form.preview",
            tooltip="Check the messages and count who would get them now",
        ),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="schedule_form.save",
            tooltip="Save the schedules after a confirmation",
        ),
        Binding(
            "escape",
            "close",
            "Close",
            id="schedule_form.close",
            tooltip="Back to the messages from the preview, or close the form",
        ),
    ]

    class Previewed(Message):
        def __init__(self, messages: Sequence[PlannedMessage], text: str) -> None:
            super().__init__()
            self.messages = messages
            self.text = text

    class Saved(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class TemplatesLoaded(Message):
        def __init__(self, templates: Sequence[Template]) -> None:
            super().__init__()
            self.templates = templates

    def __init__(
        self,
        runtime: Runtime,
        target: ScheduleTarget | None = None,
        editing: Schedule | None = None,
    ) -> None:
        super().__init__(id="schedule-form-screen")
        self.runtime = runtime
        self.editing = editing
        self.target = target
        if editing is not None and editing.contact_ids is not None:
            self.target = edit_target(editing)
        self.planned: list[PlannedMessage] = []
        self._save_after_preview = False
        """Set by ctrl+s before a preview: ask to save once the preview is ready."""
        self.templates: dict[str, str] = {}
        """Bodies of the saved templates, by name."""

        self.initial: dict[str, Any] = {}
        """Stored values of the edited schedule, under the names edit() takes."""

        self.transliterate = runtime.sms.transliterate_by_default
        if editing is not None:
            zone = ZoneInfo(editing.timezone)
            first = editing.next_run_at or editing.starts_at
            self.initial = {
                "body": editing.body,
                "at": f"{first.astimezone(zone):%Y-%m-%d %H:%M}",
                "every": editing.rule,
                "message_type": editing.message_type,
            }
            if editing.transliterate is not None:
                self.transliterate = editing.transliterate
            self.initial["transliterate"] = self.transliterate
            if self.target is None:
                self.initial["segment"] = editing.segment_name

    @property
    def plans(self) -> list[SchedulePlan]:
        """The plans of the last preview; empty until one succeeds."""
        return [message.plan for message in self.planned]

    @property
    def row_count(self) -> int:
        """Message rows in the form: one when editing, as a schedule has one text."""
        return 1 if self.editing is not None else MESSAGE_ROWS

    @property
    def showing_preview(self) -> bool:
        return self.query_one(ContentSwitcher).current == PREVIEW_PAGE

    # Layout.

    def compose(self) -> ComposeResult:
        title = (
            f"Edit schedule {self.editing.id}"
            if self.editing is not None
            else "Plan messages"
        )
        with Vertical(id="schedule-form"):
            with Horizontal(id="schedule-form-title-row"):
                yield Label(title, classes="schedule-form-title")
                yield Label("Channel: SMS (email later)", id="schedule-channel")
            yield from self._compose_header()
            with ContentSwitcher(initial=MESSAGES_PAGE, id="schedule-pages"):
                messages = VerticalScroll(id=MESSAGES_PAGE)
                # Its fields scroll into view as they take focus, so the page
                # itself stays out of the tab order.
                messages.can_focus = False
                with messages:
                    for index in range(self.row_count):
                        yield from self._compose_message(index)
                with VerticalScroll(id=PREVIEW_PAGE):
                    yield Static(
                        "Fill in a message and a time, then press ctrl+r to preview.",
                        id="schedule-preview",
                        markup=False,
                    )
            with Horizontal(id="schedule-form-buttons"):
                yield Button("Preview (ctrl+r)", id="schedule-preview-button")
                yield Button(
                    "Save (ctrl+s)",
                    variant="primary",
                    id="schedule-save-button",
                    disabled=True,
                )
                yield Button("Close (esc)", id="schedule-close-button")

    def _compose_header(self) -> ComposeResult:
        message_type = self.initial.get("message_type", MessageType.PROMOTIONAL)
        with Horizontal(classes="schedule-form-row"):
            if self.target is not None:
                yield Label(f"To: {self.target.label}", id="schedule-target")
            else:
                segment = self.initial.get("segment")
                yield Select[str](
                    [(segment, segment)] if segment else [],
                    prompt="Segment",
                    id="schedule-segment",
                    allow_blank=True,
                    value=segment if segment else Select.NULL,
                )
            yield Select[str](
                [(member.value, member.value) for member in MessageType],
                value=message_type.value,
                allow_blank=False,
                id="schedule-type",
            )

    def _compose_message(self, index: int) -> ComposeResult:
        with Horizontal(classes="schedule-form-row"):
            yield Label(f"Text {index + 1}", classes="schedule-label")
            yield Input(
                self.initial.get("body", ""),
                placeholder="Hi {{ first_name }}, or pick a template below",
                id=f"schedule-body-{index}",
                classes="schedule-body",
                # Focus coming back from the preview must not select the text,
                # or the next key would replace the whole message.
                select_on_focus=False,
            )
        with Horizontal(classes="schedule-form-row schedule-when-row"):
            yield Label("At", classes="schedule-label")
            yield Input(
                self.initial.get("at", ""),
                placeholder="+2h or 08:30",
                id=f"schedule-at-{index}",
                classes="schedule-at",
                select_on_focus=False,
            )
            yield Label("Every", classes="schedule-label")
            yield Input(
                self.initial.get("every", ""),
                placeholder="once",
                id=f"schedule-every-{index}",
                classes="schedule-every",
                select_on_focus=False,
            )
            yield Select[str](
                [],
                prompt="Template",
                id=f"schedule-template-{index}",
                classes="schedule-template",
            )
            yield Checkbox(
                "Translit",
                self.transliterate,
                id=f"schedule-transliterate-{index}",
                classes="schedule-transliterate",
                compact=True,
                tooltip="Replace č ć đ š ž by c c dj s z so the text stays in GSM-7",
            )

    def on_mount(self) -> None:
        if self.target is None:
            self._load_segments()
        self._load_templates()
        self.query_one("#schedule-body-0", Input).focus()

    # Loading the choices.

    @work(exclusive=True, group="schedule-form-segments", exit_on_error=False)
    async def _load_segments(self) -> None:
        service = SegmentService.from_settings(
            self.runtime.sessions, self.runtime.settings
        )
        names = [segment.name for segment in await service.list_segments()]
        select = self.query_one("#schedule-segment", Select)
        chosen = select.value
        select.set_options([(name, name) for name in names])
        # New options clear the choice, such as the edited schedule's segment.
        if isinstance(chosen, str) and chosen in names:
            select.value = chosen

    @work(exclusive=True, group="schedule-form-templates", exit_on_error=False)
    async def _load_templates(self) -> None:
        templates = await self.runtime.schedules.list_templates()
        self.post_message(self.TemplatesLoaded(templates))

    def on_schedule_form_screen_templates_loaded(
        self, message: TemplatesLoaded
    ) -> None:
        self.templates = {
            template.name: template.body for template in message.templates
        }
        options = [(name, name) for name in self.templates]
        for select in self.query(".schedule-template").results(Select):
            select.set_options(options)
            select.disabled = not options
            if not options:
                select.tooltip = (
                    "No saved templates yet; save one with "
                    "`logsteer schedule template-save NAME --body TEXT`."
                )

    # Reading the form.

    def requests(self) -> list[ScheduleRequest]:
        """Read the filled message rows; a row with no text is ignored.

        A row whose text is still that of the template picked in it plans the
        template itself, as ``--template`` does on the command line.
        """
        if self.target is not None:
            segment, contact_ids = self.target.segment, self.target.contact_ids
        else:
            value = self.query_one("#schedule-segment", Select).value
            segment = value if isinstance(value, str) else None
            contact_ids = None
        message_type = MessageType(str(self.query_one("#schedule-type", Select).value))
        # A new schedule takes [schedules] grace_minutes; an edit keeps its own.
        grace = (
            timedelta(seconds=self.editing.grace_seconds)
            if self.editing is not None
            else None
        )
        requests = []
        for index in range(self.row_count):
            body = self.query_one(f"#schedule-body-{index}", Input).value
            if not body.strip():
                continue
            template = self.picked_template(index)
            requests.append(
                ScheduleRequest(
                    at=self.query_one(f"#schedule-at-{index}", Input).value,
                    body=None if template else body,
                    template=template,
                    segment=segment,
                    contact_ids=contact_ids,
                    message_type=message_type,
                    every=self.query_one(f"#schedule-every-{index}", Input).value,
                    transliterate=self.query_one(
                        f"#schedule-transliterate-{index}", Checkbox
                    ).value,
                    grace=grace,
                )
            )
        return requests

    def picked_template(self, index: int) -> str | None:
        """Return the template picked in row ``index`` while its text is unchanged."""
        value = self.query_one(f"#schedule-template-{index}", Select).value
        if not isinstance(value, str):
            return None
        body = self.query_one(f"#schedule-body-{index}", Input).value
        return value if self.templates.get(value) == body else None

    def edit_changes(self) -> dict[str, Any]:
        """Return the edited values that differ from the stored schedule."""
        values = {
            "body": self.query_one("#schedule-body-0", Input).value,
            "at": self.query_one("#schedule-at-0", Input).value,
            "every": self.query_one("#schedule-every-0", Input).value,
            "message_type": MessageType(
                str(self.query_one("#schedule-type", Select).value)
            ),
            "transliterate": self.query_one(
                "#schedule-transliterate-0", Checkbox
            ).value,
        }
        if self.target is None:
            segment = self.query_one("#schedule-segment", Select).value
            # A schedule needs a segment, so a cleared choice changes nothing.
            if isinstance(segment, str):
                values["segment"] = segment
        return {
            key: value for key, value in values.items() if value != self.initial[key]
        }

    # Changes.

    def on_input_changed(self, event: Input.Changed) -> None:
        self._invalidate()
        field_id = event.input.id or ""
        if not field_id.startswith("schedule-body-"):
            return
        # Typing over a picked template's text makes it a text of its own.
        index = field_id.removeprefix("schedule-body-")
        select = self.query_one(f"#schedule-template-{index}", Select)
        if isinstance(select.value, str) and (
            self.templates.get(select.value) != event.value
        ):
            select.clear()

    @on(Select.Changed, ".schedule-template")
    def _template_picked(self, event: Select.Changed) -> None:
        name = event.value
        if not isinstance(name, str) or name not in self.templates:
            return
        index = (event.select.id or "").removeprefix("schedule-template-")
        body = self.query_one(f"#schedule-body-{index}", Input)
        body.value = self.templates[name]

    @on(Select.Changed, "#schedule-type, #schedule-segment")
    @on(Checkbox.Changed)
    def _invalidate(self) -> None:
        # A changed form needs a new preview before it can be saved.
        self.planned = []
        self._save_after_preview = False
        self.query_one("#schedule-save-button", Button).disabled = True

    # Preview.

    @on(Button.Pressed, "#schedule-preview-button")
    def action_preview(self) -> None:
        self._start_preview()

    def _start_preview(self) -> bool:
        requests = self.requests()
        if not requests:
            self.notify("Write at least one message first.", severity="warning")
            return False
        self.query_one("#schedule-preview", Static).update("Counting …")
        self._show_page(PREVIEW_PAGE)
        self._preview(requests)
        return True

    @work(exclusive=True, group="schedule-form-preview", exit_on_error=False)
    async def _preview(self, requests: list[ScheduleRequest]) -> None:
        service = self.runtime.schedules
        planned = []
        lines: list[str] = []
        for number, request in enumerate(requests, start=1):
            try:
                plan = await service.plan(request)
            except LogsteerError as error:
                text = f"Message {number}: {error}\n\nPress escape to fix it."
                self.post_message(self.Previewed([], text))
                return
            preview = await service.preview(plan)
            first = plan.first_run.astimezone(service.zone)
            repeat = f", {plan.recurrence.rule}" if plan.recurrence else ""
            template = f", template {request.template}" if request.template else ""
            lines.append(
                f"Message {number}: {first:%a %Y-%m-%d %H:%M}{repeat}{template}"
            )
            lines.extend(f"  {line}" for line in preview.lines())
            planned.append(PlannedMessage(plan, preview))
        lines.append("")
        lines.append("ctrl+s saves, escape goes back to the messages.")
        self.post_message(self.Previewed(planned, "\n".join(lines)))

    def on_schedule_form_screen_previewed(self, message: Previewed) -> None:
        self.planned = list(message.messages)
        self.query_one("#schedule-preview", Static).update(message.text)
        self.query_one("#schedule-save-button", Button).disabled = not self.planned
        if self._save_after_preview:
            self._save_after_preview = False
            if self.planned:
                self.action_save()

    def _show_page(self, page: str) -> None:
        self.query_one(ContentSwitcher).current = page
        previewing = page == PREVIEW_PAGE
        self.query_one("#schedule-close-button", Button).label = (
            "Back (esc)" if previewing else "Close (esc)"
        )
        if previewing:
            self.query_one(f"#{PREVIEW_PAGE}").focus()
        else:
            self.query_one("#schedule-body-0", Input).focus()

    # Saving.

    @on(Button.Pressed, "#schedule-save-button")
    def action_save(self) -> None:
        if not self.planned:
            # The preview comes first; the question follows once it is ready.
            self._save_after_preview = self._start_preview()
            return
        if self.editing is not None:
            self._confirm_edit(self.editing.id)
            return
        plans = self.plans
        question = confirm_question(self.planned, self.runtime.schedules.zone)

        def saved(confirmed: bool | None) -> None:
            if confirmed:
                self._save(plans)

        self.app.push_screen(ConfirmScreen(question, confirm_label="Save"), saved)

    def _confirm_edit(self, schedule_id: int) -> None:
        changes = self.edit_changes()
        if not changes:
            self.notify("Nothing changed, so there is nothing to save.")
            return

        def saved(confirmed: bool | None) -> None:
            if confirmed:
                self._save_edit(schedule_id, changes)

        self.app.push_screen(
            ConfirmScreen(
                f"Save the changes to schedule {schedule_id}?", confirm_label="Save"
            ),
            saved,
        )

    @work(exclusive=True, group="schedule-form-save", exit_on_error=False)
    async def _save(self, plans: list[SchedulePlan]) -> None:
        ids = await self.runtime.schedules.create(plans)
        self.post_message(self.Saved(len(ids)))

    @work(exclusive=True, group="schedule-form-save", exit_on_error=False)
    async def _save_edit(self, schedule_id: int, changes: dict[str, Any]) -> None:
        # edit() checks again, because the schedule may have started meanwhile.
        await self.runtime.schedules.edit(schedule_id, **changes)
        self.post_message(self.Saved(1))

    def on_schedule_form_screen_saved(self, message: Saved) -> None:
        self.dismiss(message.count)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    # Closing.

    def has_unsaved_text(self) -> bool:
        """Return whether closing now would lose typed text or edits."""
        if self.editing is not None:
            return bool(self.edit_changes())
        return any(field.value.strip() for field in self.query(Input))

    @on(Button.Pressed, "#schedule-close-button")
    def action_close(self) -> None:
        if self.showing_preview:
            self._show_page(MESSAGES_PAGE)
            return
        if not self.has_unsaved_text():
            self.dismiss(0)
            return

        def close_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self.dismiss(0)

        self.app.push_screen(
            ConfirmScreen("Discard the messages typed in this form?", "Discard"),
            close_if_confirmed,
        )
