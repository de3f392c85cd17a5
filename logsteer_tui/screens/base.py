"""The base of the main Logsteer screens: hub events and palette commands."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker

from logsteer_tui.runtime import Runtime
from logsteer_tui.services.events import Event
from logsteer_tui.widgets.worker_errors import report_worker_error


class HubEvent(Message, bubble=False):
    """An event from the services' hub, delivered on the App's message queue.

    The App forwards a copy to every screen on the stack; it does not bubble, so a
    screen's copy never comes back to the App.
    """

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


@dataclass(frozen=True)
class ScheduleTarget:
    """Whom a new schedule sends to: a saved segment, or marked contacts."""

    segment: str | None = None
    contact_ids: tuple[int, ...] | None = None

    @property
    def label(self) -> str:
        if self.contact_ids is not None:
            count = len(self.contact_ids)
            return f"{count:,} marked contact{'s' if count != 1 else ''}"
        return self.segment or ""


@dataclass(frozen=True)
class PaletteCommand:
    """One entry of the command palette."""

    name: str
    help: str
    callback: Callable[[], Any]


class LogsteerScreen(Screen[None]):
    """A main screen of the app, built on the shared runtime.

    Subclasses handle ``HubEvent`` with an ``on_hub_event`` method and add their
    own palette entries by overriding ``palette_commands``. A screen that can
    plan a schedule for the contacts it shows sets ``plan_hint`` and overrides
    ``schedule_target``.
    """

    plan_hint: ClassVar[str] = ""
    """How to choose the contacts to plan an SMS for here; empty where none can be."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Return the commands this screen adds to the command palette."""
        return ()

    def schedule_target(self) -> ScheduleTarget | None:
        """Return whom "Plan SMS" sends to now, or None while nothing is chosen."""
        return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual also runs a subclass's own handler of this message.
        report_worker_error(self, event)
