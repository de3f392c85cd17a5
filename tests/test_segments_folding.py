"""Text conditions on columns folded in SQL ignore case and marks in any script."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from test_segments_data import (
    add_address,
    add_contact,
    add_message,
    add_note,
    add_order,
    segment_service,
    where,
)

from logsteer_tui.db.folding import combining_marks_pattern, fold_value
from logsteer_tui.db.models import Direction
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.text import fold

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

# (field, operator, value, the first names that match)
CASES = [
    ("address.city", "equals", "KÖLN", ["Jörg", "Karl"]),
    ("address.city", "equals", "koln", ["Jörg", "Karl"]),
    ("address.city", "contains", "ЖУК", ["Olga"]),
    ("address.city", "starts_with", "жуков", ["Olga"]),
    ("address.city", "not_equals", "Köln", ["Nobody", "Olga"]),
    ("address.street", "contains", "STRASSE", ["Olga"]),
    ("address.street", "contains", "straße", ["Olga"]),
    ("address.street", "starts_with", "GROSSE", ["Olga"]),
    ("address.street", "does_not_contain", "ß", ["Jörg", "Karl", "Nobody"]),
    ("note.text", "contains", "ÉCOLE", ["Jörg"]),
    ("note.text", "contains", "ecole", ["Jörg"]),
    ("email", "starts_with", "JÖRG", ["Jörg"]),
    ("email", "equals", "jorg@example.com", ["Jörg"]),
    ("email", "not_equals", "jörg@example.com", ["Karl", "Nobody", "Olga"]),
    ("last_sms_received_body", "contains", "ŁÓDŹ", ["Jörg"]),
    ("last_sms_received_body", "contains", "lodz", ["Jörg"]),
    ("last_sms_received_body", "not_equals", "łódź jutro", ["Karl", "Nobody", "Olga"]),
    ("order.status", "equals", "GEÖFFNET", ["Olga"]),
    ("order.status", "not_equals", "geöffnet", ["Jörg", "Karl", "Nobody"]),
    ("last_name", "equals", "ŻÓŁW", ["Olga"]),
]


async def add_people(runtime: Runtime) -> None:
    jorg = await add_contact(
        runtime, first_name="Jörg", last_name="Müller", email="JÖRG@example.com"
    )
    await add_address(runtime, jorg, city="Köln", street="Domplatz 1")
    await add_note(runtime, jorg, "Petite ÉCOLE, rue Saint-Éloi", NOW)
    await add_message(
        runtime, jorg, Direction.IN, NOW - timedelta(days=1), "Łódź jutro"
    )
    await add_order(runtime, jorg, 1000, NOW, status="bezahlt")
    karl = await add_contact(runtime, first_name="Karl", email="karl@example.com")
    await add_address(runtime, karl, city="KOLN", street="Ring 2")
    olga = await add_contact(runtime, first_name="Olga", last_name="Żółw")
    await add_address(runtime, olga, city="Жуковский", street="Große Straße 5")
    await add_order(runtime, olga, 2000, NOW, status="Geöffnet")
    await add_contact(runtime, first_name="Nobody")


async def check_cases(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    await add_people(runtime)
    for field, operator, value, expected in CASES:
        rows = await segments.page(where(field, operator, value), now=NOW)
        found = sorted(row.first_name for row in rows)
        assert found == expected, (field, operator, value)


async def test_fold_in_sql_on_sqlite(runtime: Runtime) -> None:
    await check_cases(runtime)


@pytest.mark.postgres
async def test_fold_in_sql_on_postgres(pg_runtime: Runtime) -> None:
    await check_cases(pg_runtime)


def test_fold_value_keeps_null() -> None:
    assert fold_value(None) is None
    assert fold_value("ŁÓDŹ Straße") == "lodz strasse"
    assert fold_value(10115) == "10115"


def test_ascii_fold_matches_casefold() -> None:
    for text in ("Zagreb", "MIXED case 123", "a_b%c", ""):
        assert fold(text) == text.casefold()


def test_marks_pattern_matches_marks_only() -> None:
    pattern = re.compile(combining_marks_pattern())
    for mark in ("\u0301", "\u0308", "\u030c", "\u0328", "\U0001e944"):
        assert pattern.fullmatch(mark), hex(ord(mark))
    for letter in ("a", "ж", "ß", "-", "]", "\\"):
        assert not pattern.fullmatch(letter), letter
