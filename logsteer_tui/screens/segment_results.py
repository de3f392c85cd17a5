"""The contacts a segment matches now, with their last SMS exchange.

Rows are read a page at a time by keyset, and the next page loads as the cursor
nears the end. Marked rows are kept by contact id in ``marked_ids``, so bulk
actions can take them from this screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Label
from textual.worker import Worker, WorkerState

from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import (
    HubEvent,
    LogsteerScreen,
    PaletteCommand,
    ScheduleTarget,
)
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.services.contacts import PageCursor
from logsteer_tui.services.events import ContactChanged, ContactDeleted, MessageStored
from logsteer_tui.services.segments import (
    Group,
    SegmentRow,
    SegmentService,
    SegmentSort,
)
from logsteer_tui.services.validation import format_phone
from logsteer_tui.widgets.formatting import local_date
from logsteer_tui.widgets.status_bar import StatusBar

PAGE_SIZE = 100
# The next page starts loading when the cursor is this many rows from the end.
LOOKAHEAD_ROWS = 30
MARK = "●"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    sort: SegmentSort | None


# Name, Mobile 1 and email fit in 80 columns. The table scrolls sideways to
# the dates and flags, then to the texts of the last SMS, the widest columns.
COLUMNS = (
    Column("mark", " ", 1, None),
    Column("name", "Name", 20, SegmentSort.NAME),
    Column("mobile", "Mobile 1", 16, SegmentSort.MOBILE),
    Column("email", "Email", 22, SegmentSort.EMAIL),
    Column("sent_at", "Sent", 10, SegmentSort.LAST_SENT_AT),
    Column("received_at", "Received", 10, SegmentSort.LAST_RECEIVED_AT),
    Column("no_sms", "No SMS", 6, SegmentSort.DO_NOT_SEND_SMS),
    Column("no_email", "No mail", 7, SegmentSort.DO_NOT_SEND_EMAIL),
    Column("sent", "Last sent SMS", 20, SegmentSort.LAST_SENT),
    Column("received", "Last received SMS", 20, SegmentSort.LAST_RECEIVED),
)
SORT_CYCLE = tuple(column.sort for column in COLUMNS if column.sort is not None)


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


class SegmentResultsScreen(LogsteerScreen):
    """The contacts of one segment, evaluated afresh when the screen opens.

    | Key | Action |
    | --- | --- |
    | enter | Open the highlighted contact |
    | space | Mark or unmark the highlighted contact |
    | * | Mark every contact of the segment; when all are marked, clear the marks |
    | p | Plan an SMS to the marked contacts, or to the whole saved segment |
    | s | Sort by the next column |
    | r | Reverse the sort |
    | escape | Back |
    """

    TITLE = "Segment results"
    BINDINGS = [
        Binding(
            "enter",
            "open",
            "Open",
            id="segment_results.open",
            tooltip="Open the contact",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            id="segment_results.mark",
            tooltip="Mark or unmark the contact",
        ),
        Binding(
            "asterisk",
            "mark_all",
            "Mark all",
            id="segment_results.mark_all",
            tooltip="Mark every contact of the segment, or clear the marks",
        ),
        Binding(
            "p",
            "app.schedule_here",
            "Plan SMS",
            id="segment_results.plan",
            tooltip="Plan an SMS to the marked contacts, or to the whole segment",
        ),
        Binding(
            "s",
            "cycle_sort",
            "Sort",
            id="segment_results.sort",
            tooltip="Sort by the next column",
        ),
        Binding(
            "r",
            "reverse_sort",
            "Reverse",
            id="segment_results.reverse",
            tooltip="Reverse the sort order",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="segment_results.back",
            tooltip="Back to the segment",
        ),
    ]

    plan_hint = (
        "Mark contacts with space first, or save the segment to plan an SMS "
        "to all of it."
    )

    class PageLoaded(Message):
        def __init__(
            self, generation: int, rows: Sequence[SegmentRow], replace: bool
        ) -> None:
            super().__init__()
            self.generation = generation
            self.rows = rows
            self.replace = replace

    class CountLoaded(Message):
        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    class RowLoaded(Message):
        def __init__(self, contact_id: int, row: SegmentRow | None) -> None:
            super().__init__()
            self.contact_id = contact_id
            self.row = row

    class AllIdsLoaded(Message):
        def __init__(self, ids: Sequence[int]) -> None:
            super().__init__()
            self.ids = ids

    def __init__(
        self, runtime: Runtime, title: str, definition: Group, saved: bool = True
    ) -> None:
        """Show ``definition``, which is the saved segment ``title`` when ``saved``.

        The builder shows an unsaved tree with ``saved=False``.
        """
        super().__init__(runtime)
        self.title_text = title
        self.definition = definition
        self.saved = saved
        self.service = SegmentService.from_settings(runtime.sessions, runtime.settings)
        self.sort = SegmentSort.NAME
        self.descending = False
        self.generation = 0
        self.rows: list[SegmentRow] = []
        self.marked_ids: set[int] = set()
        """Ids of the marked contacts, for bulk actions."""

        self.total: int | None = None
        self.exhausted = False
        # Not Textual's ``loading``, which would cover the screen with a spinner.
        self.page_loading = True

    def compose(self) -> ComposeResult:
        with Horizontal(id="segment-results-title-row"):
            unsaved = "" if self.saved else " (not saved)"
            yield Label(
                f"Segment: {self.title_text}{unsaved}", id="segment-results-title"
            )
            yield Label("", id="segment-results-count")
        # The mark and the name stay in view while the table scrolls sideways.
        yield DataTable(
            id="segment-results-table",
            cursor_type="row",
            zebra_stripes=True,
            fixed_columns=2,
        )
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        # Compact, so every key shown fits in 80 columns with the palette's.
        yield Footer(compact=True)

    @property
    def segment_name(self) -> str | None:
        """The name of the saved segment shown, or None for an unsaved tree."""
        return self.title_text if self.saved else None

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#segment-results-table", DataTable)

    def on_mount(self) -> None:
        self._add_columns()
        self.table.focus()
        self.reload()
        self._count()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "Mark every contact of the segment",
            "Or clear the marks",
            self.action_mark_all,
        )
        yield PaletteCommand(
            "Sort segment results by the next column",
            "Name, phone, email, last SMS",
            self.action_cycle_sort,
        )

    def schedule_target(self) -> ScheduleTarget | None:
        """Return the marked contacts, or with none marked the saved segment."""
        if self.marked_ids:
            return ScheduleTarget(contact_ids=tuple(sorted(self.marked_ids)))
        if self.segment_name is None:
            return None
        return ScheduleTarget(segment=self.segment_name)

    def highlighted(self) -> SegmentRow | None:
        row = self.table.cursor_row
        if not self.rows or not 0 <= row < len(self.rows):
            return None
        return self.rows[row]

    # Loading.

    def reload(self) -> None:
        self.generation += 1
        self.page_loading = True
        self._load_page(self.generation, None, replace=True)

    def load_more(self) -> None:
        if self.page_loading or self.exhausted or not self.rows:
            return
        self.page_loading = True
        self._load_page(self.generation, self.rows[-1].cursor, replace=False)

    @work(exclusive=True, group="segment-results-page", exit_on_error=False)
    async def _load_page(
        self, generation: int, after: PageCursor | None, replace: bool
    ) -> None:
        rows = await self.service.page(
            self.definition, self.sort, self.descending, after, PAGE_SIZE
        )
        self.post_message(self.PageLoaded(generation, rows, replace))

    @work(exclusive=True, group="segment-results-count", exit_on_error=False)
    async def _count(self) -> None:
        self.post_message(self.CountLoaded(await self.service.count(self.definition)))

    @work(exclusive=True, group="segment-results-ids", exit_on_error=False)
    async def _load_all_ids(self) -> None:
        self.post_message(
            self.AllIdsLoaded(await self.service.contact_ids(self.definition))
        )

    def on_segment_results_screen_page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self.generation:
            return
        table = self.table
        if message.replace:
            table.clear()
            self.rows = []
        self.rows.extend(message.rows)
        self.exhausted = len(message.rows) < PAGE_SIZE
        for row in message.rows:
            table.add_row(*self._cells(row), key=str(row.id))
        self.page_loading = False
        self._show_count()

    def on_segment_results_screen_count_loaded(self, message: CountLoaded) -> None:
        self.total = message.total
        self._show_count()

    def on_segment_results_screen_all_ids_loaded(self, message: AllIdsLoaded) -> None:
        self.marked_ids = set(message.ids)
        self._refresh_marks()

    def on_hub_event(self, message: HubEvent) -> None:
        # A shown contact was edited or messaged: refresh its row in place. It
        # stays until the next reload even when it no longer matches the segment.
        event = message.event
        if not isinstance(event, ContactChanged | ContactDeleted | MessageStored):
            return
        contact_id = event.contact_id
        if contact_id is not None and self._row_index(contact_id) is not None:
            self._load_row(contact_id)

    @work(group="segment-results-row", exit_on_error=False)
    async def _load_row(self, contact_id: int) -> None:
        row = await self.service.row(contact_id, self.sort)
        self.post_message(self.RowLoaded(contact_id, row))

    def on_segment_results_screen_row_loaded(self, message: RowLoaded) -> None:
        index = self._row_index(message.contact_id)
        if index is None:
            return
        if message.row is None:
            # Deleted: the row stays, marked as gone, so the cursor keeps its place.
            self.marked_ids.discard(message.contact_id)
            self.table.update_cell(str(message.contact_id), "name", "(deleted)")
            return
        self.rows[index] = message.row
        key = str(message.contact_id)
        for column, value in zip(COLUMNS, self._cells(message.row), strict=True):
            self.table.update_cell(key, column.key, value)

    def _row_index(self, contact_id: int) -> int | None:
        for index, row in enumerate(self.rows):
            if row.id == contact_id:
                return index
        return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # LogsteerScreen reports the error; this only lets the next page load again.
        if (
            event.worker.group == "segment-results-page"
            and event.state is WorkerState.ERROR
        ):
            self.page_loading = False

    def _show_count(self) -> None:
        label = self.query_one("#segment-results-count", Label)
        if self.total is None:
            total = f"{len(self.rows):,}+ contacts"
        else:
            total = f"{self.total:,} contact{'' if self.total == 1 else 's'}"
        marked = f", {len(self.marked_ids):,} marked" if self.marked_ids else ""
        label.update(f"{total}{marked}")

    # The table.

    def _cells(self, row: SegmentRow) -> list[str]:
        zone = self.runtime.settings.general.zone
        return [
            MARK if row.id in self.marked_ids else "",
            row.full_name,
            format_phone(row.mobile_1),
            row.email or "",
            local_date(row.last_sms_sent_at, zone),
            local_date(row.last_sms_received_at, zone),
            "no SMS" if row.do_not_send_sms else "",
            "no mail" if row.do_not_send_email else "",
            one_line(row.last_sms_sent_body),
            one_line(row.last_sms_received_body),
        ]

    def _add_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        for column in COLUMNS:
            label = column.label
            if column.sort is not None and column.sort is self.sort:
                label = f"{label} {'▼' if self.descending else '▲'}"
            table.add_column(label, key=column.key, width=column.width)

    def _refresh_marks(self) -> None:
        for row in self.rows:
            self.table.update_cell(
                str(row.id), "mark", MARK if row.id in self.marked_ids else ""
            )
        self._show_count()

    def _set_sort(self, sort: SegmentSort, descending: bool) -> None:
        self.sort = sort
        self.descending = descending
        self.rows = []
        self._add_columns()
        self.reload()

    @on(DataTable.RowHighlighted, "#segment-results-table")
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.rows) - LOOKAHEAD_ROWS:
            self.load_more()

    @on(DataTable.RowSelected, "#segment-results-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.HeaderSelected, "#segment-results-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        sort = COLUMNS[event.column_index].sort
        if sort is not None:
            self._set_sort(sort, not self.descending if sort is self.sort else False)

    # Actions.

    def action_open(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        self.app.push_screen(ContactScreen(self.runtime, row.id))

    def action_mark(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        self.marked_ids ^= {row.id}
        self.table.update_cell(
            str(row.id), "mark", MARK if row.id in self.marked_ids else ""
        )
        self._show_count()
        self.table.action_cursor_down()

    def action_mark_all(self) -> None:
        everyone_marked = self.total is not None and len(self.marked_ids) >= self.total
        if everyone_marked and self.marked_ids:
            self.marked_ids = set()
            self._refresh_marks()
        else:
            self._load_all_ids()

    def action_cycle_sort(self) -> None:
        index = SORT_CYCLE.index(self.sort)
        self._set_sort(SORT_CYCLE[(index + 1) % len(SORT_CYCLE)], False)

    def action_reverse_sort(self) -> None:
        self._set_sort(self.sort, not self.descending)

    def action_back(self) -> None:
        self.dismiss(None)
