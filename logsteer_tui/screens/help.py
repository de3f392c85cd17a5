"""The `?` screen, which lists every key of the screen below it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

# Tab, shift+tab and copy, which textual.screen.Screen binds (Textual 8), and
# the App's own tab and shift+tab, listed last with the cursor keys.
COMMON_ACTIONS = frozenset(
    binding.action for binding in Screen.BINDINGS if isinstance(binding, Binding)
) | {"focus_next", "focus_previous"}


# Column widths that, with the cell padding and the scroll bar, fill the
# 72 columns inside the help dialog at 80x24. Longer texts wrap.
KEY_WIDTH = 10
ACTION_WIDTH = 16
TOOLTIP_WIDTH = 38


@dataclass(frozen=True)
class KeyHelp:
    """One line of the help screen."""

    key: str
    description: str
    tooltip: str


def screen_title(screen: Screen[object]) -> str:
    """Return a readable name of ``screen`` for the help title.

    The screen's TITLE wins. Without one, the class name is split into words,
    so ``SegmentResultsScreen`` reads "Segment results".
    """
    if screen.TITLE:
        return screen.TITLE
    name = type(screen).__name__.removesuffix("Screen") or "App"
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name)
    return " ".join([words[0], *(word.lower() for word in words[1:])])


def screen_keys(screen: Screen[object]) -> list[KeyHelp]:
    """List the bindings active on ``screen`` now.

    The screen's own keys come first, then the App's (f6, f7, f8 and the
    others that work everywhere). The keys of the focused widget and its
    containers, such as the cursor keys, and tab and shift+tab come last.
    """
    app = screen.app

    def rank(active: ActiveBinding) -> int:
        if active.binding.action in COMMON_ACTIONS:
            return 2
        if active.node is screen:
            return 0
        if active.node is app:
            return 1
        return 2

    lines: list[KeyHelp] = []
    seen: set[tuple[str, str]] = set()
    # sorted() is stable, so each group keeps Textual's order of its bindings.
    for active in sorted(screen.active_bindings.values(), key=rank):
        binding = active.binding
        if binding.system and not binding.description:
            continue
        key = app.get_key_display(binding)
        entry = (key, binding.action)
        if entry in seen:
            continue
        seen.add(entry)
        description = binding.description or binding.action.replace("_", " ")
        lines.append(KeyHelp(key, description, active.tooltip or binding.tooltip))
    return lines


class HelpScreen(ModalScreen[None]):
    """Lists the keys of the screen it was opened from.

    | Key | Action |
    | --- | --- |
    | escape, ? | Close |
    """

    TITLE = "Keys"
    BINDINGS = [
        Binding(
            "escape,question_mark,q",
            "close",
            "Close",
            id="help.close",
            tooltip="Back to the screen you came from",
        ),
    ]

    def __init__(self, title: str, keys: Sequence[KeyHelp]) -> None:
        super().__init__(id="help-screen")
        self.help_title = title
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(f"Keys: {self.help_title}", id="help-title")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Label("escape closes this list", id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-keys", DataTable)
        table.add_column("Key", key="key", width=KEY_WIDTH)
        table.add_column("Action", key="action", width=ACTION_WIDTH)
        table.add_column("What it does", key="tooltip", width=TOOLTIP_WIDTH)
        for key in self.keys:
            # A row as high as its longest cell, so a long text wraps, not cuts.
            table.add_row(key.key, key.description, key.tooltip, height=None)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
