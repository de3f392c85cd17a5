"""The bottom line of the main screens: which database, and the webhook listener."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from textual.content import Content
from textual.widgets import Static

from logsteer_tui.services.events import ListenerStateChanged


def database_label(url: str) -> str:
    """Name a database briefly: the file name of SQLite, the host and name otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).name if parsed.database else "in memory"
    host = parsed.host or "localhost"
    return f"{host}/{parsed.database}" if parsed.database else host


def listener_content(state: ListenerStateChanged | None) -> Content:
    if state is not None and state.disabled:
        return Content.from_markup(
            "[dim]listener: off ($reason)[/]", reason=state.error
        )
    if state is not None and state.running and state.error:
        return Content.from_markup(
            "listener: up on $address [$warning]· $warning_text[/]",
            address=state.address,
            warning_text=state.error,
        )
    if state is not None and state.running:
        return Content.from_markup("listener: up on $address", address=state.address)
    if state is not None and state.error:
        return Content.from_markup(
            "[$error]listener: off: $error_text[/]", error_text=state.error
        )
    return Content.from_markup("[dim]listener: off[/]")


class StatusBar(Static):
    """Shows the database and the listener state the App last heard of.

    The App keeps the latest ListenerStateChanged in its ``listener_state``
    reactive and every status bar watches it, so a screen opened later shows it too.
    """

    def __init__(self, database_url: str) -> None:
        super().__init__(classes="status-bar")
        self.database = database_label(database_url)
        self.listener: ListenerStateChanged | None = None

    def on_mount(self) -> None:
        if hasattr(self.app, "listener_state"):
            self.watch(self.app, "listener_state", self.show_listener, init=True)
        else:
            self.show_listener(None)

    def show_listener(self, state: ListenerStateChanged | None) -> None:
        self.listener = state
        line = Content.assemble(
            Content.from_markup("[dim]db:[/] $name  ", name=self.database),
            listener_content(state),
        )
        self.update(line)
