"""Money conditions on orders by currency: sums never add two currencies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from test_segments_data import add_contact, add_order, segment_service

from logsteer_tui.runtime import Runtime
from logsteer_tui.services.segments import (
    SegmentDefinitionError,
    describe_condition,
    parse_condition,
    parse_definition,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

# (field, operator, value, currency, the first names that match)
CASES: list[tuple[str, str, Any, str | None, list[str]]] = [
    ("order.sum", "greater_than", 1000, "EUR", ["Ana"]),
    ("order.sum", "greater_than", 1000, "usd", ["Marko"]),
    ("order.sum", "greater_than", 1000, None, ["Ana", "Marko"]),
    ("order.sum", "less_than", 1000, "EUR", ["Ivo", "Marko", "Nobody"]),
    ("order.sum", "less_than", 1000, None, ["Ivo", "Nobody"]),
    ("order.sum", "equals", 0, None, ["Nobody"]),
    ("order.sum", "equals", 0, "EUR", ["Marko", "Nobody"]),
    ("order.sum", "between", [800, 900], None, ["Ivo"]),
    ("order.sum", "not_equals", 1200, None, ["Ivo", "Marko", "Nobody"]),
    ("order.total", "greater_than", 850, "EUR", []),
    ("order.total", "greater_than", 850, "USD", ["Ivo", "Marko"]),
    ("order.total", "greater_than", 850, None, ["Ivo", "Marko"]),
    ("order.total", "not_equals", 800, "EUR", ["Ana", "Marko", "Nobody"]),
]


async def add_buyers(runtime: Runtime) -> None:
    ana = await add_contact(runtime, first_name="Ana")
    await add_order(runtime, ana, 50_000, NOW)
    await add_order(runtime, ana, 70_000, NOW)
    ivo = await add_contact(runtime, first_name="Ivo")
    await add_order(runtime, ivo, 80_000, NOW)
    await add_order(runtime, ivo, 90_000, NOW, currency="USD")
    marko = await add_contact(runtime, first_name="Marko")
    await add_order(runtime, marko, 150_000, NOW, currency="USD")
    await add_contact(runtime, first_name="Nobody")


def condition(field: str, operator: str, value: Any, currency: str | None) -> Any:
    data: dict[str, Any] = {"field": field, "operator": operator, "value": value}
    if currency is not None:
        data["currency"] = currency
    return data


async def check_cases(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    await add_buyers(runtime)
    for field, operator, value, currency, expected in CASES:
        definition = parse_definition(
            {
                "match": "and",
                "conditions": [condition(field, operator, value, currency)],
            }
        )
        rows = await segments.page(definition, now=NOW)
        found = sorted(row.first_name for row in rows)
        case = (field, operator, value, currency)
        assert found == expected, case
        assert await segments.count(definition, NOW) == len(expected), case


async def test_currency_sums_on_sqlite(runtime: Runtime) -> None:
    await check_cases(runtime)


@pytest.mark.postgres
async def test_currency_sums_on_postgres(pg_runtime: Runtime) -> None:
    await check_cases(pg_runtime)


def test_currency_parsed_upper_case() -> None:
    parsed = parse_condition(condition("order.sum", "greater_than", 1000, " eur "))
    assert parsed.currency == "EUR"
    assert parsed.to_json() == {
        "field": "order.sum",
        "operator": "greater_than",
        "value": 1000,
        "currency": "EUR",
    }


def test_missing_currency_left_out() -> None:
    parsed = parse_condition(condition("order.sum", "greater_than", 1000, None))
    assert parsed.currency is None
    assert "currency" not in parsed.to_json()
    with_null = {**parsed.to_json(), "currency": None}
    assert parse_condition(with_null).currency is None


@pytest.mark.parametrize("code", ["EURO", "€", "E1R", "", 978, ["EUR"]])
def test_invalid_currency_named(code: object) -> None:
    data = {"match": "and", "conditions": [condition("order.sum", "equals", 1, "EUR")]}
    data["conditions"][0]["currency"] = code
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition(data)
    assert caught.value.field == "conditions[0].currency"
    assert repr(code) in caught.value.message
    assert "ISO 4217" in caught.value.message


def test_currency_on_other_field_rejected() -> None:
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_condition(condition("order.count", "greater_than", 1, "EUR"))
    assert caught.value.field == "condition.currency"
    assert "order.count takes no currency" in caught.value.message
    assert "order.sum" in caught.value.message


def test_currency_described() -> None:
    with_code = parse_condition(condition("order.sum", "greater_than", 1000, "EUR"))
    assert describe_condition(with_code) == "Sum of order totals greater than 1000 EUR"
    any_one = parse_condition(condition("order.sum", "greater_than", 1000, None))
    assert describe_condition(any_one) == (
        "Sum of order totals in any one currency greater than 1000"
    )
    total = parse_condition(condition("order.total", "between", [1, 2], "USD"))
    assert describe_condition(total) == "Order total between 1 and 2 USD"
