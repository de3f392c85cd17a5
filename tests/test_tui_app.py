"""Pilot tests of the App at 80x24: help, palette, status bar and start-up errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.command import CommandPalette
from textual.widgets import DataTable, Static

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.screens.help import HelpScreen
from logsteer_tui.services.events import ListenerStateChanged
from logsteer_tui.widgets.status_bar import StatusBar, database_label


@pytest.fixture(autouse=True)
def no_listener(settings: Settings) -> None:
    """Keep the app's webhook listener off, so tests never bind a real port."""
    settings.listener.enabled = False


def help_lines(app: LogsteerApp) -> list[tuple[str, str]]:
    table = app.screen.query_one("#help-keys", DataTable)
    return [
        (str(table.get_row_at(row)[0]), str(table.get_row_at(row)[1]))
        for row in range(table.row_count)
    ]


async def test_help_lists_browser_keys(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = help_lines(app)
        for key, description in [
            ("⏎", "Open"),
            ("a", "New"),
            ("d", "Delete"),
            ("/", "Search"),
            ("s", "Sort"),
            ("r", "Reverse"),
            ("^q", "Quit"),
        ]:
            assert (key, description) in lines, repr(lines)
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))


async def test_help_follows_the_current_screen(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        await pilot.press("f1")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        descriptions = [description for _key, description in help_lines(app)]
        assert "Save" in descriptions
        assert "History" in descriptions
        assert "Delete" not in descriptions
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))


async def test_every_binding_has_id_and_tooltip(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        app.push_screen(ContactScreen(runtime, None))
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        for node in (app, *app.screen_stack[1:]):
            for binding in node.BINDINGS:
                assert not isinstance(binding, tuple), node
                assert binding.id, (node, binding)
                assert binding.tooltip, (node, binding)


async def test_palette_opens_new_contact(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("ctrl+p")
        await settle(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"New contact")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        assert app.screen.contact_id is None


async def test_status_bar_shows_database_and_listener(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        bar = app.screen.query_one(StatusBar)
        runtime.hub.publish(ListenerStateChanged(True, "127.0.0.1:8765"))
        await settle(pilot, lambda: "up on 127.0.0.1:8765" in str(bar.content))
        assert "logsteer.sqlite" in str(bar.content)

        runtime.hub.publish(
            ListenerStateChanged(False, "127.0.0.1:8765", "address already in use")
        )
        await settle(pilot, lambda: "off: address already in use" in str(bar.content))

        runtime.hub.publish(
            ListenerStateChanged(True, "127.0.0.1:8765", "set [twilio] auth_token")
        )
        await settle(pilot, lambda: "set [twilio] auth_token" in str(bar.content))
        assert "up on 127.0.0.1:8765" in str(bar.content)

        runtime.hub.publish(
            ListenerStateChanged(
                False, "127.0.0.1:8765", "[listener] enabled is false", disabled=True
            )
        )
        await settle(pilot, lambda: "off ([listener] enabled" in str(bar.content))


def test_database_label_names_file_or_host() -> None:
    assert database_label("sqlite+aiosqlite:////tmp/x/contacts.sqlite") == (
        "contacts.sqlite"
    )
    assert database_label("postgresql+asyncpg://ana:secret@db.local/crm") == (
        "db.local/crm"
    )


async def test_start_failure_names_database(
    settings: Settings, paths: AppPaths, tmp_path: Path
) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    settings.database_url = f"sqlite:///{folder}"
    runtime = Runtime.create(settings, paths)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        message = app.query_one("#startup-message", Static)
        await settle(pilot, lambda: message.has_class("-error"), worker_errors=True)
        text = str(message.content)
        assert "Cannot open the database" in text
        assert str(folder) in text
        assert not isinstance(app.screen, BrowserScreen)


async def test_open_contacts_returns_to_browser(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        app.push_screen(ContactScreen(runtime, None))
        app.push_screen(HelpScreen("Contact", []))
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        app.action_contacts()
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert len(app.screen_stack) == 2


async def test_screen_worker_failure_notified(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana"})
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        async with runtime.engine.begin() as connection:
            await connection.exec_driver_sql("ALTER TABLE contact RENAME TO gone")
        await pilot.press("slash", *"ana")
        await settle(
            pilot,
            lambda: any("failed" in str(n.message) for n in app._notifications),
            worker_errors=True,
        )
        notices = [n for n in app._notifications if "failed" in str(n.message)]
        assert notices
        for notice in notices:
            assert notice.severity == "error"
            assert str(runtime.paths.log_file) in str(notice.message)


async def test_listener_failure_notified_in_full(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    reason = "Cannot listen on 127.0.0.1:8765: the port is in use. Stop the program."
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        runtime.hub.publish(ListenerStateChanged(False, "127.0.0.1:8765", reason))
        await settle(
            pilot, lambda: any(n.message == reason for n in app._notifications)
        )
        runtime.hub.publish(
            ListenerStateChanged(
                False, "127.0.0.1:8765", "[listener] enabled is false", disabled=True
            )
        )
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert "[listener] enabled is false" not in messages
