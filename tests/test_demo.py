"""Demo data on real SQLite files and PostgreSQL: every table filled, consistent."""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import func, select

# The bench folder is no installed package, so it is imported from the checkout.
sys.path.insert(0, str(Path(__file__).parents[1]))
from bench.generate import insert_rows_with_driver
from logsteer_tui.db.engine import create_engine, session_factory
from logsteer_tui.db.migrate import upgrade
from logsteer_tui.db.models import (
    Address,
    Channel,
    ConsentEvent,
    ConsentSource,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
    MessageType,
    Note,
    Order,
)
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.contacts import derived_columns
from logsteer_tui.services.demo import (
    DemoGenerator,
    allocate_message_counts,
    ensure_demo_data,
    generate_demo_data,
    insert_rows,
    write_demo_rows,
)
from logsteer_tui.services.importer import import_contacts
from logsteer_tui.services.messages import SENT_STATUSES

FIXED_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def all_rows(runtime: Runtime, model: type) -> list:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(model)))


async def test_demo_fills_every_table(runtime: Runtime) -> None:
    summary = await generate_demo_data(runtime)
    assert summary.contacts == 200
    async with runtime.sessions() as session:
        for model, expected in (
            (Contact, summary.contacts),
            (Address, summary.addresses),
            (Note, summary.notes),
            (Order, summary.orders),
            (Message, summary.messages),
            (MessageStatusEvent, summary.status_events),
            (ConsentEvent, summary.consent_events),
        ):
            count = await session.scalar(select(func.count()).select_from(model))
            assert count == expected, model.__name__
            assert count > 0, model.__name__


async def test_demo_has_every_status_type_and_direction(runtime: Runtime) -> None:
    await generate_demo_data(runtime)
    messages = await all_rows(runtime, Message)
    statuses = {message.status for message in messages}
    expected = set(MessageStatus) - {MessageStatus.SENDING}
    assert statuses == expected
    assert {message.type for message in messages} == {*MessageType, None}
    assert {(m.channel, m.direction) for m in messages} == {
        (channel, direction) for channel in Channel for direction in Direction
    }
    for message in messages:
        if message.direction is Direction.IN:
            assert message.status is MessageStatus.RECEIVED
            assert message.type is None
        else:
            assert message.type is not None
        if message.status in {MessageStatus.ERROR, MessageStatus.PENDING}:
            assert message.sent_at is None
        elif message.direction is Direction.OUT:
            assert message.sent_at is not None


async def test_demo_leaves_no_sms_pending(runtime: Runtime) -> None:
    # The start-up sweep of every later command marks a pending SMS older than a
    # few minutes as an interrupted send, so demo data must not contain one.
    await generate_demo_data(runtime)
    messages = await all_rows(runtime, Message)
    pending = [m for m in messages if m.status is MessageStatus.PENDING]
    assert pending
    assert {message.channel for message in pending} == {Channel.EMAIL}
    assert await runtime.sms.recover_interrupted() == 0


def counted_at(message: Message) -> datetime:
    """The time a message counts at in the contact's last-message columns."""
    return message.sent_at or message.created_at


def newest(messages: list[Message]) -> tuple[datetime | None, str | None]:
    """The time and body of the newest message, or (None, None)."""
    if not messages:
        return None, None
    message = max(messages, key=counted_at)
    return counted_at(message), message.body


async def test_demo_last_columns_match_messages(runtime: Runtime) -> None:
    await generate_demo_data(runtime)
    by_contact: dict[int, list[Message]] = defaultdict(list)
    for message in await all_rows(runtime, Message):
        assert message.contact_id is not None
        by_contact[message.contact_id].append(message)
    checked = 0
    for contact in await all_rows(runtime, Contact):
        messages = by_contact[contact.id]
        sms = [m for m in messages if m.channel is Channel.SMS]
        emails = [m for m in messages if m.channel is Channel.EMAIL]
        received = [m for m in sms if m.direction is Direction.IN]
        sent_sms = [m for m in sms if m.status in SENT_STATUSES]
        sent_email = [m for m in emails if m.status in SENT_STATUSES]

        assert contact.last_message_at == newest(messages)[0]
        assert contact.last_email_sent_at == newest(sent_email)[0]
        received_at, received_body = newest(received)
        assert contact.last_sms_received_at == received_at
        assert contact.last_sms_received_body == received_body
        sent_at, sent_body = newest(sent_sms)
        assert contact.last_sms_sent_at == sent_at
        assert contact.last_sms_sent_body == sent_body
        checked += bool(messages)
    assert checked > 150


async def test_demo_contacts_are_valid(runtime: Runtime) -> None:
    await generate_demo_data(runtime)
    contacts = await all_rows(runtime, Contact)
    emails = [contact.email for contact in contacts if contact.email]
    mobiles = [contact.mobile_1 for contact in contacts if contact.mobile_1]
    assert len(set(emails)) == len(emails)
    assert len(set(mobiles)) == len(mobiles)
    assert any(mobile.startswith("+386") for mobile in mobiles)
    assert any(
        any(letter in contact.last_name for letter in "čćđšž") for contact in contacts
    )
    for contact in contacts:
        assert contact.email is None or contact.email == contact.email.lower()
        for number in (contact.mobile_1, contact.phone_1, contact.mobile_2):
            if number is not None:
                assert phonenumbers.is_valid_number(phonenumbers.parse(number))
        values = {
            name: getattr(contact, name)
            for name in ("first_name", "last_name", "email", "company")
        }
        for name in ("mobile_1", "phone_1", "mobile_2", "phone_2"):
            values[name] = getattr(contact, name)
        assert derived_columns(values) == {
            "sort_name": contact.sort_name,
            "search_text": contact.search_text,
        }


