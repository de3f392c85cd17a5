"""The Textual App: a thin coordinator of screens, bindings and the palette."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.message import Message

from logsteer_tui.runtime import Runtime
from logsteer_tui.services.events import Event


class HubEvent(Message):
    """An event from the services' hub, delivered on the App's message queue."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class LogsteerApp(App[int]):
    """Logsteer TUI. The runtime is built outside and handed in."""

    CSS_PATH = Path(__file__).parent / "logsteer.tcss"
    TITLE = "Logsteer"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Leave Logsteer"),
    ]

    def __init__(self, runtime: Runtime, fill_demo: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.fill_demo = fill_demo
        self._unsubscribe = runtime.hub.subscribe(self._forward_event)

    def _forward_event(self, event: Event) -> None:
        self.post_message(HubEvent(event))

    async def on_unmount(self) -> None:
        self._unsubscribe()
        await self.runtime.stop()
