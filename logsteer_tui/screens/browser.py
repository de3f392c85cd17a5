"""The contact browser: search as you type, sort by column, page rows in by keyset.

Rows come from the database a page at a time, so the screen opens as quickly on
100,000 contacts as on ten. The next page loads when the cursor nears the end of
the loaded rows. Marked contacts are kept by id in ``marked_ids`` across
searches, so an SMS can be planned for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import Worker, WorkerState

from logsteer_tui.db.models import Contact
from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import (
    HubEvent,
    LogsteerScreen,
    PaletteCommand,
    ScheduleTarget,
)
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.screens.segment_results import MARK
from logsteer_tui.services.contacts import ContactRow, PageCursor, SortKey
from logsteer_tui.services.events import ContactChanged, ContactDeleted, MessageStored
from logsteer_tui.services.validation import format_phone
from logsteer_tui.widgets.formatting import local_date
from logsteer_tui.widgets.status_bar import StatusBar

PAGE_SIZE = 100
# The next page starts loading when the cursor is this many rows from the end.
LOOKAHEAD_ROWS = 30
SEARCH_DEBOUNCE_SECONDS = 0.15
MAX_MARKED = 10_000
"""The maximum number of contacts that "mark all" marks. The ids stay in memory
and go into the schedule row as one list, so a larger send is better planned by
segment."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    sort: SortKey | None


# The widths add up to 80 columns with the table's cell padding and scroll bar.
COLUMNS = (
    Column("mark", " ", 1, None),
    Column("name", "Name", 17, SortKey.NAME),
    Column("mobile", "Mobile 1", 16, SortKey.MOBILE),
    Column("email", "Email", 14, SortKey.EMAIL),
    Column("no_sms", "SMS", 3, None),
    Column("no_email", "Mail", 4, None),
    Column("last", "Last msg", 10, SortKey.LAST_MESSAGE),
)
SORT_CYCLE = tuple(column.sort for column in COLUMNS if column.sort is not None)


@dataclass(frozen=True)
class Query:
    """The table's query: the search text and the sort."""

    search: str = ""
    sort: SortKey = SortKey.NAME
    descending: bool = False


