"""Printing command results: one JSON array for scripts, or a plain text table."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


class JsonArrayPrinter:
    """A printer of one JSON array, item by item, in the format of ``print_json``.

    It is a context manager, which prints the brackets on entry and exit.
    """

    def __init__(self) -> None:
        self._count = 0

    def __enter__(self) -> JsonArrayPrinter:
        print("[", end="")
        return self

    def __exit__(self, *exc_info: object) -> None:
        print("\n]" if self._count else "]")

    def print_items(self, items: Iterable[Any]) -> None:
        for item in items:
            text = json.dumps(item, indent=2, ensure_ascii=False)
            separator = ",\n" if self._count else "\n"
            print(separator + "  " + text.replace("\n", "\n  "), end="")
            self._count += 1


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` under ``headers`` in columns padded to their widest cell."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    for line in (headers, ["-" * width for width in widths], *rows):
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        print("  ".join(cells).rstrip())


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """Format ``value`` in ``zone`` to the minute, or return "" for None."""
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def shorten(text: str | None, width: int) -> str:
    """Join ``text`` onto one line and cut it to ``width`` characters with "…"."""
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"
