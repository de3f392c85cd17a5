"""The Schedules screen: planned sends and their runs, and the deliveries of a run.

Lists and actions go through the SchedulerService from workers. Progress of a
running run arrives as ScheduleRunProgressed hub events, one per sent batch.
The screen turns each into a ProgressUpdated message, and its ``can_replace``
drops older updates of the same run still in the queue, so a fast run cannot
flood the screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Label,
    ProgressBar,
    Static,
)
from textual.worker import Worker, WorkerState

from logsteer_tui.db.models import (
    DeliveryStatus,
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
)
from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import (
    HubEvent,
    LogsteerScreen,
    PaletteCommand,
    ScheduleTarget,
)
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.schedule_form import ScheduleFormScreen
from logsteer_tui.services.events import ScheduleChanged, ScheduleRunProgressed
from logsteer_tui.services.schedules import (
    ScheduleSummary,
)
from logsteer_tui.services.schedules.deliveries import DeliveryRow, run_deliveries
from logsteer_tui.services.validation import format_phone
from logsteer_tui.widgets.status_bar import StatusBar
from logsteer_tui.widgets.worker_errors import report_worker_error

__all__ = [
    "DeliveriesScreen",
    "ScheduleFormScreen",
    "ScheduleTarget",
    "SchedulesScreen",
    "schedule_target",
]

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


def schedule_detail(summary: ScheduleSummary) -> str:
    """Return whom a schedule sends to and how often, for the line under the list."""
    if summary.contact_count is not None:
        count = summary.contact_count
        target = f"{count:,} marked contact{'s' if count != 1 else ''}"
    else:
        target = f"segment {summary.segment_name}"
    repeat = summary.rule or "once"
    text = " ".join(summary.body.split())
    return f"Schedule {summary.id} to {target}, {repeat}: {text}"


def send_now_question(run: ScheduleRun) -> str:
    """Return the question before sending ``run`` now, with the risk it carries."""
    if run.started_at is None:
        return (
            f"Send run ID {run.id} now? It never started, so it sends to every "
            "contact its schedule has now."
        )
    return (
        f"Send run ID {run.id} now? Contacts whose send was interrupted may "
        "already have the SMS: check the provider's log first."
    )


class DeliveriesScreen(ModalScreen[None]):
    """The contacts of one run that did not get the SMS, each with the reason.

    | Key | Action |
    | --- | --- |
    | up, down | Show the whole reason of another contact |
    | escape | Close |
    """

    TITLE = "Not sent"

    BINDINGS = [
        Binding(
            "escape", "close", "Close", id="deliveries.close", tooltip="Close the list"
        ),
    ]

    class Loaded(Message):
        def __init__(self, rows: Sequence[DeliveryRow]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, runtime: Runtime, run: ScheduleRun) -> None:
        super().__init__(id="deliveries-screen")
        self.runtime = runtime
        self.schedule_run = run
        self.rows: list[DeliveryRow] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="deliveries-dialog"):
            yield Label(
                f"Run ID {self.schedule_run.id} of schedule "
                f"{self.schedule_run.schedule_id}: contacts not sent to",
                classes="schedule-form-title",
            )
            yield DataTable(id="deliveries-table", cursor_type="row")
            yield Static("", id="deliveries-reason", markup=False)
            yield Label(self._hint(), id="deliveries-hint", markup=False)

    def _hint(self) -> str:
        run = self.schedule_run
        if run.status is ScheduleRunStatus.RUNNING:
            return "The run is still sending; pending contacts get the SMS in turn."
        if run.status in (ScheduleRunStatus.MISSED, ScheduleRunStatus.FAILED):
            return "Send now (s) on the run sends it to the contacts it has now."
        return "Send now (s) on the run sends to the pending and interrupted ones."

    def on_mount(self) -> None:
        table = self.query_one("#deliveries-table", DataTable)
        table.add_column("Contact", key="contact", width=20)
        table.add_column("Mobile 1", key="mobile", width=16)
        table.add_column("Status", key="status", width=11)
        table.add_column("Reason", key="reason", width=19)
        table.focus()
        self._load()

    @work(exclusive=True, group="deliveries-load", exit_on_error=False)
    async def _load(self) -> None:
        unsent = [
            status for status in DeliveryStatus if status is not DeliveryStatus.SENT
        ]
        rows = await run_deliveries(
            self.runtime.sessions,
            self.schedule_run.id,
            unsent,
            limit=MAX_DELIVERIES_SHOWN,
        )
        self.post_message(self.Loaded(rows))

    def on_deliveries_screen_loaded(self, message: Loaded) -> None:
        self.rows = list(message.rows)
        table = self.query_one("#deliveries-table", DataTable)
        for row in self.rows:
            if row.contact_id is None:
                name = "(deleted contact)"
            else:
                name = row.name or f"contact {row.contact_id}"
            table.add_row(
                Text(name),
                Text(format_phone(row.mobile_1)),
                row.status.value,
                Text(" ".join(row.reason.split())),
            )
        if self.rows:
            self._show_reason(0)
            return
        run = self.schedule_run
        self.query_one("#deliveries-hint", Label).update(
            f"No contact is listed for this {run.status.value} run. "
            f"{' '.join(run.note.split())}"
            if run.note
            else "Every contact of this run got the SMS, or none is left to send."
        )

    @on(DataTable.RowHighlighted, "#deliveries-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_reason(event.cursor_row)

    def _show_reason(self, index: int) -> None:
        if 0 <= index < len(self.rows):
            reason = " ".join(self.rows[index].reason.split())
            self.query_one("#deliveries-reason", Static).update(reason)

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

    TITLE = "Schedules"

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
            # Hidden from the footer, which has no room for it at 80 columns
            # beside escape and ?. The help screen lists it.
            show=False,
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
            "Not sent",
            id="schedules.deliveries",
            tooltip="List the contacts of the highlighted run that got no SMS, and why",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="schedules.back",
            tooltip="Back to the previous screen",
        ),
    ]

    reload_seconds = 10.0
    """Seconds between reloads while the screen is shown, so schedules that
    another process creates or runs appear without a key press."""

    progress_merge_seconds = 0.3
    """Seconds that progress events wait, so a burst of them makes one reload."""

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
        def __init__(
            self, generation: int, schedule_id: int, runs: Sequence[ScheduleRun]
        ) -> None:
            super().__init__()
            self.generation = generation
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
        self.progress_reload: Timer | None = None
        """The reload that merges the progress events since it was started."""

        self.history_generation = 0
        self.loading = False
        self.reload_again = False
        """Whether a reload was asked for while the list was being read."""

        self.highlight_above: int | None = None
        """Set after a save: the next list with a newer schedule highlights it."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="schedules-title-row"):
            yield Label("Schedules", id="schedules-title")
            yield Label("", id="schedules-count")
        yield DataTable(id="schedules-table", cursor_type="row", zebra_stripes=True)
        yield Label("", id="schedules-detail", markup=False)
        with Horizontal(id="schedules-progress-row"):
            yield Label("", id="schedules-progress-label")
            yield ProgressBar(id="schedules-progress", show_eta=False)
        yield DataTable(id="schedules-runs", cursor_type="row")
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        # Compact, so every key shown fits in 80 columns with the palette's.
        yield Footer(compact=True)

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
        runs.add_column("No.", key="number", width=4)
        runs.add_column("Run ID", key="id", width=6)
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
        # A closed dialog may have changed a schedule, so the list is read now
        # rather than at the next tick.
        self.reload()
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
        """Read the list again, or once more after the read in progress."""
        # Starting a second read would cancel the first, and a steady flow of
        # progress could then cancel every read before it shows anything.
        if self.loading:
            self.reload_again = True
            return
        self.loading = True
        self._load()

    def _loaded(self) -> None:
        self.loading = False
        if self.reload_again:
            self.reload_again = False
            self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # LogsteerScreen reports the error; this only lets the next read start.
        if event.worker.group == "schedules-load" and event.state in (
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._loaded()

    @work(exclusive=True, group="schedules-load", exit_on_error=False)
    async def _load(self) -> None:
        self.post_message(self.Loaded(await self.runtime.schedules.summaries()))

    def _reload_history(self, schedule_id: int) -> None:
        # Not an exclusive worker: progress reloads would cancel each read
        # before it ends. The generation drops the results of older reads.
        self.history_generation += 1
        self._load_history(self.history_generation, schedule_id)

    @work(group="schedules-history", exit_on_error=False)
    async def _load_history(self, generation: int, schedule_id: int) -> None:
        runs = await self.runtime.schedules.history(schedule_id)
        self.post_message(self.HistoryLoaded(generation, schedule_id, runs))

    def on_schedules_screen_loaded(self, message: Loaded) -> None:
        self._loaded()
        table = self.table
        highlighted = self.highlighted_id()
        table.clear()
        self.summaries = {summary.id: summary for summary in message.summaries}
        for summary in message.summaries:
            table.add_row(*self._cells(summary), key=str(summary.id))
        newest = max(self.summaries, default=0)
        if self.highlight_above is not None and newest > self.highlight_above:
            self.highlight_above = None
            highlighted = newest
        if highlighted in self.summaries:
            table.move_cursor(row=table.get_row_index(str(highlighted)))
        count = len(self.summaries)
        self.query_one("#schedules-count", Label).update(
            f"{count} schedule{'s' if count != 1 else ''}"
        )
        self._show_selected()

    def on_schedules_screen_history_loaded(self, message: HistoryLoaded) -> None:
        if message.generation != self.history_generation:
            return
        runs = self.runs_table
        highlighted = self.highlighted_run()
        runs.clear()
        self.runs = {run.id: run for run in message.runs}
        zone = self.runtime.schedules.zone
        # Runs come newest first; the number counts the schedule's own runs.
        for index, run in enumerate(message.runs):
            runs.add_row(
                str(len(message.runs) - index),
                str(run.id),
                f"{run.planned_at.astimezone(zone):%Y-%m-%d %H:%M}",
                run.status.value,
                str(run.sent),
                str(run.skipped),
                str(run.failed),
                str(run.total),
                key=str(run.id),
            )
        # Progress reloads the runs often, so the cursor stays on its run.
        if highlighted is not None and highlighted.id in self.runs:
            runs.move_cursor(row=runs.get_row_index(str(highlighted.id)))

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
        """Reload the list soon, so the table and the bar show one reading.

        The bar follows the reloaded summaries rather than the event, because
        an event may be newer than the table's counts. Only a run's last event
        is shown at once, as no summary reports a run that has stopped.
        """
        self.progress_events += 1
        event = message.event
        if (
            event.status != ScheduleRunStatus.RUNNING.value
            and event.schedule_id == self.highlighted_id()
        ):
            self._show_progress(event)
        if self.progress_reload is None and self.is_current:
            self.progress_reload = self.set_timer(
                self.progress_merge_seconds, self._reload_for_progress
            )

    def _reload_for_progress(self) -> None:
        self.progress_reload = None
        self.reload()

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
                f"Run ID {event.run_id}: {event.sent:,} sent, "
                f"{event.skipped:,} skipped, {event.failed:,} failed of {event.total:,}"
            )
        )

    def _show_selected(self) -> None:
        schedule_id = self.highlighted_id()
        detail = self.query_one("#schedules-detail", Label)
        if schedule_id is None:
            self.runs_table.clear()
            detail.update("")
            self.query_one("#schedules-progress-row").display = False
            return
        detail.update(schedule_detail(self.summaries[schedule_id]))
        self._reload_history(schedule_id)
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
                # The keys that follow act on what was just saved.
                self.highlight_above = max(self.summaries, default=0)
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
                confirm_label="Cancel schedule",
                cancel_label="Keep it",
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
            ConfirmScreen(send_now_question(run), confirm_label="Send"), confirmed
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
