"""`logsteer import contacts FILE.csv`: import a CRM export."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

from logsteer_tui.runtime import Runtime
from logsteer_tui.services.importer import COLUMN_ALIASES, import_contacts

# Files with fewer lines import in a second or two, so no bar is drawn.
PROGRESS_MIN_LINES = 2000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("import", help="import contacts from a file")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    aliases = "; ".join(
        f"{field}: {', '.join(names)}" for field, names in COLUMN_ALIASES.items()
    )
    contacts = kinds.add_parser(
        "contacts",
        help="import contacts from a CSV file",
        description="Import contacts from a CSV file in UTF-8, with or without a "
        "byte order mark, separated by commas or semicolons. Header names are "
        f"matched ignoring case, diacritics, hyphens and underscores ({aliases}); "
        "other columns are "
        "kept as contact attributes. A row whose email or Mobile 1 is already "
        "stored updates that contact: non-empty cells replace its values and a "
        "Do not send flag (true, yes, 1 or da) is set but never cleared. Invalid "
        "rows are listed on "
        "standard error with their row number, as a spreadsheet numbers them, "
        "and the rest is imported. Exits with 1 when any row failed.",
    )
    contacts.add_argument("file", type=Path, metavar="FILE.csv")
    contacts.set_defaults(handler=run)


@contextmanager
def progress_bar(lines: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on standard error, or None for small files."""
    if lines < PROGRESS_MIN_LINES or not sys.stderr.isatty():
        yield None
        return
    progress = Progress(
        "Importing",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("rows", total=lines)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as file:
            return sum(
                chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b"")
            )
    except OSError:
        return 0  # import_contacts reports the error with its advice


async def run(args: argparse.Namespace, runtime: Runtime) -> int:
    path: Path = args.file
    with progress_bar(count_lines(path)) as on_progress:
        result = await import_contacts(
            runtime.sessions,
            path,
            runtime.settings.general.default_region,
            on_progress=on_progress,
        )
    for error in result.errors:
        print(f"{path.name}: {error}", file=sys.stderr)
    print(
        f"Imported {path}: {result.created} created, {result.updated} updated, "
        f"{result.failed_rows} failed."
    )
    if result.failed_rows:
        print(
            f"{result.failed_rows} rows were not imported. Fix the values listed "
            "above and import the file again: rows with an email or Mobile 1 then "
            "update the contacts already imported instead of duplicating them.",
            file=sys.stderr,
        )
        return 1
    return 0
