"""Segments on a real PostgreSQL server: every operator runs, meanings hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_segments_data import (
    add_address,
    add_contact,
    add_message,
    add_order,
    segment_service,
    where,
)

from logsteer_tui.db.models import Direction
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.segments import FIELDS, SegmentSort, parse_definition
from logsteer_tui.services.segments.operators import OPERATOR_INFO, ValueShape

pytestmark = pytest.mark.postgres


SAMPLES: dict[str, Any] = {
    "text": "a",
    "number": 1,
    "money": 1.5,
    "count": 1,
    "date": "2026-01-01",
    "flag": True,
}


async def test_every_field_operator_runs(pg_runtime: Runtime) -> None:
    segments = segment_service(pg_runtime)
    await add_contact(pg_runtime, first_name="Ana")
    for spec in FIELDS.values():
        for operator in spec.operators:
            shape = OPERATOR_INFO[operator].shape
            value = spec.choices[0] if spec.choices else SAMPLES[spec.value_type.value]
            if shape is ValueShape.NONE:
                value = None
            elif shape is ValueShape.DAYS:
                value = 7
            elif shape is ValueShape.PAIR:
                value = [value, value]
            definition = where(spec.name, operator.value, value)
            assert await segments.count(definition) in (0, 1), (spec.name, operator)


async def test_meanings_match_sqlite(pg_runtime: Runtime) -> None:
    segments = segment_service(pg_runtime)
    now = datetime.now(UTC)
    zagreb = await add_contact(pg_runtime, first_name="Čedo", last_name="Šimić")
    await add_contact(pg_runtime, first_name="Ana", last_name="Kovač")
    await add_address(pg_runtime, zagreb, city="Zagreb")
    await add_order(pg_runtime, zagreb, 15_000, now - timedelta(days=2))
    await add_message(pg_runtime, zagreb, Direction.IN, now - timedelta(days=1))

    async def names(definition: Any) -> list[str]:
        return [row.full_name for row in await segments.page(definition)]

    assert await names(where("address.city", "not_equals", "ZAGREB")) == ["Ana Kovač"]
    assert await names(where("name", "starts_with", "sim")) == ["Čedo Šimić"]
    assert await names(where("first_name", "contains", "CED")) == ["Čedo Šimić"]
    assert await names(where("last_sms_received_at", "never")) == ["Ana Kovač"]
    assert await names(where("last_sms_received_at", "not_within_last_days", 30)) == [
        "Ana Kovač"
    ]
    assert await names(where("order.sum", "greater_than", 100)) == ["Čedo Šimić"]
    everyone = parse_definition({"match": "and"})
    for sort in SegmentSort:
        for descending in (False, True):
            first = await segments.page(everyone, sort, descending, limit=1)
            rest = await segments.page(
                everyone, sort, descending, after=first[0].cursor, limit=5
            )
            assert len(first) + len(rest) == 2, (sort, descending)
