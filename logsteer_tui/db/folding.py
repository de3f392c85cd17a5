"""Fold text in SQL as services.text.fold folds it in Python.

``FoldedText(column)`` renders ``logsteer_fold(column)`` on SQLite, where
configure_sqlite registers that name as a deterministic function that runs
``fold`` itself. PostgreSQL gets an expression of built-in functions only, so a
stock server needs no extension: ``lower``, ``replace`` for the letters that
Unicode does not decompose, ``normalize(..., NFKD)`` and ``regexp_replace``
that removes the combining marks.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache
from typing import Any

from sqlalchemy import String, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from logsteer_tui.services.text import SPECIAL_LETTERS, fold

FOLD_FUNCTION = "logsteer_fold"

# Letters that PostgreSQL's lower() leaves apart from str.casefold(), after
# SPECIAL_LETTERS. NOTE: about 240 rarer letters (counted with Python's own
# str.lower in place of lower()) still fold apart there:
# Cherokee, Cyrillic letter variants and Greek letters with an iota subscript.
POSTGRESQL_LETTERS = {**SPECIAL_LETTERS, "ς": "σ"}


def fold_value(value: object) -> str | None:
    """Fold one SQL value for the SQLite function; NULL stays NULL."""
    if value is None:
        return None
    return fold(value if isinstance(value, str) else str(value))


class FoldedText(GenericFunction[str]):
    """The folded form of a text expression, compared with folded values."""

    name = FOLD_FUNCTION
    type = String()
    inherit_cache = True


@compiles(FoldedText, "postgresql")
def _fold_on_postgresql(element: FoldedText, compiler: SQLCompiler, **kw: Any) -> str:
    # lower() folds every letter under a UTF-8 LC_CTYPE, the default of initdb
    # on most systems. NOTE: a database created with LC_CTYPE C lowers ASCII only.
    (argument,) = element.clauses.clauses
    expression: Any = func.lower(argument)
    for letter, plain in POSTGRESQL_LETTERS.items():
        expression = func.replace(expression, letter, plain)
    decomposed = func.normalize(expression, literal_column("NFKD"))
    stripped = func.regexp_replace(decomposed, combining_marks_pattern(), "", "g")
    return compiler.process(stripped, **kw)


@cache
def combining_marks_pattern() -> str:
    """Return a regular expression class of every combining mark, as fold drops.

    Scanning every code point takes about 60 ms, once per process.
    """
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if not unicodedata.combining(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = [
        chr(low) if low == high else f"{chr(low)}-{chr(high)}" for low, high in ranges
    ]
    return "[" + "".join(parts) + "]"
