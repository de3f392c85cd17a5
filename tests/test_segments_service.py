"""Segment evaluation: each operator on each field type, NULLs, dates, grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, update
from test_segments_data import (
    add_address,
    add_consent,
    add_contact,
    add_message,
    add_note,
    add_order,
    segment_service,
    where,
)

from logsteer_tui.db.models import (
    Channel,
    ConsentAction,
    ConsentSource,
    Contact,
    Direction,
    MessageStatus,
)
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.segments import (
    Group,
    SegmentService,
    SegmentSort,
    parse_definition,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def segments(runtime: Runtime) -> SegmentService:
    return segment_service(runtime)


async def names(segments: SegmentService, definition: Group) -> list[str]:
    rows = await segments.page(definition, now=NOW)
    assert await segments.count(definition, now=NOW) == len(rows)
    return [row.full_name for row in rows]


async def test_text_operators_on_contact_column(
    runtime: Runtime, segments: SegmentService
) -> None:
    await add_contact(runtime, first_name="Čedomir", last_name="A", company="Đuro Đ")
    await add_contact(runtime, first_name="Ana", last_name="B", company="")
    await add_contact(runtime, first_name="Ivan", last_name="C", company="Kovač d.o.o.")
    cases: list[tuple[str, Any, list[str]]] = [
        ("equals", "đURO đ", ["Čedomir A"]),
        ("not_equals", "duro d", ["Ana B", "Ivan C"]),
        ("contains", "KOVAC", ["Ivan C"]),
        ("does_not_contain", "kovač", ["Čedomir A", "Ana B"]),
        ("starts_with", "ko", ["Ivan C"]),
        ("is_empty", None, ["Ana B"]),
        ("is_not_empty", None, ["Čedomir A", "Ivan C"]),
    ]
    for operator, value, expected in cases:
        found = await names(segments, where("company", operator, value))
        assert found == expected, operator


async def test_first_name_folds_diacritics(
    runtime: Runtime, segments: SegmentService
) -> None:
    await add_contact(runtime, first_name="Čedomir", last_name="A")
    await add_contact(runtime, first_name="Cedric", last_name="B")
    found = await names(segments, where("first_name", "starts_with", "čed"))
    assert found == ["Čedomir A", "Cedric B"]


async def test_email_and_phones_null_cases(
    runtime: Runtime, segments: SegmentService
) -> None:
    await add_contact(runtime, first_name="Ana", email="ana@example.com")
    await add_contact(runtime, first_name="Ivo", mobile_1="+385911111111")
    assert await names(segments, where("email", "is_empty")) == ["Ivo"]
    assert await names(segments, where("email", "does_not_contain", "ana")) == ["Ivo"]
    assert await names(segments, where("email", "not_equals", "x@example.com")) == [
        "Ana",
        "Ivo",
    ]
    assert await names(segments, where("mobile_1", "equals", "091 111 1111")) == ["Ivo"]
    assert await names(segments, where("mobile_1", "contains", "91 111")) == ["Ivo"]
    assert await names(segments, where("mobile_1", "starts_with", "091 1")) == ["Ivo"]
    assert await names(segments, where("mobile_1", "starts_with", "00385")) == ["Ivo"]
    assert await names(segments, where("mobile_1", "starts_with", "092")) == []
    assert await names(segments, where("mobile_1", "is_empty")) == ["Ana"]


async def test_name_field_uses_folded_sort_name(
    runtime: Runtime, segments: SegmentService
) -> None:
    await add_contact(runtime, first_name="Ana", last_name="Šimić")
    await add_contact(runtime, first_name="Šime", last_name="Horvat")
    assert await names(segments, where("name", "starts_with", "SIM")) == ["Ana Šimić"]
    assert await names(segments, where("name", "contains", "sime")) == ["Šime Horvat"]
    assert await names(segments, where("name", "equals", "horvat šime")) == [
        "Šime Horvat"
    ]


async def test_flags_choices_and_numbers(
    runtime: Runtime, segments: SegmentService
) -> None:
    first = await add_contact(runtime, first_name="Ana", do_not_send_sms=True)
    await add_contact(runtime, first_name="Ivo")
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.id == first).values(listmonk_subscriber_id=7)
        )
    assert await names(segments, where("do_not_send_sms", "equals", True)) == ["Ana"]
    assert await names(segments, where("do_not_send_sms", "equals", False)) == ["Ivo"]
    assert await names(segments, where("source", "equals", "manual")) == ["Ana", "Ivo"]
    assert await names(segments, where("source", "not_equals", "manual")) == []
    field = "listmonk_subscriber_id"
    assert await names(segments, where(field, "less_than", 8)) == ["Ana"]
    assert await names(segments, where(field, "greater_than", 7)) == []
    assert await names(segments, where(field, "between", [7, 7])) == ["Ana"]
    assert await names(segments, where(field, "not_equals", 7)) == ["Ivo"]
    assert await names(segments, where(field, "is_empty")) == ["Ivo"]
    assert await names(segments, where(field, "is_not_empty")) == ["Ana"]


async def test_city_is_not_includes_no_address(
    runtime: Runtime, segments: SegmentService
) -> None:
    zagreb = await add_contact(runtime, first_name="Zagreb")
    both = await add_contact(runtime, first_name="Both")
    split = await add_contact(runtime, first_name="Split")
    await add_contact(runtime, first_name="Nowhere")
    await add_address(runtime, zagreb, city="Zagreb", postal_code="10000")
    await add_address(runtime, both, city="Split", country="HR")
    await add_address(runtime, both, city="ZAGREB", country="HR")
    await add_address(runtime, split, city="Split", street="Obala 1", country="HR")
    assert await names(segments, where("address.city", "equals", "zagreb")) == [
        "Both",
        "Zagreb",
    ]
    assert await names(segments, where("address.city", "not_equals", "Zagreb")) == [
        "Nowhere",
        "Split",
    ]
    assert await names(segments, where("address.street", "contains", "obala")) == [
        "Split"
    ]
    assert await names(segments, where("address.country", "equals", "hr")) == [
        "Both",
        "Split",
    ]
    assert await names(segments, where("address.postal_code", "is_empty")) == [
        "Both",
        "Nowhere",
        "Split",
    ]
    assert await names(segments, where("address.postal_code", "starts_with", "10")) == [
        "Zagreb"
    ]


async def test_notes_text_and_date(runtime: Runtime, segments: SegmentService) -> None:
    old = await add_contact(runtime, first_name="Old")
    new = await add_contact(runtime, first_name="New")
    await add_contact(runtime, first_name="None")
    await add_note(runtime, old, "Wants the Čokolada catalogue", NOW - timedelta(400))
    await add_note(runtime, new, "Called back", NOW - timedelta(days=2))
    assert await names(segments, where("note.text", "contains", "cokolada")) == ["Old"]
    assert await names(segments, where("note.text", "does_not_contain", "called")) == [
        "None",
        "Old",
    ]
    field = "note.created_at"
    assert await names(segments, where(field, "within_last_days", 7)) == ["New"]
    assert await names(segments, where(field, "more_than_days_ago", 30)) == ["Old"]
    assert await names(segments, where(field, "not_within_last_days", 30)) == [
        "None",
        "Old",
    ]
    assert await names(segments, where(field, "never")) == ["None"]
    assert await names(segments, where(field, "is_not_empty")) == ["New", "Old"]


async def test_order_fields_and_aggregates(
    runtime: Runtime, segments: SegmentService
) -> None:
    big = await add_contact(runtime, first_name="Big")
    small = await add_contact(runtime, first_name="Small")
    await add_contact(runtime, first_name="None")
    await add_order(runtime, big, 15_000, NOW - timedelta(days=3), status="Paid")
    await add_order(runtime, big, 2_000, NOW - timedelta(days=90), currency="USD")
    await add_order(runtime, small, 999, NOW - timedelta(days=40), status="new")
    assert await names(segments, where("order.total", "greater_than", 100)) == ["Big"]
    assert await names(segments, where("order.total", "less_than", 10)) == ["Small"]
    assert await names(segments, where("order.total", "between", [9.99, 20])) == [
        "Big",
        "Small",
    ]
    assert await names(segments, where("order.status", "equals", "paid")) == ["Big"]
    assert await names(segments, where("order.status", "not_equals", "paid")) == [
        "None",
        "Small",
    ]
    assert await names(segments, where("order.currency", "equals", "usd")) == ["Big"]
    assert await names(segments, where("order.date", "within_last_days", 30)) == ["Big"]
    assert await names(segments, where("order.date", "never")) == ["None"]
    assert await names(segments, where("order.count", "equals", 0)) == ["None"]
    assert await names(segments, where("order.count", "greater_than", 1)) == ["Big"]
    # Big's 150 EUR and 20 USD are summed apart, never as 170.
    assert await names(segments, where("order.sum", "equals", 170)) == []
    assert await names(segments, where("order.sum", "equals", 150)) == ["Big"]
    assert await names(segments, where("order.sum", "equals", 20)) == ["Big"]
    assert await names(segments, where("order.sum", "less_than", 10)) == [
        "None",
        "Small",
    ]


async def test_never_received_includes_no_messages(
    runtime: Runtime, segments: SegmentService
) -> None:
    replied = await add_contact(runtime, first_name="Replied")
    sent = await add_contact(runtime, first_name="Sent")
    await add_contact(runtime, first_name="Silent")
    await add_message(runtime, replied, Direction.IN, NOW - timedelta(days=40), "Da")
    await add_message(runtime, sent, Direction.OUT, NOW - timedelta(days=1), "Akcija")
    field = "last_sms_received_at"
    assert await names(segments, where(field, "never")) == ["Sent", "Silent"]
    assert await names(segments, where(field, "not_within_last_days", 30)) == [
        "Replied",
        "Sent",
        "Silent",
    ]
    assert await names(segments, where(field, "more_than_days_ago", 30)) == ["Replied"]
    assert await names(segments, where(field, "within_last_days", 30)) == []
    assert await names(segments, where("last_sms_sent_at", "today")) == []
    assert await names(segments, where("last_sms_sent_body", "contains", "AKC")) == [
        "Sent"
    ]
    assert await names(
        segments, where("last_sms_received_body", "does_not_contain", "da")
    ) == ["Sent", "Silent"]
    assert await names(segments, where("last_email_sent_at", "never")) == [
        "Replied",
        "Sent",
        "Silent",
    ]


async def test_message_counts_by_kind(
    runtime: Runtime, segments: SegmentService
) -> None:
    busy = await add_contact(runtime, first_name="Busy")
    await add_contact(runtime, first_name="Quiet")
    at = NOW - timedelta(days=1)
    await add_message(runtime, busy, Direction.OUT, at, "a")
    await add_message(runtime, busy, Direction.OUT, at, "b", status=MessageStatus.ERROR)
    await add_message(runtime, busy, Direction.IN, at, "c")
    await add_message(runtime, busy, Direction.OUT, at, "d", channel=Channel.EMAIL)
    cases = [
        ("messages.count", 4),
        ("messages.count.channel.sms", 3),
        ("messages.count.channel.email", 1),
        ("messages.count.direction.out", 3),
        ("messages.count.status.error", 1),
        ("messages.count.type.promotional", 0),
    ]
    for field, count in cases:
        found = await names(segments, where(field, "equals", count))
        assert found == (["Busy", "Quiet"] if count == 0 else ["Busy"]), field
    assert await names(segments, where("messages.count", "equals", 0)) == ["Quiet"]


async def test_consent_changes(runtime: Runtime, segments: SegmentService) -> None:
    stopped = await add_contact(runtime, first_name="Stopped")
    await add_contact(runtime, first_name="Never")
    await add_consent(runtime, stopped, ConsentAction.OPT_OUT, NOW - timedelta(days=2))
    field = "consent.sms_opt_out_at"
    assert await names(segments, where(field, "within_last_days", 7)) == ["Stopped"]
    assert await names(segments, where(field, "never")) == ["Never"]
    assert await names(segments, where("consent.sms_opt_in_at", "never")) == [
        "Never",
        "Stopped",
    ]
    assert await names(
        segments, where("consent.source", "equals", ConsentSource.SMS_REPLY.value)
    ) == ["Stopped"]
    assert await names(
        segments, where("consent.source", "not_equals", "sms_reply")
    ) == ["Never"]


async def test_relative_dates_around_midnight(
    runtime: Runtime, segments: SegmentService
) -> None:
    # 23:30 UTC on 10 March is 00:30 on 11 March in Zagreb (UTC+1).
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    after_midnight = await add_contact(runtime, first_name="After")
    before_midnight = await add_contact(runtime, first_name="Before")
    await add_message(
        runtime, after_midnight, Direction.IN, datetime(2026, 3, 10, 23, 10, tzinfo=UTC)
    )
    await add_message(
        runtime,
        before_midnight,
        Direction.IN,
        datetime(2026, 3, 10, 22, 50, tzinfo=UTC),
    )
    field = "last_sms_received_at"

    async def found(operator: str, value: Any = None) -> list[str]:
        rows = await segments.page(where(field, operator, value), now=now)
        return [row.full_name for row in rows]

    assert await found("today") == ["After"]
    assert await found("within_last_days", 0) == ["After"]
    assert await found("within_last_days", 1) == ["After", "Before"]
    assert await found("more_than_days_ago", 0) == ["Before"]
    assert await found("equals", "2026-03-10") == ["Before"]
    assert await found("equals", "2026-03-11") == ["After"]
    assert await found("before", "2026-03-11") == ["Before"]
    assert await found("after", "2026-03-10") == ["After"]
    assert await found("between", ["2026-03-10", "2026-03-11"]) == ["After", "Before"]


async def test_and_or_nesting(runtime: Runtime, segments: SegmentService) -> None:
    ana = await add_contact(runtime, first_name="Ana", do_not_send_sms=True)
    await add_contact(runtime, first_name="Ivo")
    marko = await add_contact(runtime, first_name="Marko")
    await add_address(runtime, ana, city="Zagreb")
    await add_address(runtime, marko, city="Split")
    definition = parse_definition(
        {
            "match": "and",
            "conditions": [
                {"field": "address.city", "operator": "is_not_empty"},
                {
                    "match": "or",
                    "conditions": [
                        {
                            "field": "do_not_send_sms",
                            "operator": "equals",
                            "value": True,
                        },
                        {"field": "first_name", "operator": "equals", "value": "ivo"},
                    ],
                },
            ],
        }
    )
    assert await names(segments, definition) == ["Ana"]
    either = parse_definition({**definition.to_json(), "match": "or"})
    assert await names(segments, either) == ["Ana", "Ivo", "Marko"]
    assert await names(segments, parse_definition({"match": "or"})) == [
        "Ana",
        "Ivo",
        "Marko",
    ]


async def test_sql_injection_value_is_bound(
    runtime: Runtime, segments: SegmentService
) -> None:
    await add_contact(runtime, first_name="Ana")
    attack = "x'; DROP TABLE contact; --"
    definition = where("first_name", "contains", attack)
    compiled = str(segments.page_query(definition, now=NOW).compile())
    assert "DROP TABLE" not in compiled
    assert await names(segments, definition) == []
    assert await names(segments, where("first_name", "does_not_contain", attack)) == [
        "Ana"
    ]
    async with runtime.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "contact" in tables


async def test_like_wildcards_match_literally(
    runtime: Runtime, segments: SegmentService
) -> None:
    await add_contact(runtime, first_name="100%")
    await add_contact(runtime, first_name="1000")
    assert await names(segments, where("first_name", "contains", "0%")) == ["100%"]
    assert await names(segments, where("first_name", "starts_with", "10_")) == []


async def test_keyset_pages_every_sort(
    runtime: Runtime, segments: SegmentService
) -> None:
    for index in range(7):
        contact_id = await add_contact(
            runtime,
            first_name=f"P{index % 3}",
            email=f"p{index}@example.com" if index % 2 else None,
            do_not_send_sms=index % 3 == 0,
        )
        if index % 2 == 0:
            at = NOW - timedelta(days=index % 3)
            await add_message(runtime, contact_id, Direction.IN, at, f"m{index % 2}")
    everyone = parse_definition({"match": "and"})
    for sort in SegmentSort:
        for descending in (False, True):
            seen: list[int] = []
            cursor = None
            for _ in range(10):
                rows = await segments.page(
                    everyone, sort, descending, after=cursor, limit=3, now=NOW
                )
                if not rows:
                    break
                seen.extend(row.id for row in rows)
                cursor = rows[-1].cursor
            assert sorted(seen) == list(range(1, 8)), (sort, descending)
            assert len(seen) == 7, (sort, descending)


async def test_today_follows_configured_zone(runtime: Runtime) -> None:
    # 11:30 UTC on 10 March is 00:30 on 11 March in Auckland (UTC+13).
    auckland = SegmentService(runtime.sessions, ZoneInfo("Pacific/Auckland"), "HR")
    now = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
    early = await add_contact(runtime, first_name="Early")
    late = await add_contact(runtime, first_name="Late")
    await add_message(
        runtime, early, Direction.IN, datetime(2026, 3, 10, 10, 50, tzinfo=UTC)
    )
    await add_message(
        runtime, late, Direction.IN, datetime(2026, 3, 10, 11, 10, tzinfo=UTC)
    )
    rows = await auckland.page(where("last_sms_received_at", "today"), now=now)
    assert [row.full_name for row in rows] == ["Late"]
    rows = await auckland.page(
        where("last_sms_received_at", "equals", "2026-03-10"), now=now
    )
    assert [row.full_name for row in rows] == ["Early"]


async def test_reused_statement_follows_the_date(
    runtime: Runtime, segments: SegmentService
) -> None:
    contact_id = await add_contact(runtime, first_name="Ana")
    await add_message(runtime, contact_id, Direction.IN, NOW - timedelta(hours=1))
    today = where("last_sms_received_at", "today")
    assert await names(segments, today) == ["Ana"]
    tomorrow = NOW + timedelta(days=1)
    assert await segments.page(today, now=tomorrow) == []
    assert await segments.count(today, now=tomorrow) == 0
    await add_contact(runtime, first_name="Ivo")
    await add_message(runtime, 2, Direction.IN, NOW - timedelta(hours=2))
    assert await names(segments, today) == ["Ana", "Ivo"]
