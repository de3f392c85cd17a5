"""`logsteer demo`: fill the selected database with realistic demo data."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from logsteer_tui.commands.contacts_command import positive_int
from logsteer_tui.db.engine import async_url
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime, database_url
from logsteer_tui.services.demo import (
    DEFAULT_DEMO_CONTACTS,
    count_contacts,
    generate_demo_data,
)

# Below this many contacts a run takes a few seconds at most, so no bar is drawn.
PROGRESS_MIN_CONTACTS = 5000


class DatabaseNotEmptyError(LogsteerError):
    title = "Database not empty"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="fill the database with demo contacts and messages",
        description="Add Croatian demo contacts with addresses, notes, orders and "
        "a message history in every status to the database chosen by --database "
        "(default: the app's database). The phone numbers are random and may be "
        "real, so send from demo data only with the development SMS provider.",
    )
    parser.add_argument(
        "--contacts",
        type=positive_int,
        default=DEFAULT_DEMO_CONTACTS,
        metavar="N",
        help=f"number of contacts to add (default: {DEFAULT_DEMO_CONTACTS})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help="random seed, so one seed gives the same data (default: 1)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add to a database that already has contacts",
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, runtime: Runtime) -> int:
    existing = await count_contacts(runtime)
    if existing and not args.append:
        url = async_url(database_url(runtime.settings, runtime.paths))
        raise DatabaseNotEmptyError(
            f"The database {url.render_as_string(hide_password=True)} already has "
            f"{existing} contacts. Add --append to add demo contacts to them, or "
            "choose an empty database with --database URL."
        )
    if args.contacts < PROGRESS_MIN_CONTACTS or not sys.stderr.isatty():
        summary = await generate_demo_data(runtime, args.contacts, args.seed)
    else:
        progress = Progress(
            "Generating demo data",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            task = progress.add_task("contacts", total=args.contacts)
            summary = await generate_demo_data(
                runtime,
                args.contacts,
                args.seed,
                on_progress=lambda done: progress.update(task, completed=done),
            )
    print(
        f"Added {summary.contacts} demo contacts with {summary.addresses} addresses, "
        f"{summary.notes} notes, {summary.orders} orders, {summary.messages} "
        f"messages and {summary.consent_events} consent events "
        f"in {summary.seconds:.1f} s."
    )
    return 0