async def test_demo_flags_have_consent_events(runtime: Runtime) -> None:
    await generate_demo_data(runtime)
    events = await all_rows(runtime, ConsentEvent)
    messages = {message.id: message for message in await all_rows(runtime, Message)}
    opted_out = {(event.contact_id, event.channel.value) for event in events}
    for contact in await all_rows(runtime, Contact):
        assert contact.do_not_send_sms == ((contact.id, "sms") in opted_out)
        assert contact.do_not_send_email == ((contact.id, "email") in opted_out)
    replies = [event for event in events if event.source is ConsentSource.SMS_REPLY]
    assert replies
    for event in replies:
        assert event.message_id is not None
        assert messages[event.message_id].body.strip().upper() == "STOP"


async def test_demo_history_ends_at_message_status(runtime: Runtime) -> None:
    await generate_demo_data(runtime)
    history: dict[int, list[MessageStatusEvent]] = defaultdict(list)
    for event in await all_rows(runtime, MessageStatusEvent):
        history[event.message_id].append(event)
    for message in await all_rows(runtime, Message):
        events = sorted(history[message.id], key=lambda event: event.created_at)
        assert events[-1].status is message.status


async def test_ensure_demo_data_fills_once(runtime: Runtime) -> None:
    assert await ensure_demo_data(runtime) is True
    assert await ensure_demo_data(runtime) is False
    assert await runtime.contacts.count() == 200


async def test_appended_demo_keeps_emails_unique(runtime: Runtime) -> None:
    await generate_demo_data(runtime, contacts=50)
    await generate_demo_data(runtime, contacts=50)
    contacts = await all_rows(runtime, Contact)
    emails = [contact.email for contact in contacts if contact.email]
    assert len(contacts) == 100
    assert len(set(emails)) == len(emails)
    created = await runtime.contacts.create({"first_name": "Ana"})
    assert created.id == 101


def test_same_seed_gives_same_drafts() -> None:
    first = DemoGenerator(random.Random(7), FIXED_NOW)
    second = DemoGenerator(random.Random(7), FIXED_NOW)
    for count in (0, 3, 10):
        assert first.contact(count) == second.contact(count)


def test_message_counts_add_up() -> None:
    counts = allocate_message_counts(random.Random(1), 1000, 10_000)
    assert sum(counts) == 10_000
    assert len(counts) == 1000
    assert 0 in counts


async def build(path: Path, write_rows: object) -> None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        await upgrade(engine)
        rng = random.Random(3)
        generator = DemoGenerator(rng, FIXED_NOW)
        counts = allocate_message_counts(rng, 60, 400)
        await write_demo_rows(
            session_factory(engine),
            generator,
            counts,
            batch_contacts=25,
            write_rows=write_rows,  # type: ignore[arg-type]
        )
    finally:
        await engine.dispose()


async def test_bench_writer_matches_core_insert(tmp_path: Path) -> None:
    await build(tmp_path / "core.sqlite", insert_rows)
    await build(tmp_path / "driver.sqlite", insert_rows_with_driver)
    models = (Contact, Address, Note, Order, Message, MessageStatusEvent, ConsentEvent)
    rows: dict[str, dict[str, list[tuple[object, ...]]]] = {}
    for name in ("core", "driver"):
        engine = create_engine(f"sqlite:///{tmp_path / name}.sqlite")
        rows[name] = {}
        async with engine.connect() as connection:
            for model in models:
                table = model.__table__
                result = await connection.execute(select(table).order_by(table.c.id))
                rows[name][model.__name__] = [tuple(row) for row in result]
        await engine.dispose()
    for model in models:
        assert rows["core"][model.__name__], model.__name__
        assert rows["driver"][model.__name__] == rows["core"][model.__name__]


@pytest.mark.postgres
async def test_postgres_ids_continue_after_demo(
    pg_runtime: Runtime, tmp_path: Path
) -> None:
    summary = await generate_demo_data(pg_runtime, contacts=30)
    contact = await pg_runtime.contacts.create({"first_name": "Ana"})
    assert contact.id == summary.contacts + 1
    async with pg_runtime.sessions() as session, session.begin():
        message = Message(
            contact_id=contact.id,
            channel=Channel.SMS,
            direction=Direction.IN,
            status=MessageStatus.RECEIVED,
            body="Hvala",
        )
        session.add(message)
    assert message.id == summary.messages + 1
    source = tmp_path / "contacts.csv"
    source.write_text("first name;email\nIvo;ivo@example.com\n", encoding="utf-8")
    result = await import_contacts(pg_runtime.sessions, source, "HR")
    assert result.created == 1
    assert await pg_runtime.contacts.count() == summary.contacts + 2
