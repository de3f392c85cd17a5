"""The Schedules screen: planned sends, their runs, and a form to plan new ones.

Lists and actions go through the SchedulerService from workers. Progress of a
running run arrives as ScheduleRunProgressed hub events, one per sent batch.
The screen turns each into a ProgressUpdated message, and its ``can_replace``
drops older updates of the same run still in the queue, so a fast run cannot
flood the screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
)
from textual.worker import Worker

from logsteer_tui.db.models import (
    DeliveryStatus,
    MessageType,
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
)
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import (
    HubEvent,
    LogsteerScreen,
    PaletteCommand,
    ScheduleTarget,
)
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.services.events import ScheduleChanged, ScheduleRunProgressed
from logsteer_tui.services.schedules import (
    SchedulePlan,
    ScheduleRequest,
    ScheduleSummary,
)
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.widgets.status_bar import StatusBar
from logsteer_tui.widgets.worker_errors import report_worker_error

MESSAGE_ROWS = 3
"""Messages one form can plan at once, such as a reminder and a follow-up."""

MAX_DELIVERIES_SHOWN = 500


def schedule_target(screen: Screen[Any]) -> ScheduleTarget | None:
    """Return whom "schedule for these contacts" on ``screen`` sends to.

    Each screen that lists contacts decides, in ``schedule_target``: the marked
    contacts, or on a saved segment's results with none marked the segment
    itself, evaluated again at send time. Other screens have no target.
    """
    if not isinstance(screen, LogsteerScreen):
        return None
    return screen.schedule_target()


def edit_target(schedule: Schedule) -> ScheduleTarget:
    """Return whom a stored schedule sends to, for the form that edits it."""
    if schedule.contact_ids is not None:
        return ScheduleTarget(contact_ids=tuple(schedule.contact_ids))
    return ScheduleTarget(segment=schedule.segment_name)


class ScheduleFormScreen(ModalScreen[int]):
    """Plans up to three messages, or edits one schedule that has not started.

    It dismisses with the number of schedules saved or edited, 0 when closed.

    | Key | Action |
    | --- | --- |
    | ctrl+r | Preview the messages |
    | ctrl+s | Save, after the preview and a confirmation |
    | escape | Close without saving, asking first when text was typed |
    """

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
            tooltip="Close without saving",
        ),
    ]

    class Previewed(Message):
        def __init__(self, plans: Sequence[SchedulePlan], text: str) -> None:
            super().__init__()
            self.plans = plans
            self.text = text

    class Saved(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(
        self,
        runtime: Runtime,
        target: ScheduleTarget | None = None,
        editing: Schedule | None = None,
    ) -> None:
        super().__init__(id="schedule-form-screen")
        self.runtime = runtime
        self.editing = editing
        self.target = edit_target(editing) if editing is not None else target
        self.plans: list[SchedulePlan] = []
        self.initial: dict[str, Any] = {}
        """Stored values of the edited schedule, under the names edit() takes."""
        if editing is not None:
            zone = ZoneInfo(editing.timezone)
            first = editing.next_run_at or editing.starts_at
            self.initial = {
                "body": editing.body,
                "at": f"{first.astimezone(zone):%Y-%m-%d %H:%M}",
                "every": editing.rule,
                "message_type": editing.message_type,
            }

    @property
    def row_count(self) -> int:
        """Message rows in the form: one when editing, as a schedule has one text."""
        return 1 if self.editing is not None else MESSAGE_ROWS

    def compose(self) -> ComposeResult:
        title = (
            f"Edit schedule {self.editing.id}"
            if self.editing is not None
            else "Plan messages"
        )
        message_type = self.initial.get("message_type", MessageType.PROMOTIONAL)
        with Vertical(id="schedule-form"):
            yield Label(title, classes="schedule-form-title")
            with Horizontal(classes="schedule-form-row"):
                if self.target is not None:
                    yield Label(f"To: {self.target.label}", id="schedule-target")
                else:
                    yield Select[str](
                        [], prompt="Segment", id="schedule-segment", allow_blank=True
                    )
                yield Select[str](
                    [(member.value, member.value) for member in MessageType],
                    value=message_type.value,
                    allow_blank=False,
                    id="schedule-type",
                )
            for index in range(self.row_count):
                with Horizontal(classes="schedule-form-row"):
                    yield Label(f"Text {index + 1}", classes="schedule-label")
                    yield Input(
                        self.initial.get("body", ""),
                        placeholder="Hi {{ first_name }}",
                        id=f"schedule-body-{index}",
                        classes="schedule-body",
                    )
                    yield Label("At", classes="schedule-label")
                    yield Input(
                        self.initial.get("at", ""),
                        placeholder="+2h, 08:30",
                        id=f"schedule-at-{index}",
                        classes="schedule-at",
                    )
                    yield Label("Every", classes="schedule-label")
                    yield Input(
                        self.initial.get("every", ""),
                        placeholder="once",
                        id=f"schedule-every-{index}",
                        classes="schedule-every",
                    )
            with VerticalScroll(id="schedule-preview-box"):
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

    def on_mount(self) -> None:
        if self.target is None:
            self._load_segments()
        self.query_one("#schedule-body-0", Input).focus()

    @work(exclusive=True, group="schedule-form-segments", exit_on_error=False)
    async def _load_segments(self) -> None:
        service = SegmentService.from_settings(
            self.runtime.sessions, self.runtime.settings
        )
        names = [segment.name for segment in await service.list_segments()]
        self.query_one("#schedule-segment", Select).set_options(
            [(name, name) for name in names]
        )

    def requests(self) -> list[ScheduleRequest]:
        """Read the filled message rows; a row with no text is ignored."""
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
            requests.append(
                ScheduleRequest(
                    at=self.query_one(f"#schedule-at-{index}", Input).value,
                    body=body,
                    segment=segment,
                    contact_ids=contact_ids,
                    message_type=message_type,
                    every=self.query_one(f"#schedule-every-{index}", Input).value,
                    grace=grace,
                )
            )
        return requests

    def edit_changes(self) -> dict[str, Any]:
        """Return the edited values that differ from the stored schedule."""
        values = {
            "body": self.query_one("#schedule-body-0", Input).value,
            "at": self.query_one("#schedule-at-0", Input).value,
            "every": self.query_one("#schedule-every-0", Input).value,
            "message_type": MessageType(
                str(self.query_one("#schedule-type", Select).value)
            ),
        }
        return {
            key: value for key, value in values.items() if value != self.initial[key]
        }

    def on_input_changed(self, _event: Input.Changed) -> None:
        # A changed form needs a new preview before it can be saved.
        self.plans = []
        self.query_one("#schedule-save-button", Button).disabled = True

    @on(Button.Pressed, "#schedule-preview-button")
    def action_preview(self) -> None:
        requests = self.requests()
        if not requests:
            self.notify("Write at least one message first.", severity="warning")
            return
        self.query_one("#schedule-preview", Static).update("Counting …")
        self._preview(requests)

    @work(exclusive=True, group="schedule-form-preview", exit_on_error=False)
    async def _preview(self, requests: list[ScheduleRequest]) -> None:
        service = self.runtime.schedules
        plans = []
        lines: list[str] = []
        for number, request in enumerate(requests, start=1):
            try:
                plan = await service.plan(request)
            except LogsteerError as error:
                self.post_message(self.Previewed([], f"Message {number}: {error}"))
                return
            preview = await service.preview(plan)
            zone = service.zone
            first = plan.first_run.astimezone(zone)
            repeat = f", {plan.recurrence.rule}" if plan.recurrence else ""
            lines.append(f"Message {number}: {first:%a %Y-%m-%d %H:%M}{repeat}")
            lines.extend(f"  {line}" for line in preview.lines())
            plans.append(plan)
        self.post_message(self.Previewed(plans, "\n".join(lines)))

    def on_schedule_form_screen_previewed(self, message: Previewed) -> None:
        self.plans = list(message.plans)
        self.query_one("#schedule-preview", Static).update(message.text)
        self.query_one("#schedule-save-button", Button).disabled = not self.plans

    @on(Button.Pressed, "#schedule-save-button")
    def action_save(self) -> None:
        if not self.plans:
            self.notify("Preview the messages first (ctrl+r).", severity="warning")
            return
        if self.editing is not None:
            self._confirm_edit(self.editing.id)
            return
        count = len(self.plans)
        question = f"Save {count} schedule{'s' if count != 1 else ''}?"

        def saved(confirmed: bool | None) -> None:
            if confirmed:
                self._save(list(self.plans))

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

    def has_unsaved_text(self) -> bool:
        """Return whether closing now would lose typed text or edits."""
        if self.editing is not None:
            return bool(self.edit_changes())
        return any(field.value.strip() for field in self.query(Input))

    @on(Button.Pressed, "#schedule-close-button")
    def action_close(self) -> None:
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


class DeliveriesScreen(ModalScreen[None]):
    """The contacts of one run that did not get the SMS, each with the reason.

    | Key | Action |
    | --- | --- |
    | escape | Close |
    """

    BINDINGS = [
        Binding(
            "escape", "close", "Close", id="deliveries.close", tooltip="Close the list"
        ),
    ]

    class Loaded(Message):
        def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, runtime: Runtime, run: ScheduleRun) -> None:
        super().__init__(id="deliveries-screen")
        self.runtime = runtime
        self.schedule_run = run

    def compose(self) -> ComposeResult:
        with Vertical(id="deliveries-dialog"):
            yield Label(
                f"Run {self.schedule_run.id}: contacts without the SMS",
                classes="schedule-form-title",
            )
            yield DataTable(id="deliveries-table", cursor_type="row")
            yield Label(
                "Send now (s) on the run sends the pending and interrupted ones.",
                id="deliveries-hint",
            )

    def on_mount(self) -> None:
        table = self.query_one("#deliveries-table", DataTable)
        table.add_column("Contact", key="contact", width=8)
        table.add_column("Status", key="status", width=11)
        table.add_column("Reason", key="reason", width=52)
        table.focus()
        self._load()

    @work(exclusive=True, group="deliveries-load", exit_on_error=False)
    async def _load(self) -> None:
        unsent = [
            status for status in DeliveryStatus if status is not DeliveryStatus.SENT
        ]
        deliveries = await self.runtime.schedules.deliveries(
            self.schedule_run.id, unsent, limit=MAX_DELIVERIES_SHOWN
        )
        rows = [
            (str(row.contact_id or "-"), row.status.value, row.reason or "")
            for row in deliveries
        ]
        self.post_message(self.Loaded(rows))

    def on_deliveries_screen_loaded(self, message: Loaded) -> None:
        table = self.query_one("#deliveries-table", DataTable)
        for contact, status, reason in message.rows:
            table.add_row(contact, status, " ".join(reason.split()))
        if not message.rows:
            self.query_one("#deliveries-hint", Label).update(
                "Every contact of this run got the SMS, or none is left to send."
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def action_close(self) -> None:
        self.dismiss(None)


class SchedulesScreen(LogsteerScreen):
    """Every schedule with its status, next run and counts, and the runs of one.

    | Key | Action |
    | --- | --- |
    | n | Plan new messages |
    | e | Edit the highlighted schedule, if it has not started |
    | p | Pause the highlighted schedule |
    | r | Resume it |
    | c | Cancel it |
    | s | Send the highlighted run now (missed, failed or interrupted) |
    | d | List the contacts of the highlighted run that got no SMS, with reasons |
    | tab | Move between the schedules and their runs |
    | escape | Back |
    """

    BINDINGS = [
        Binding("n", "new", "New", id="schedules.new", tooltip="Plan new messages"),
        Binding(
            "e",
            "edit",
            "Edit",
            id="schedules.edit",
            tooltip="Edit the highlighted schedule, if it has not started yet",
        ),
        Binding(
            "p",
            "pause",
            "Pause",
            id="schedules.pause",
            tooltip="Stop the schedule firing, and its running run",
        ),
        Binding(
            "r",
            "resume",
            "Resume",
            id="schedules.resume",
            tooltip="Let a paused schedule fire again",
        ),
        Binding(
            "c",
            "cancel_schedule",
            "Cancel",
            id="schedules.cancel",
            tooltip="Cancel the schedule for good",
        ),
        Binding(
            "s",
            "send_now",
            "Send now",
            id="schedules.send_now",
            tooltip="Send the highlighted run now",
        ),
        Binding(
            "d",
            "deliveries",
            "Why",
            id="schedules.deliveries",
            tooltip="List the contacts of the highlighted run that got no SMS",
        ),
        Binding(
            "escape", "back", "Back", id="schedules.back", tooltip="Back to contacts"
        ),
    ]

    reload_seconds = 10.0
    """Seconds between reloads while the screen is shown, so schedules that
    another process creates or runs appear without a key press."""

    class Loaded(Message):
        def __init__(self, summaries: Sequence[ScheduleSummary]) -> None:
            super().__init__()
            self.summaries = summaries

    class EditLoaded(Message):
        """A schedule that can still be edited, read again for the form."""

        def __init__(self, schedule: Schedule) -> None:
            super().__init__()
            self.schedule = schedule

    class HistoryLoaded(Message):
        def __init__(self, schedule_id: int, runs: Sequence[ScheduleRun]) -> None:
            super().__init__()
            self.schedule_id = schedule_id
            self.runs = runs

    class ProgressUpdated(Message):
        """The latest counts of one run; a newer one replaces it in the queue."""

        def __init__(self, event: ScheduleRunProgressed) -> None:
            super().__init__()
            self.event = event

        def can_replace(self, message: Message) -> bool:
            return (
                isinstance(message, SchedulesScreen.ProgressUpdated)
                and message.event.run_id == self.event.run_id
            )

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.summaries: dict[int, ScheduleSummary] = {}
        self.runs: dict[int, ScheduleRun] = {}
        self.progress_events = 0
        """ProgressUpdated messages handled, which tests compare with the events."""
        self.reload_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="schedules-title-row"):
            yield Label("Schedules", id="schedules-title")
            yield Label("", id="schedules-count")
        yield DataTable(id="schedules-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="schedules-progress-row"):
            yield Label("", id="schedules-progress-label")
            yield ProgressBar(id="schedules-progress", show_eta=False)
        yield DataTable(id="schedules-runs", cursor_type="row")
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        yield Footer()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#schedules-table", DataTable)

    @property
    def runs_table(self) -> DataTable[str]:
        return self.query_one("#schedules-runs", DataTable)

    def on_mount(self) -> None:
        table = self.table
        table.add_column("ID", key="id", width=4)
        table.add_column("Status", key="status", width=9)
        table.add_column("Next run", key="next", width=16)
        table.add_column("Sent", key="sent", width=6)
        table.add_column("Skip", key="skipped", width=5)
        table.add_column("Fail", key="failed", width=5)
        table.add_column("Name", key="name", width=22)
        runs = self.runs_table
        runs.add_column("Run", key="id", width=5)
        runs.add_column("Planned", key="planned", width=16)
        runs.add_column("Status", key="status", width=9)
        runs.add_column("Sent", key="sent", width=6)
        runs.add_column("Skip", key="skipped", width=5)
        runs.add_column("Fail", key="failed", width=5)
        runs.add_column("Of", key="total", width=6)
        self.query_one("#schedules-progress-row").display = False
        table.focus()
        self.reload()
        self.reload_timer = self.set_interval(self.reload_seconds, self.reload)

    def on_screen_suspend(self) -> None:
        # A screen or dialog on top hides the list, so reading it would be waste.
        if self.reload_timer is not None:
            self.reload_timer.pause()

    def on_screen_resume(self) -> None:
        if self.reload_timer is not None:
            self.reload_timer.resume()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand("Plan new messages", "Schedule SMS", self.action_new)
        yield PaletteCommand(
            "Edit the highlighted schedule", "Before it starts", self.action_edit
        )
        yield PaletteCommand(
            "Send the highlighted run now",
            "Missed or interrupted",
            self.action_send_now,
        )

    # Loading.

    def reload(self) -> None:
        self._load()

    @work(exclusive=True, group="schedules-load", exit_on_error=False)
    async def _load(self) -> None:
        self.post_message(self.Loaded(await self.runtime.schedules.summaries()))

    @work(exclusive=True, group="schedules-history", exit_on_error=False)
    async def _load_history(self, schedule_id: int) -> None:
        runs = await self.runtime.schedules.history(schedule_id)
        self.post_message(self.HistoryLoaded(schedule_id, runs))

    def on_schedules_screen_loaded(self, message: Loaded) -> None:
        table = self.table
        highlighted = self.highlighted_id()
        table.clear()
        self.summaries = {summary.id: summary for summary in message.summaries}
        for summary in message.summaries:
            table.add_row(*self._cells(summary), key=str(summary.id))
        if highlighted in self.summaries:
            table.move_cursor(row=table.get_row_index(str(highlighted)))
        count = len(self.summaries)
        self.query_one("#schedules-count", Label).update(
            f"{count} schedule{'s' if count != 1 else ''}"
        )
        self._show_selected()

    def on_schedules_screen_history_loaded(self, message: HistoryLoaded) -> None:
        if message.schedule_id != self.highlighted_id():
            return
        runs = self.runs_table
        runs.clear()
        self.runs = {run.id: run for run in message.runs}
        zone = self.runtime.schedules.zone
        for run in message.runs:
            runs.add_row(
                str(run.id),
                f"{run.planned_at.astimezone(zone):%Y-%m-%d %H:%M}",
                run.status.value,
                str(run.sent),
                str(run.skipped),
                str(run.failed),
                str(run.total),
                key=str(run.id),
            )

    def _cells(self, summary: ScheduleSummary) -> list[str]:
        zone = self.runtime.schedules.zone
        next_run = (
            f"{summary.next_run_at.astimezone(zone):%Y-%m-%d %H:%M}"
            if summary.next_run_at
            else "-"
        )
        status = "running" if summary.running else summary.status.value
        return [
            str(summary.id),
            status,
            next_run,
            str(summary.sent),
            str(summary.skipped),
            str(summary.failed),
            summary.name,
        ]

    # Progress.

    def on_hub_event(self, message: HubEvent) -> None:
        event = message.event
        if isinstance(event, ScheduleRunProgressed):
            self.post_message(self.ProgressUpdated(event))
        elif isinstance(event, ScheduleChanged):
            self.reload()

    def on_schedules_screen_progress_updated(self, message: ProgressUpdated) -> None:
        self.progress_events += 1
        event = message.event
        if event.status != ScheduleRunStatus.RUNNING.value:
            self.reload()
        if event.schedule_id != self.highlighted_id():
            return
        self._show_progress(event)

    def _show_progress(self, event: ScheduleRunProgressed) -> None:
        row = self.query_one("#schedules-progress-row")
        running = event.status == ScheduleRunStatus.RUNNING.value
        row.display = running
        done = event.sent + event.skipped + event.failed
        self.query_one("#schedules-progress", ProgressBar).update(
            total=max(event.total, 1), progress=done
        )
        self.query_one("#schedules-progress-label", Label).update(
            Content(
                f"Run {event.run_id}: {event.sent} sent, {event.skipped} skipped, "
                f"{event.failed} failed of {event.total}"
            )
        )

    def _show_selected(self) -> None:
        schedule_id = self.highlighted_id()
        if schedule_id is None:
            self.runs_table.clear()
            self.query_one("#schedules-progress-row").display = False
            return
        self._load_history(schedule_id)
        running = self.summaries[schedule_id].running
        if running is None:
            self.query_one("#schedules-progress-row").display = False
            return
        self._show_progress(
            ScheduleRunProgressed(
                running.run_id,
                running.schedule_id,
                running.status.value,
                running.total,
                running.sent,
                running.skipped,
                running.failed,
            )
        )

    @on(DataTable.RowHighlighted, "#schedules-table")
    def _row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def highlighted_id(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def highlighted_run(self) -> ScheduleRun | None:
        runs = self.runs_table
        if runs.row_count == 0:
            return None
        key = runs.coordinate_to_cell_key(runs.cursor_coordinate).row_key.value
        return self.runs.get(int(key)) if key is not None else None

    # Actions.

    def action_new(self) -> None:
        self.open_form(None)

    def open_form(self, target: ScheduleTarget | None) -> None:
        def saved(count: int | None) -> None:
            if count:
                self.notify(f"Saved {count} schedule{'s' if count != 1 else ''}.")
                self.reload()

        self.app.push_screen(ScheduleFormScreen(self.runtime, target), saved)

    def action_edit(self) -> None:
        schedule_id = self.highlighted_id()
        if schedule_id is None:
            self.notify("Highlight a schedule first.")
            return
        self._load_editable(schedule_id)

    @work(exclusive=True, group="schedules-edit", exit_on_error=False)
    async def _load_editable(self, schedule_id: int) -> None:
        schedule = await self.runtime.schedules.editable(schedule_id)
        self.post_message(self.EditLoaded(schedule))

    def on_schedules_screen_edit_loaded(self, message: EditLoaded) -> None:
        schedule_id = message.schedule.id

        def saved(count: int | None) -> None:
            if count:
                self.notify(f"Saved the changes to schedule {schedule_id}.")
                self.reload()

        self.app.push_screen(
            ScheduleFormScreen(self.runtime, editing=message.schedule), saved
        )

    def action_pause(self) -> None:
        self._act("pause")

    def action_resume(self) -> None:
        self._act("resume")

    def action_cancel_schedule(self) -> None:
        schedule_id = self.highlighted_id()
        if schedule_id is None:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._act("cancel")

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel schedule {schedule_id}? Contacts not yet sent to are skipped.",
                confirm_label="Cancel it",
            ),
            confirmed,
        )

    def action_send_now(self) -> None:
        run = self.highlighted_run()
        if run is None:
            self.notify("Highlight a run in the lower table first.")
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._send_now(run.id)

        self.app.push_screen(
            ConfirmScreen(
                f"Send run {run.id} now? Interrupted contacts may already have the "
                "SMS: check the provider's log first.",
                confirm_label="Send",
            ),
            confirmed,
        )

    def action_deliveries(self) -> None:
        run = self.highlighted_run()
        if run is None:
            self.notify("Highlight a run in the lower table first.")
            return
        self.app.push_screen(DeliveriesScreen(self.runtime, run))

    def _act(self, action: str) -> None:
        schedule_id = self.highlighted_id()
        if schedule_id is not None:
            self._run_action(action, schedule_id)

    @work(group="schedules-action", exit_on_error=False)
    async def _run_action(self, action: str, schedule_id: int) -> None:
        await getattr(self.runtime.schedules, action)(schedule_id)

    @work(group="schedules-action", exit_on_error=False)
    async def _send_now(self, run_id: int) -> None:
        await self.runtime.schedules.send_now(run_id)

    def action_back(self) -> None:
        self.app.pop_screen()
