"""The `?` screen, which lists every key of the screen below it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label


@dataclass(frozen=True)
class KeyHelp:
    """One line of the help screen."""

    key: str
    description: str
    tooltip: str


def screen_keys(screen: Screen[object]) -> list[KeyHelp]:
    """List the bindings active on ``screen`` now, with the focused widget's first."""
    app = screen.app
    lines: list[KeyHelp] = []
    seen: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
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
        table.add_column("Key", key="key")
        table.add_column("Action", key="action")
        table.add_column("What it does", key="tooltip")
        table.add_rows((key.key, key.description, key.tooltip) for key in self.keys)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
