"""The Textual App: a thin coordinator of screens, bindings and the palette."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime, database_url, freeze_startup_heap
from logsteer_tui.screens.base import HubEvent, LogsteerScreen, PaletteCommand
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.screens.help import HelpScreen, screen_keys, screen_title
from logsteer_tui.screens.review import ReviewScreen
from logsteer_tui.screens.schedule_form import ScheduleFormScreen
from logsteer_tui.screens.schedules import SchedulesScreen, schedule_target
from logsteer_tui.screens.segments import SegmentsScreen
from logsteer_tui.services.events import Event, ListenerStateChanged, SmsReceived

__all__ = ["HubEvent", "LogsteerApp"]

log = logging.getLogger(__name__)


def shown_url(url: str) -> str:
    """Return the database URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class LogsteerCommands(Provider):
    """The palette entries of the App and of the screen it was opened from."""

    def _commands(self) -> list[PaletteCommand]:
        app = self.app
        assert isinstance(app, LogsteerApp)
        commands = list(app.palette_commands())
        screen = app.screen_under_palette
        if isinstance(screen, LogsteerScreen):
            commands.extend(screen.palette_commands())
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.name),
                    command.callback,
                    help=command.help,
                )


class QuitScreen(ConfirmScreen):
    """Asks before quitting while schedule runs are sending."""

    def __init__(self, run_ids: list[int]) -> None:
        runs = ", ".join(str(run_id) for run_id in run_ids)
        plural = "s" if len(run_ids) != 1 else ""
        super().__init__(
            f"Schedule run{plural} with ID {runs} {'are' if plural else 'is'} "
            "sending. Quit anyway? What is left goes out when Logsteer or "
            "`logsteer serve` starts again.",
            confirm_label="Quit",
            cancel_label="Stay",
        )


