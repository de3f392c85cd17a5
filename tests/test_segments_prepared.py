"""Compiled segment statements return what SQLAlchemy's own execution returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from test_segments_data import (
    add_contact,
    add_message,
    add_order,
    segment_service,
)

from logsteer_tui.db.models import Contact, Direction
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.contacts import PageCursor
from logsteer_tui.services.segments import (
    Group,
    SegmentRow,
    SegmentService,
    SegmentSort,
    parse_definition,
)
from logsteer_tui.services.segments.prepared import PreparedQuery

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

EVERYONE: dict[str, Any] = {"match": "and"}
QUIET_BUYERS: dict[str, Any] = {
    "match": "and",
    "conditions": [
        {
            "field": "last_sms_received_at",
            "operator": "not_within_last_days",
            "value": 15,
        },
        {"field": "order.total", "operator": "greater_than", "value": 5},
    ],
}


async def add_people(runtime: Runtime) -> None:
    """Add contacts whose sort columns repeat, are NULL or differ in each way."""
    for index in range(9):
        contact_id = await add_contact(
            runtime,
            first_name=f"Ana{index % 3}",
            last_name="Šimić" if index % 2 else "Kovač",
            email=f"a{index % 4}@example.com" if index % 3 else None,
            mobile_1=f"+38591{index % 5:07d}" if index % 4 else None,
            do_not_send_sms=index % 2 == 0,
            do_not_send_email=index % 3 == 0,
        )
        if index % 3 != 2:
            await add_message(
                runtime,
                contact_id,
                Direction.IN,
                NOW - timedelta(days=10 * (index % 4), hours=index),
                f"in {index % 2}",
            )
        if index % 2 == 0:
            await add_message(
                runtime,
                contact_id,
                Direction.OUT,
                NOW - timedelta(days=index % 3),
                f"out {index % 3}",
            )
        await add_order(runtime, contact_id, 500 * index, NOW - timedelta(days=index))


async def plain_page(
    runtime: Runtime,
    segments: SegmentService,
    definition: Group,
    sort: SegmentSort,
    descending: bool,
    after: PageCursor | None,
) -> list[SegmentRow]:
    query = segments.page_query(definition, sort, descending, after, 2, NOW)
    async with runtime.sessions() as session:
        result = await session.execute(query)
        return [SegmentRow(**row._mapping) for row in result]


async def check_every_page(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    await add_people(runtime)
    for data in (EVERYONE, QUIET_BUYERS):
        definition = parse_definition(data)
        for sort in SegmentSort:
            for descending in (False, True):
                case = (data is EVERYONE, sort, descending)
                after = None
                pages = 0
                for _ in range(10):
                    expected = await plain_page(
                        runtime, segments, definition, sort, descending, after
                    )
                    rows = await segments.page(
                        definition, sort, descending, after, limit=2, now=NOW
                    )
                    assert rows == expected, case
                    if not rows:
                        break
                    pages += 1
                    after = rows[-1].cursor
                assert pages >= 2, case
        async with runtime.sessions() as session:
            expected_count = await session.scalar(segments.count_query(definition, NOW))
        assert await segments.count(definition, NOW) == expected_count


async def test_prepared_pages_match_sqlite(runtime: Runtime) -> None:
    await check_every_page(runtime)


@pytest.mark.postgres
async def test_prepared_pages_match_postgres(pg_runtime: Runtime) -> None:
    await check_every_page(pg_runtime)


async def test_prepared_rows_have_model_types(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    await add_people(runtime)
    rows = await segments.page(
        parse_definition(EVERYONE), SegmentSort.LAST_RECEIVED_AT, now=NOW
    )
    received = [row.last_sms_received_at for row in rows]
    assert None in received
    assert all(at is None or at.tzinfo is UTC for at in received)
    assert all(isinstance(row.do_not_send_sms, bool) for row in rows)


async def test_cursor_values_stay_parameters(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    await add_contact(runtime, first_name="Ana", last_name="O'Brien")
    await add_contact(runtime, first_name="Ivo", last_name="Perić")
    everyone = parse_definition(EVERYONE)
    first = await segments.page(everyone, limit=1, now=NOW)
    rest = await segments.page(everyone, after=first[0].cursor, limit=5, now=NOW)
    assert [row.full_name for row in first + rest] == ["Ana O'Brien", "Ivo Perić"]
    for prepared in segments._queries.values():
        assert "brien" not in prepared.sql


def test_expanding_parameter_rejected() -> None:
    query = select(Contact.id).where(Contact.id.in_([1, 2]))
    with pytest.raises(ValueError, match="rendered at execution"):
        PreparedQuery.compile(query, sqlite.dialect())
