"""The `logsteer` command: the TUI by default, and subcommands for scripts.

Each subcommand lives in logsteer_tui/commands/ and provides ``register(subparsers)``,
which adds its parser and sets ``handler`` to an async function taking the parsed
arguments and a started Runtime, and returning the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from logsteer_tui import __version__
from logsteer_tui.commands import COMMAND_MODULES
from logsteer_tui.config import Settings, load_settings, secret_values
from logsteer_tui.errors import LogsteerError
from logsteer_tui.logging_setup import setup_logging
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logsteer",
        description="SMS and email with your contacts, from the terminal. "
        "With no command, opens the TUI.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML settings file (default: config.toml in the user config dir)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy database URL, such as sqlite:///contacts.sqlite or "
        "postgresql://user@host/db (default: LOGSTEER_DATABASE_URL, then a SQLite "
        "file in the user data dir)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the TUI on the demo database, filling it first if it is new",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def settings_for(args: argparse.Namespace, paths: AppPaths) -> Settings:
    overrides = {}
    if args.database:
        overrides["database_url"] = args.database
    settings = load_settings(args.config or paths.config_file, **overrides)
    if args.demo and not args.database:
        settings.database_url = f"sqlite+aiosqlite:///{paths.demo_database_file}"
    return settings


async def run_command(args: argparse.Namespace, runtime: Runtime) -> int:
    # Commands that set skip_start handle the database themselves, or need none.
    if not getattr(args, "skip_start", False):
        await runtime.start(background=getattr(args, "background", False))
    try:
        return int(await args.handler(args, runtime))
    finally:
        await runtime.stop()


def run_tui(runtime: Runtime, demo: bool) -> int:
    from logsteer_tui.app import LogsteerApp  # Textual loads only for the TUI.

    app = LogsteerApp(runtime, fill_demo=demo)
    app.run()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = AppPaths.default()
    try:
        settings = settings_for(args, paths)
        setup_logging(paths.log_file, secret_values(settings))
        runtime = Runtime.create(settings, paths)
        if args.command is None:
            return run_tui(runtime, demo=args.demo)
        return asyncio.run(run_command(args, runtime))
    except LogsteerError as error:
        print(f"logsteer: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away, as in `logsteer contacts list | head`. Point stdout
        # at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