class LogsteerApp(App[int]):
    """Logsteer TUI. The runtime is built outside and handed in.

    | Key | Action |
    | --- | --- |
    | ? or f1 | Keys of the current screen |
    | f6 | Segments |
    | f7 | Incoming SMS that need review |
    | f8 | Schedules |
    | ctrl+p | Command palette |
    | ctrl+q | Quit |
    """

    CSS_PATH = Path(__file__).parent / "logsteer.tcss"
    TITLE = "Logsteer"
    COMMANDS = App.COMMANDS | {LogsteerCommands}
    BINDINGS = [
        # Priority bindings, so focus moves before the next key is delivered.
        # Over a slow link keys arrive in bursts ("abc", tab, "def"), and the
        # screen's own tab binding runs only after the focused field has
        # taken every key already queued, "def" included.
        Binding(
            "tab",
            "focus_next",
            "Next field",
            id="app.focus_next",
            tooltip="Move to the next field",
            show=False,
            priority=True,
        ),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous field",
            id="app.focus_previous",
            tooltip="Move to the previous field",
            show=False,
            priority=True,
        ),
        # Hidden from the footer, which has no room for it at 80 columns; the help
        # screen and the palette list it.
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            tooltip="Leave Logsteer",
            show=False,
        ),
        Binding(
            "question_mark,f1",
            "help",
            "Keys",
            id="app.help",
            tooltip="List every key of this screen",
        ),
        # Hidden from the footer for room too; the help screen lists it.
        Binding(
            "f6",
            "segments",
            "Segments",
            id="app.segments",
            tooltip="Saved segments with their current counts",
            show=False,
        ),
        Binding(
            "f7",
            "review",
            "Review",
            id="app.review",
            tooltip="Link incoming SMS whose number several contacts share",
            show=False,
        ),
        Binding(
            "f8",
            "schedules",
            "Schedules",
            id="app.schedules",
            tooltip="Planned SMS sends, their runs and progress",
            show=False,
        ),
    ]

    listener_state: reactive[ListenerStateChanged | None] = reactive(None)
    """The webhook listener's last reported state, shown by every StatusBar."""

    def __init__(self, runtime: Runtime, fill_demo: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.fill_demo = fill_demo
        self.database_url = database_url(runtime.settings, runtime.paths)
        self._unsubscribe = runtime.hub.subscribe(self._forward_event)

    def _forward_event(self, event: Event) -> None:
        self.post_message(HubEvent(event))

    def compose(self) -> ComposeResult:
        opening = Content(f"Opening {shown_url(self.database_url)} …")
        yield Static(opening, id="startup-message")

    def on_mount(self) -> None:
        self._start()

    async def on_unmount(self) -> None:
        self._unsubscribe()
        await self.runtime.stop()

    # Start-up.

    @work(name="start", exit_on_error=False)
    async def _start(self) -> None:
        await self.runtime.start()
        if self.fill_demo:
            await self._fill_demo()

    async def _fill_demo(self) -> None:
        try:
            from logsteer_tui.services.demo import ensure_demo_data
        except ImportError as error:
            log.warning("Demo data is not available: %s", error)
            self.notify(
                f"Demo data is not available in this install ({error}); "
                "the database stays as it is.",
                title="No demo data",
                severity="warning",
                markup=False,
            )
            return
        if await ensure_demo_data(self.runtime):
            self.notify("Filled the demo database with sample contacts.")

    def _started(self) -> None:
        self.push_screen(BrowserScreen(self.runtime))
        freeze_startup_heap()

    def _start_failed(self, error: BaseException | None) -> None:
        log.error("Opening %s failed: %r", shown_url(self.database_url), error)
        # SQLAlchemy wraps the driver's error in a longer text with a web link.
        reason = getattr(error, "orig", None) or error
        self.query_one("#startup-message", Static).update(
            Content(
                f"Cannot open the database {shown_url(self.database_url)}:\n"
                f"{reason}\n\n"
                "Check the path or URL (--database or LOGSTEER_DATABASE_URL), "
                "then start Logsteer again.\nPress ctrl+q to quit."
            )
        )
        self.query_one("#startup-message", Static).add_class("-error")

    # Worker results and errors, for every screen.

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "start" and worker.node is self:
            if event.state is WorkerState.SUCCESS:
                self._started()
            elif event.state is WorkerState.ERROR:
                self._start_failed(worker.error)
            return
        if event.state is WorkerState.ERROR:
            self.show_error(worker.error, worker.name or worker.group)

    def show_error(self, error: BaseException | None, during: str) -> None:
        """Show a failed worker's error; unexpected ones go to the log in full."""
        if isinstance(error, LogsteerError):
            self.notify(
                error.message,
                title=error.title,
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        log.error("Background task %s failed", during, exc_info=error)
        log_file = self.runtime.paths.log_file
        self.notify(
            f"{during} failed: {error!r}. Details are in {log_file}.",
            title="Unexpected error",
            severity="error",
            timeout=10,
            markup=False,
        )

    # Events from the services.

    def on_hub_event(self, message: HubEvent) -> None:
        event = message.event
        if isinstance(event, ListenerStateChanged):
            self.listener_state = event
            if not event.running and event.error and not event.disabled:
                # The status bar cuts a long reason at 80 columns; this shows it all.
                self.notify(
                    event.error,
                    title="Webhook listener off",
                    severity="error",
                    timeout=15,
                    markup=False,
                )
        elif isinstance(event, SmsReceived):
            self._notify_sms(event)
        for screen in self.screen_stack:
            screen.post_message(HubEvent(event))

    def _notify_sms(self, event: SmsReceived) -> None:
        sender = event.contact_name or event.sender
        body = event.body if len(event.body) <= 80 else event.body[:79] + "…"
        lines = [f"From {sender}: {body}"]
        if event.consent_change == "opt_out":
            lines.append("They opted out: Do not send SMS is now set.")
        elif event.consent_change == "opt_in":
            lines.append("They opted in again: Do not send SMS is cleared.")
        if event.needs_review:
            lines.append("Several contacts have this number, so it waits for review.")
        self.notify("\n".join(lines), title="SMS received", markup=False)

    # App-wide actions and palette commands.

    @property
    def screen_under_palette(self) -> Screen[Any]:
        """The topmost screen that is not the command palette.

        While the palette is open ``self.screen`` is the palette itself, so
        commands that depend on the user's screen look here instead.
        """
        screens: list[Screen[Any]] = [
            screen
            for screen in self.screen_stack
            if not isinstance(screen, CommandPalette)
        ]
        return screens[-1] if screens else self.screen

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(
            "Open contacts", "The contact browser", self.action_contacts
        )
        yield PaletteCommand(
            "New contact", "An empty contact form", self.action_new_contact
        )
        yield PaletteCommand(
            "Open segments",
            "Saved filters over contacts, with their counts",
            self.action_segments,
        )
        yield PaletteCommand(
            "Review incoming SMS",
            "Pick the contact of messages whose number several contacts share",
            self.action_review,
        )
        yield PaletteCommand(
            "Open schedules", "Planned SMS sends and their runs", self.action_schedules
        )
        screen = self.screen_under_palette
        if isinstance(screen, LogsteerScreen) and screen.plan_hint:
            yield PaletteCommand(
                "Schedule for these contacts",
                "Plan an SMS to the marked contacts, or to the whole segment",
                self.action_schedule_here,
            )
        yield PaletteCommand(
            "Help", "Every key of the current screen", self.action_help
        )
        yield PaletteCommand("Quit", "Leave Logsteer", self.action_quit)

    async def action_quit(self) -> None:
        """Quit, asking first while a schedule run is sending.

        A second ctrl+q while the question is shown quits at once.
        """
        running = sorted(self.runtime.schedules.running_tasks())
        if not running or isinstance(self.screen, QuitScreen):
            self.exit(0)
            return

        def quit_if_confirmed(confirmed: bool | None) -> None:
            if confirmed:
                self.exit(0)

        self.push_screen(QuitScreen(running), quit_if_confirmed)

    def action_help(self) -> None:
        screen = self.screen_under_palette
        if isinstance(screen, HelpScreen):
            return
        self.push_screen(HelpScreen(screen_title(screen), screen_keys(screen)))

    def action_contacts(self) -> None:
        # The browser is the lowest screen after start-up, so at most every screen
        # above it is popped.
        for _screen in self.screen_stack[1:]:
            if isinstance(self.screen_stack[-1], BrowserScreen):
                break
            self.pop_screen()

    def action_new_contact(self) -> None:
        self.push_screen(ContactScreen(self.runtime, None))

    def action_segments(self) -> None:
        if not isinstance(self.screen, SegmentsScreen):
            self.push_screen(SegmentsScreen(self.runtime))

    def action_schedules(self) -> None:
        if not isinstance(self.screen, SchedulesScreen):
            self.push_screen(SchedulesScreen(self.runtime))

    def action_schedule_here(self) -> None:
        screen = self.screen_under_palette
        target = schedule_target(screen)
        if target is None:
            hint = screen.plan_hint if isinstance(screen, LogsteerScreen) else ""
            self.notify(
                hint or "This screen lists no contacts to plan an SMS for.",
                title="No contacts chosen",
                severity="warning",
            )
            return

        def saved(count: int | None) -> None:
            if count:
                self.notify(
                    f"Saved {count} schedule{'s' if count != 1 else ''} for "
                    f"{target.label}. Press f8 to follow "
                    f"{'them' if count != 1 else 'it'}."
                )

        self.push_screen(ScheduleFormScreen(self.runtime, target), saved)

    def action_review(self) -> None:
        if not isinstance(self.screen, ReviewScreen):
            self.push_screen(ReviewScreen(self.runtime))