class ContactTable(DataTable[Text]):
    """The browser's table; enter opens the highlighted contact."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            id="browser.open",
            tooltip="Open the highlighted contact",
        ),
    ]


class BrowserScreen(LogsteerScreen):
    """Every contact, a page at a time.

    | Key | Action |
    | --- | --- |
    | enter | Open the highlighted contact |
    | space | Mark or unmark the highlighted contact |
    | * | Mark every contact the search matches, up to 10,000 |
    | u | Clear the marks |
    | p | Plan an SMS to the marked contacts |
    | a | New contact |
    | d | Delete the highlighted contact, after a confirmation |
    | / | Search |
    | down | From the search field, move to the results |
    | escape | Clear the search |
    | s | Sort by the next column |
    | r | Reverse the sort |
    | f6, f8 | Segments, Schedules (the App's keys, shown in this footer) |
    """

    TITLE = "Contacts"
    BINDINGS = [
        Binding(
            "space",
            "mark",
            "Mark",
            id="browser.mark",
            tooltip="Mark or unmark the contact",
        ),
        Binding(
            "p",
            "app.schedule_here",
            "Plan SMS",
            id="browser.plan",
            tooltip="Plan an SMS to the marked contacts",
        ),
        # Mark all, unmark, sort and reverse are hidden from the footer because it
        # has no room for them at 80 columns. The help screen lists them.
        Binding(
            "asterisk",
            "mark_all",
            "Mark all",
            id="browser.mark_all",
            tooltip="Mark every contact the search matches",
            show=False,
        ),
        Binding(
            "u",
            "clear_marks",
            "Unmark all",
            id="browser.clear_marks",
            tooltip="Clear every mark",
            show=False,
        ),
        Binding("a", "new", "New", id="browser.new", tooltip="Create a contact"),
        # The App binds f6 and f8 everywhere, hidden from the footer. The browser
        # shows them, because it is where a user starts, and hides delete and
        # search in their place (the search field shows its key).
        Binding(
            "f6",
            "app.segments",
            "Segments",
            id="browser.segments",
            tooltip="Saved segments with their current counts",
        ),
        Binding(
            "f8",
            "app.schedules",
            "Schedules",
            id="browser.schedules",
            tooltip="Planned SMS sends, their runs and progress",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="browser.delete",
            tooltip="Delete the highlighted contact, after a confirmation",
            show=False,
        ),
        # Priority, so a burst such as "/ana" over a slow link focuses the
        # search before "a" reaches the table, where it means New contact.
        Binding(
            "slash",
            "search",
            "Search",
            id="browser.search",
            tooltip="Type to filter by name, phone or email",
            show=False,
            priority=True,
        ),
        Binding(
            "escape",
            "clear_search",
            "Clear search",
            id="browser.clear_search",
            tooltip="Show every contact again",
            show=False,
        ),
        Binding(
            "down",
            "focus_results",
            "Results",
            id="browser.focus_results",
            tooltip="Move from the search field to the results",
            show=False,
        ),
        Binding(
            "s",
            "cycle_sort",
            "Sort",
            id="browser.sort",
            tooltip="Sort by the next column",
            show=False,
        ),
        Binding(
            "r",
            "reverse_sort",
            "Reverse",
            id="browser.reverse",
            tooltip="Reverse the sort order",
            show=False,
        ),
    ]

    plan_hint = (
        "Mark contacts with space, or every match of the search with *, then press p."
    )

    class PageLoaded(Message):
        """A page of rows for ``generation``; ``replace`` starts the table afresh."""

        def __init__(
            self, generation: int, rows: Sequence[ContactRow], replace: bool
        ) -> None:
            super().__init__()
            self.generation = generation
            self.rows = rows
            self.replace = replace

    class CountLoaded(Message):
        def __init__(self, generation: int, total: int) -> None:
            super().__init__()
            self.generation = generation
            self.total = total

    class ContactLoaded(Message):
        def __init__(self, contact: Contact) -> None:
            super().__init__()
            self.contact = contact

    class MatchesLoaded(Message):
        """Ids of the contacts a search matches, at most MAX_MARKED of them."""

        def __init__(self, search: str, ids: Sequence[int], total: int) -> None:
            super().__init__()
            self.search = search
            self.ids = ids
            self.total = total

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.query_state = Query()
        self.generation = 0
        self.rows: list[ContactRow] = []
        self.exhausted = False
        self.page_loading = False
        self.total: int | None = None
        self.stale = False
        self.marked_ids: set[int] = set()
        """Ids of the marked contacts, kept while the search changes."""
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="browser-search-row"):
            yield Input(
                placeholder="Search name, phone or email  (/)",
                id="browser-search",
                compact=True,
            )
            yield Label("", id="browser-count")
        yield Label("", id="browser-empty")
        yield ContactTable(id="browser-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        # Compact, so the keys above fit in 80 columns with the palette's.
        yield Footer(compact=True)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#browser-table", DataTable)

    def on_mount(self) -> None:
        self._add_columns()
        self.table.focus()
        # Scrolling with the mouse wheel moves no cursor, so it is watched too.
        self.watch(self.table, "scroll_y", self._scrolled, init=False)
        self.reload()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "Search contacts", "Focus the search field", self.action_search
        )
        yield PaletteCommand(
            "Mark every matching contact",
            f"Every contact the search matches, up to {MAX_MARKED:,}",
            self.action_mark_all,
        )
        yield PaletteCommand(
            "Clear the contact marks", "Unmark every contact", self.action_clear_marks
        )
        yield PaletteCommand(
            "Sort contacts by the next column",
            "Name, Mobile 1, email or last message",
            self.action_cycle_sort,
        )
        yield PaletteCommand(
            "Reverse the contact sort",
            "Ascending or descending",
            self.action_reverse_sort,
        )

    def schedule_target(self) -> ScheduleTarget | None:
        if not self.marked_ids:
            return None
        return ScheduleTarget(contact_ids=tuple(sorted(self.marked_ids)))

    def highlighted_contact(self) -> ContactRow | None:
        row = self.table.cursor_row
        if not self.rows or not 0 <= row < len(self.rows):
            return None
        return self.rows[row]

    # Loading rows.

    def reload(self) -> None:
        """Read the first page and the total again for the current query."""
        self.generation += 1
        self.page_loading = True
        self.stale = False
        self._load_page(self.generation, self.query_state, None, replace=True)
        self._load_count(self.generation, self.query_state.search)

    def load_more(self) -> None:
        if self.page_loading or self.exhausted or not self.rows:
            return
        last = self.rows[-1]
        self.page_loading = True
        self._load_page(
            self.generation,
            self.query_state,
            PageCursor(last.sort_value, last.id),
            replace=False,
        )

    @work(exclusive=True, group="browser-page", exit_on_error=False)
    async def _load_page(
        self, generation: int, query: Query, after: PageCursor | None, replace: bool
    ) -> None:
        rows = await self.runtime.contacts.page(
            search=query.search,
            sort=query.sort,
            descending=query.descending,
            after=after,
            limit=PAGE_SIZE,
        )
        self.post_message(self.PageLoaded(generation, rows, replace))

    @work(exclusive=True, group="browser-count", exit_on_error=False)
    async def _load_count(self, generation: int, search: str) -> None:
        total = await self.runtime.contacts.count(search)
        self.post_message(self.CountLoaded(generation, total))

    @work(exclusive=True, group="browser-matches", exit_on_error=False)
    async def _load_matches(self, search: str) -> None:
        contacts = self.runtime.contacts
        ids = await contacts.matching_ids(search, MAX_MARKED)
        total = await contacts.count(search) if len(ids) >= MAX_MARKED else len(ids)
        self.post_message(self.MatchesLoaded(search, ids, total))

    @work(group="browser-row", exit_on_error=False)
    async def _load_contact(self, contact_id: int) -> None:
        contact = await self.runtime.contacts.get(contact_id)
        self.post_message(self.ContactLoaded(contact))

    def on_browser_screen_page_loaded(self, message: PageLoaded) -> None:
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
        # The cursor may have reached the end while this page was loading.
        self._load_more_if_near_end(table.cursor_row)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # LogsteerScreen reports the error; this only lets the next page load again.
        if event.worker.group == "browser-page" and event.state is WorkerState.ERROR:
            self.page_loading = False

    def on_browser_screen_count_loaded(self, message: CountLoaded) -> None:
        if message.generation == self.generation:
            self.total = message.total
            self._show_count()

    def on_browser_screen_contact_loaded(self, message: ContactLoaded) -> None:
        contact = message.contact
        index = self._row_index(contact.id)
        if index is None:
            return
        old = self.rows[index]
        row = ContactRow(
            id=contact.id,
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            mobile_1=contact.mobile_1,
            do_not_send_sms=contact.do_not_send_sms,
            do_not_send_email=contact.do_not_send_email,
            last_message_at=contact.last_message_at,
            last_sms_received_at=contact.last_sms_received_at,
            sort_value=old.sort_value,
        )
        self.rows[index] = row
        cells = self._cells(row)
        for column, value in zip(COLUMNS, cells, strict=True):
            self.table.update_cell(str(row.id), column.key, value)

    def _row_index(self, contact_id: int) -> int | None:
        for index, row in enumerate(self.rows):
            if row.id == contact_id:
                return index
        return None

    def _show_count(self) -> None:
        label = self.query_one("#browser-count", Label)
        if self.total is None:
            text = f"{len(self.rows):,}+ contacts" if self.rows else ""
        elif self.query_state.search:
            text = f"{self.total:,} found"
        else:
            text = f"{self.total:,} contacts"
        if self.marked_ids:
            marked = f"{len(self.marked_ids):,} marked"
            text = f"{text}, {marked}" if text else marked
        label.update(text)
        self._show_empty_hint()

    def _show_empty_hint(self) -> None:
        hint = self.query_one("#browser-empty", Label)
        empty = self.total == 0 and not self.rows
        hint.set_class(empty, "-visible")
        if not empty:
            return
        if self.query_state.search:
            hint.update(
                Content.from_markup(
                    "No contact matches [b]$search[/b]. Press escape to clear "
                    "the search.",
                    search=self.query_state.search,
                )
            )
        else:
            hint.update(
                "No contacts yet. Press a to create one, or import a CSV file "
                "with `logsteer import contacts FILE.csv`."
            )

    # The table.

    def _cells(self, row: ContactRow) -> tuple[Text, ...]:
        mark = Text(MARK if row.id in self.marked_ids else "")
        return (mark, *row_cells(row, self.runtime))

    def _show_mark(self, contact_id: int) -> None:
        with suppress(RowDoesNotExist):
            self.table.update_cell(
                str(contact_id),
                "mark",
                Text(MARK if contact_id in self.marked_ids else ""),
            )

    def _add_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        for column in COLUMNS:
            table.add_column(
                self._column_label(column), key=column.key, width=column.width
            )

    def _column_label(self, column: Column) -> str:
        if column.sort is None or column.sort is not self.query_state.sort:
            return column.label
        return f"{column.label} {'▼' if self.query_state.descending else '▲'}"

    def _set_sort(self, sort: SortKey, descending: bool) -> None:
        self.query_state = Query(self.query_state.search, sort, descending)
        self.rows = []
        self._add_columns()
        self.reload()

    @on(DataTable.RowHighlighted, "#browser-table")
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        self._load_more_if_near_end(event.cursor_row)

    def _scrolled(self, scroll_y: float) -> None:
        self._load_more_if_near_end(int(scroll_y) + self.table.size.height)

    def _load_more_if_near_end(self, cursor_row: int) -> None:
        if cursor_row >= len(self.rows) - LOOKAHEAD_ROWS:
            self.load_more()

    @on(DataTable.RowSelected, "#browser-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.HeaderSelected, "#browser-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        sort = COLUMNS[event.column_index].sort
        if sort is None:
            return
        descending = (
            not self.query_state.descending if sort is self.query_state.sort else False
        )
        self._set_sort(sort, descending)

    # Search.

    @on(Input.Changed, "#browser-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(
            SEARCH_DEBOUNCE_SECONDS, lambda: self._apply_search(event.value)
        )

    def _apply_search(self, text: str) -> None:
        self._search_timer = None
        if text == self.query_state.search:
            return
        self.query_state = Query(
            text, self.query_state.sort, self.query_state.descending
        )
        self.reload()

    @on(Input.Submitted, "#browser-search")
    def _search_submitted(self) -> None:
        self.table.focus()

    # Actions.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In the search field itself "/" is text to type.
        if action == "search":
            return not self.query_one("#browser-search", Input).has_focus
        return True

    def action_search(self) -> None:
        # At once, not through focus()'s call_later, so the keys already
        # queued behind "/" go to the search field.
        self.set_focus(self.query_one("#browser-search", Input))

    def action_focus_results(self) -> None:
        # The table binds down itself, so this runs only from the search field.
        self.table.focus()

    def action_clear_search(self) -> None:
        self.query_one("#browser-search", Input).value = ""
        self.table.focus()

    def action_open(self) -> None:
        row = self.highlighted_contact()
        if row is not None:
            self.app.push_screen(ContactScreen(self.runtime, row.id))

    def action_new(self) -> None:
        self.app.push_screen(ContactScreen(self.runtime, None))

    def action_mark(self) -> None:
        row = self.highlighted_contact()
        if row is None:
            return
        self.marked_ids ^= {row.id}
        self._show_mark(row.id)
        self._show_count()
        self.table.action_cursor_down()

    def action_mark_all(self) -> None:
        self._load_matches(self.query_state.search)

    def on_browser_screen_matches_loaded(self, message: MatchesLoaded) -> None:
        if message.search != self.query_state.search:
            return  # the search changed while the ids were read
        self.marked_ids.update(message.ids)
        for row in self.rows:
            self._show_mark(row.id)
        self._show_count()
        matching = "matching contacts" if message.search else "contacts"
        if len(message.ids) < message.total:
            self.notify(
                f"Marked the first {len(message.ids):,} of {message.total:,} "
                f"{matching}, the most one list of marks holds. Narrow the search, "
                "or plan the SMS to a segment (f6) instead.",
                title="Marks limited",
                severity="warning",
            )
        else:
            self.notify(f"Marked all {message.total:,} {matching}.")

    def action_clear_marks(self) -> None:
        if not self.marked_ids:
            self.notify("No contact is marked.")
            return
        count = len(self.marked_ids)
        self.marked_ids = set()
        for row in self.rows:
            self._show_mark(row.id)
        self._show_count()
        self.notify(f"Cleared {count:,} mark{'s' if count != 1 else ''}.")

    def action_delete(self) -> None:
        row = self.highlighted_contact()
        if row is None:
            return
        name = row.full_name or row.email or format_phone(row.mobile_1) or f"#{row.id}"

        def delete_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self._delete(row.id, name)

        self.app.push_screen(
            ConfirmScreen(f"Delete the contact {name}? Its messages are kept."),
            delete_if_confirmed,
        )

    @work(group="browser-delete", exit_on_error=False)
    async def _delete(self, contact_id: int, name: str) -> None:
        await self.runtime.contacts.delete(contact_id)
        self.notify(
            f"Deleted the contact {name}.", title="Contact deleted", markup=False
        )

    def action_cycle_sort(self) -> None:
        index = (
            SORT_CYCLE.index(self.query_state.sort)
            if self.query_state.sort in SORT_CYCLE
            else -1
        )
        self._set_sort(SORT_CYCLE[(index + 1) % len(SORT_CYCLE)], False)

    def action_reverse_sort(self) -> None:
        self._set_sort(self.query_state.sort, not self.query_state.descending)

    # Events from the services.

    def on_hub_event(self, message: HubEvent) -> None:
        event = message.event
        if isinstance(event, ContactDeleted):
            self.marked_ids.discard(event.contact_id)
            self._remove_row(event.contact_id)
        elif isinstance(event, ContactChanged | MessageStored):
            contact_id = event.contact_id
            if contact_id is None:
                return
            if self._row_index(contact_id) is not None:
                self._load_contact(contact_id)
            elif isinstance(event, ContactChanged):
                # A new contact. Reloading now would move the cursor the user
                # is on, so its row shows when they come back to this screen,
                # and only the count changes now.
                self.stale = True
                self._load_count(self.generation, self.query_state.search)

    def on_screen_resume(self) -> None:
        if self.stale:
            self.reload()

    def _remove_row(self, contact_id: int) -> None:
        index = self._row_index(contact_id)
        if index is None:
            return
        del self.rows[index]
        with suppress(RowDoesNotExist):
            self.table.remove_row(str(contact_id))
        if self.total is not None:
            self.total = max(self.total - 1, 0)
        self._show_count()


def row_cells(row: ContactRow, runtime: Runtime) -> tuple[Text, ...]:
    """Build the cells of ``row``, as Text because DataTable reads str as markup."""
    return (
        Text(row.full_name or "(no name)"),
        Text(format_phone(row.mobile_1)),
        Text(row.email or ""),
        Text("off" if row.do_not_send_sms else ""),
        Text("off" if row.do_not_send_email else ""),
        Text(local_date(row.last_message_at, runtime.settings.general.zone)),
    )
