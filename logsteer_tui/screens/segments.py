"""Saved segments with their counts, and the builder that edits one.

The builder shows the definition as an indented list: groups read "all of" or
"any of", and conditions read as sentences. Every edit is a function in
services.segments.editing, and the count below the list follows each edit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Label, OptionList
from textual.widgets.option_list import Option

from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.screens.base import LogsteerScreen, PaletteCommand
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.segment_dialogs import ConditionScreen, NameScreen
from logsteer_tui.screens.segment_results import SegmentResultsScreen
from logsteer_tui.services.segments import (
    Condition,
    Group,
    SegmentService,
    SegmentSummary,
    describe_condition,
)
from logsteer_tui.services.segments.definition import Match
from logsteer_tui.services.segments.describe import MATCH_LABELS
from logsteer_tui.services.segments.editing import (
    Path,
    append_to,
    group_path_of,
    item_at,
    move_by,
    remove_at,
    replace_at,
    toggle_match,
)
from logsteer_tui.widgets.formatting import local_date
from logsteer_tui.widgets.status_bar import StatusBar


def contacts(count: int) -> str:
    return f"{count:,} contact{'' if count == 1 else 's'}"


def segment_service(runtime: Runtime) -> SegmentService:
    return SegmentService.from_settings(runtime.sessions, runtime.settings)


@dataclass(frozen=True)
class Line:
    path: Path
    text: str


def definition_lines(group: Group, path: Path = (), depth: int = 0) -> list[Line]:
    """Return the tree as indented lines, each with the path of its item."""
    indent = "  " * depth
    lines = [Line(path, f"{indent}{MATCH_LABELS[group.match]} ({group.match})")]
    for index, item in enumerate(group.conditions):
        item_path = (*path, index)
        if isinstance(item, Group):
            lines.extend(definition_lines(item, item_path, depth + 1))
        else:
            lines.append(Line(item_path, f"{indent}  • {describe_condition(item)}"))
    return lines


def condition_count(group: Group) -> int:
    """Count the conditions in ``group`` and in every group nested in it."""
    return sum(
        condition_count(item) if isinstance(item, Group) else 1
        for item in group.conditions
    )


class SegmentBuilderScreen(LogsteerScreen):
    """Edits one segment's conditions, from the keyboard alone.

    | Key | Action |
    | --- | --- |
    | a | Add a condition to the highlighted group |
    | g | Add a nested group |
    | m | Switch the highlighted group between all of (and) and any of (or) |
    | e, enter | Edit the highlighted condition |
    | x, delete | Remove the highlighted item, asking first for a group |
    | K, J | Move the highlighted item up or down |
    | ctrl+s | Save |
    | v | View the matching contacts |
    | escape | Back to the segments |
    """

    TITLE = "Segment builder"
    BINDINGS = [
        Binding(
            "a",
            "add_condition",
            "Add",
            id="segment_builder.add",
            tooltip="Add a condition to the highlighted group",
        ),
        Binding(
            "g",
            "add_group",
            "Group",
            id="segment_builder.group",
            tooltip="Add a nested group of conditions",
        ),
        # And/Or, Up and Down are hidden from the footer, which has no room for
        # them at 80 columns next to View and Back. The help screen lists them.
        Binding(
            "m",
            "toggle_match",
            "And/Or",
            id="segment_builder.match",
            tooltip="Switch the group between all of and any of",
            show=False,
        ),
        Binding(
            "e",
            "edit",
            "Edit",
            id="segment_builder.edit",
            tooltip="Edit the highlighted condition",
        ),
        Binding(
            "x,delete",
            "remove",
            "Remove",
            id="segment_builder.remove",
            tooltip="Remove the highlighted item",
        ),
        Binding(
            "K",
            "move(-1)",
            "Up",
            id="segment_builder.up",
            tooltip="Move the item up",
            show=False,
        ),
        Binding(
            "J",
            "move(1)",
            "Down",
            id="segment_builder.down",
            tooltip="Move the item down",
            show=False,
        ),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="segment_builder.save",
            tooltip="Save the segment",
        ),
        Binding(
            "v",
            "view",
            "View",
            id="segment_builder.view",
            tooltip="List the matching contacts",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="segment_builder.back",
            tooltip="Back to the segments",
        ),
    ]

    class Counted(Message):
        def __init__(self, definition: Group, count: int) -> None:
            super().__init__()
            self.definition = definition
            self.count = count

    class Saved(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class NamesListed(Message):
        def __init__(self, names: Sequence[str]) -> None:
            super().__init__()
            self.names = names

    def __init__(self, runtime: Runtime, name: str | None, definition: Group) -> None:
        super().__init__(runtime)
        self.segment_name = name
        self.definition = definition
        self.saved_definition = definition
        self.lines: list[Line] = []

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="segment-builder-title")
        yield OptionList(id="segment-builder-tree")
        yield Label("", id="segment-builder-count")
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        yield Footer(compact=True)

    @property
    def outline(self) -> OptionList:
        return self.query_one("#segment-builder-tree", OptionList)

    @property
    def dirty(self) -> bool:
        return self.definition != self.saved_definition

    def on_mount(self) -> None:
        self._show(())
        self.outline.focus()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "Add a condition", "To the highlighted group", self.action_add_condition
        )
        yield PaletteCommand(
            "Add a group", "A nested group of conditions", self.action_add_group
        )
        yield PaletteCommand("Save the segment", "Under its name", self.action_save)

    def _title(self) -> str:
        name = self.segment_name or "New segment"
        return f"Segment: {name}{' (changed)' if self.dirty else ''}"

    def _show(self, highlight: Path) -> None:
        self.lines = definition_lines(self.definition)
        tree = self.outline
        tree.clear_options()
        tree.add_options([Option(line.text) for line in self.lines])
        paths = [line.path for line in self.lines]
        tree.highlighted = paths.index(highlight) if highlight in paths else 0
        self.query_one("#segment-builder-title", Label).update(self._title())
        self.query_one("#segment-builder-count", Label).update("Counting …")
        self._count(self.definition)

    @work(exclusive=True, group="segment-builder-count", exit_on_error=False)
    async def _count(self, definition: Group) -> None:
        count = await segment_service(self.runtime).count(definition)
        self.post_message(self.Counted(definition, count))

    def on_segment_builder_screen_counted(self, message: Counted) -> None:
        if message.definition == self.definition:
            label = self.query_one("#segment-builder-count", Label)
            label.update(f"{contacts(message.count)} match")

    def highlighted_path(self) -> Path:
        index = self.outline.highlighted
        if index is None or not 0 <= index < len(self.lines):
            return ()
        return self.lines[index].path

    def _edit(self, definition: Group, highlight: Path) -> None:
        self.definition = definition
        self._show(highlight)

    # Actions.

    def action_add_condition(self) -> None:
        group_path = group_path_of(self.definition, self.highlighted_path())

        def add(condition: Condition | None) -> None:
            if condition is not None:
                self._edit(*append_to(self.definition, group_path, condition))

        self.app.push_screen(ConditionScreen(None, self.runtime.sessions), add)

    def action_add_group(self) -> None:
        group_path = group_path_of(self.definition, self.highlighted_path())
        parent = item_at(self.definition, group_path)
        assert isinstance(parent, Group)
        match: Match = "or" if parent.match == "and" else "and"
        self._edit(*append_to(self.definition, group_path, Group(match)))

    def action_toggle_match(self) -> None:
        path = self.highlighted_path()
        group_path = group_path_of(self.definition, path)
        self._edit(toggle_match(self.definition, group_path), path)

    def action_edit(self) -> None:
        path = self.highlighted_path()
        item = item_at(self.definition, path)
        if isinstance(item, Group):
            self.action_add_condition()
            return

        def change(condition: Condition | None) -> None:
            if condition is not None:
                self._edit(replace_at(self.definition, path, condition), path)

        self.app.push_screen(ConditionScreen(item, self.runtime.sessions), change)

    @on(OptionList.OptionSelected, "#segment-builder-tree")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_edit()

    def action_remove(self) -> None:
        path = self.highlighted_path()
        item = item_at(self.definition, path)
        if not isinstance(item, Group) or not item.conditions:
            self._edit(remove_at(self.definition, path), path[:-1])
            return

        def remove_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self._edit(remove_at(self.definition, path), path[:-1])

        count = condition_count(item)
        conditions = f"{count} condition{'s' if count != 1 else ''}"
        question = (
            f"Remove every condition of the segment ({conditions})?"
            if not path
            else f"Remove this group and its {conditions}?"
        )
        self.app.push_screen(ConfirmScreen(question, "Remove"), remove_if_confirmed)

    def action_move(self, offset: int) -> None:
        self._edit(*move_by(self.definition, self.highlighted_path(), offset))

    def action_view(self) -> None:
        title = self.segment_name or "New segment"
        saved = self.segment_name is not None and not self.dirty
        results = SegmentResultsScreen(self.runtime, title, self.definition, saved)
        self.app.push_screen(results)

    def action_save(self) -> None:
        if self.segment_name:
            self._save(self.segment_name, self.definition)
            return
        self._ask_name()

    @work(group="segment-builder-names", exit_on_error=False)
    async def _ask_name(self) -> None:
        # A save under another segment's name replaces that segment, so a new
        # segment's name dialog rejects the names in use.
        saved = await segment_service(self.runtime).list_segments()
        self.post_message(self.NamesListed([segment.name for segment in saved]))

    def on_segment_builder_screen_names_listed(self, message: NamesListed) -> None:
        def save_as(name: str | None) -> None:
            if name:
                self._save(name, self.definition)

        dialog = NameScreen("Save the segment as", taken_names=message.names)
        self.app.push_screen(dialog, save_as)

    @work(group="segment-builder-save", exit_on_error=False)
    async def _save(self, name: str, definition: Group) -> None:
        saved = await segment_service(self.runtime).save(name, definition)
        self.post_message(self.Saved(saved.name))

    def on_segment_builder_screen_saved(self, message: Saved) -> None:
        self.segment_name = message.name
        self.saved_definition = self.definition
        self.query_one("#segment-builder-title", Label).update(self._title())
        self.notify(f"Saved the segment {message.name}.", title="Segment saved")

    def action_back(self) -> None:
        if not self.dirty:
            self.dismiss(None)
            return

        def leave_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen("Leave the segment without saving the changes?", "Discard"),
            leave_if_confirmed,
        )


class SegmentsScreen(LogsteerScreen):
    """Every saved segment with the number of contacts it matches now.

    | Key | Action |
    | --- | --- |
    | enter | List the segment's contacts |
    | n | New segment |
    | e | Edit the highlighted segment |
    | r | Rename |
    | c | Duplicate |
    | d | Delete, after a confirmation |
    | escape | Back |
    """

    TITLE = "Segments"
    BINDINGS = [
        Binding(
            "enter",
            "open",
            "Contacts",
            id="segments.open",
            tooltip="List the segment's contacts",
        ),
        Binding("n", "new", "New", id="segments.new", tooltip="Build a new segment"),
        Binding(
            "e",
            "edit",
            "Edit",
            id="segments.edit",
            tooltip="Edit the segment's conditions",
        ),
        Binding(
            "r", "rename", "Rename", id="segments.rename", tooltip="Rename the segment"
        ),
        Binding(
            "c",
            "duplicate",
            "Copy",
            id="segments.duplicate",
            tooltip="Duplicate the segment",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="segments.delete",
            tooltip="Delete the segment, after a confirmation",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="segments.back",
            tooltip="Back to the previous screen",
        ),
    ]

    class Listed(Message):
        def __init__(self, summaries: Sequence[SegmentSummary]) -> None:
            super().__init__()
            self.summaries = summaries

    class DeleteChecked(Message):
        """No schedule sends to the segment ``name``, so it may be deleted."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Loaded(Message):
        """A saved segment read for ``purpose``: "open" or "edit"."""

        def __init__(self, name: str, definition: Group, purpose: str) -> None:
            super().__init__()
            self.name = name
            self.definition = definition
            self.purpose = purpose

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.summaries: list[SegmentSummary] = []
        # Not Textual's ``loading``, which would cover the screen with a spinner.
        self.listing = True
        # Held by each list read and each change with its list, so a list read
        # on resume, while a delete runs, cannot post the old list after the new.
        self.list_lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        with Horizontal(id="segments-title-row"):
            yield Label("Segments", id="segments-title")
            yield Label("", id="segments-count")
        yield DataTable(id="segments-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar(database_url(self.runtime.settings, self.runtime.paths))
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#segments-table", DataTable)

    def on_mount(self) -> None:
        self.table.add_column("Name", key="name", width=44)
        self.table.add_column("Contacts", key="count", width=10)
        self.table.add_column("Changed", key="updated", width=10)
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "New segment", "Build a filter over contacts", self.action_new
        )

    def reload(self) -> None:
        self.listing = True
        self._list()

    @work(exclusive=True, group="segments-list", exit_on_error=False)
    async def _list(self) -> None:
        async with self.list_lock:
            summaries = await segment_service(self.runtime).list_with_counts()
            self.post_message(self.Listed(summaries))

    def on_segments_screen_listed(self, message: Listed) -> None:
        selected = self.highlighted()
        row = self.table.cursor_row
        self.summaries = list(message.summaries)
        table = self.table
        table.clear()
        zone = self.runtime.settings.general.zone
        for summary in self.summaries:
            table.add_row(
                summary.name,
                f"{summary.count:,}",
                local_date(summary.updated_at, zone),
                key=str(summary.id),
            )
        names = [summary.name for summary in self.summaries]
        if selected is not None and selected.name in names:
            table.move_cursor(row=names.index(selected.name))
        elif names:
            # When the highlighted segment is gone, keep the row that took its place.
            table.move_cursor(row=min(row, len(names) - 1))
        total = len(self.summaries)
        self.query_one("#segments-count", Label).update(
            f"{total} segment{'s' if total != 1 else ''}  (n: new)"
        )
        self.listing = False

    def highlighted(self) -> SegmentSummary | None:
        row = self.table.cursor_row
        if not self.summaries or not 0 <= row < len(self.summaries):
            return None
        return self.summaries[row]

    @on(DataTable.RowSelected, "#segments-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @work(group="segments-load", exit_on_error=False)
    async def _load(self, name: str, purpose: str) -> None:
        segment = await segment_service(self.runtime).get(name)
        self.post_message(self.Loaded(segment.name, segment.definition, purpose))

    def on_segments_screen_loaded(self, message: Loaded) -> None:
        if message.purpose == "open":
            screen: LogsteerScreen = SegmentResultsScreen(
                self.runtime, message.name, message.definition
            )
        else:
            screen = SegmentBuilderScreen(
                self.runtime, message.name, message.definition
            )
        self.app.push_screen(screen)

    # Actions.

    def action_open(self) -> None:
        summary = self.highlighted()
        if summary is not None:
            self._load(summary.name, "open")

    def action_edit(self) -> None:
        summary = self.highlighted()
        if summary is not None:
            self._load(summary.name, "edit")

    def action_new(self) -> None:
        self.app.push_screen(SegmentBuilderScreen(self.runtime, None, Group("and")))

    def action_rename(self) -> None:
        summary = self.highlighted()
        if summary is None:
            return

        def rename(new_name: str | None) -> None:
            if new_name:
                self._change(summary.name, "rename", new_name)

        others = [item.name for item in self.summaries if item.name != summary.name]
        self.app.push_screen(
            NameScreen(f"Rename {summary.name} to", summary.name, others), rename
        )

    def action_duplicate(self) -> None:
        summary = self.highlighted()
        if summary is not None:
            self._change(summary.name, "duplicate")

    def action_delete(self) -> None:
        summary = self.highlighted()
        if summary is not None:
            # A segment that schedules send to is refused before the question.
            self._check_delete(summary.name)

    @work(group="segments-change", exit_on_error=False)
    async def _check_delete(self, name: str) -> None:
        await segment_service(self.runtime).check_deletable(name)
        self.post_message(self.DeleteChecked(name))

    def on_segments_screen_delete_checked(self, message: DeleteChecked) -> None:
        name = message.name

        def delete_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self._change(name, "delete")

        self.app.push_screen(
            ConfirmScreen(f"Delete the segment {name}? Its contacts stay."),
            delete_if_confirmed,
        )

    @work(group="segments-change", exit_on_error=False)
    async def _change(self, name: str, change: str, new_name: str = "") -> None:
        service = segment_service(self.runtime)
        async with self.list_lock:
            if change == "rename":
                await service.rename(name, new_name)
            elif change == "duplicate":
                await service.duplicate(name)
            else:
                await service.delete(name)
            self.post_message(self.Listed(await service.list_with_counts()))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.dismiss(None)
