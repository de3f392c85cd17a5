"""Incoming SMS: contact matching, opt-out and opt-in replies, and review."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from itertools import count

import pytest
from sqlalchemy import select

from logsteer_tui.db.models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    ContactSource,
    Message,
)
from logsteer_tui.errors import NotFoundError
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.events import Event, MessageStored, SmsReceived
from logsteer_tui.services.inbound import StoredSms
from logsteer_tui.services.webhooks import IncomingSms

_sids = count(1)


@pytest.fixture
async def inbound(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with its inbound writer running, and no HTTP listener."""
    await runtime.inbound.start()
    yield runtime
    await runtime.inbound.stop()


async def receive(runtime: Runtime, sender: str, body: str = "Hello") -> StoredSms:
    sms = IncomingSms(
        provider="twilio",
        provider_message_id=f"SM{next(_sids):04d}",
        sender=sender,
        recipient="+385910009999",
        body=body,
    )
    return await runtime.inbound.receive(sms)


async def contact(runtime: Runtime, contact_id: int | None) -> Contact:
    assert contact_id is not None
    async with runtime.sessions() as session:
        stored = await session.get(Contact, contact_id)
    assert stored is not None
    return stored


async def consent_events(runtime: Runtime) -> list[ConsentEvent]:
    async with runtime.sessions() as session:
        query = select(ConsentEvent).order_by(ConsentEvent.id)
        return list((await session.scalars(query)).all())


async def test_national_number_matches_e164(inbound: Runtime) -> None:
    ana = await inbound.contacts.create(
        {"first_name": "Ana", "mobile_1": "091 000 0001"}
    )
    stored = await receive(inbound, "+385910000001", "Thanks!")
    assert stored.contact_id == ana.id
    assert stored.contact_created is False
    linked = await contact(inbound, ana.id)
    assert linked.last_sms_received_body == "Thanks!"
    assert linked.last_sms_received_at is not None


async def test_other_country_never_matches(inbound: Runtime) -> None:
    ana = await inbound.contacts.create({"mobile_1": "091 000 0001"})
    for sender in ("+386910000001", "+386 41 000 001"):
        stored = await receive(inbound, sender)
        assert stored.message_id is not None, sender
        assert stored.contact_id != ana.id, sender
    assert (await contact(inbound, ana.id)).last_sms_received_at is None


async def test_unknown_sender_creates_contact(inbound: Runtime) -> None:
    stored = await receive(inbound, "0910000007")
    created = await contact(inbound, stored.contact_id)
    assert stored.contact_created is True
    assert created.mobile_1 == "+385910000007"
    assert created.source is ContactSource.INBOUND_SMS
    assert created.do_not_send_sms is False
    assert "0910000007" in created.search_text
    assert created.last_sms_received_body == "Hello"


async def test_invalid_sender_stored_unlinked(inbound: Runtime) -> None:
    stored = await receive(inbound, "InfoSMS")
    assert stored.message_id is not None
    assert stored.contact_id is None
    assert await inbound.contacts.count() == 0


async def test_several_matches_need_review(inbound: Runtime) -> None:
    first = await inbound.contacts.create(
        {"first_name": "Ana", "mobile_1": "+385910000003"}
    )
    second = await inbound.contacts.create(
        {"first_name": "Ivo", "mobile_1": "0910000003"}
    )
    stored = await receive(inbound, "+385910000003", "STOP")
    assert stored.contact_id is None
    assert stored.needs_review is True
    assert stored.consent_change is None
    [item] = await inbound.inbound.list_needs_review()
    assert item.message_id == stored.message_id
    assert {candidate.id for candidate in item.candidates} == {first.id, second.id}
    assert await inbound.inbound.count_needs_review() == 1
    assert (await contact(inbound, first.id)).do_not_send_sms is False


async def test_review_links_and_opts_out(inbound: Runtime) -> None:
    first = await inbound.contacts.create(
        {"first_name": "Ana", "mobile_1": "+385910000004"}
    )
    await inbound.contacts.create({"first_name": "Ivo", "mobile_1": "+385910000004"})
    stored = await receive(inbound, "+385910000004", "Stop.")
    assert stored.message_id is not None
    events: list[Event] = []
    inbound.hub.subscribe(events.append)
    resolved = await inbound.inbound.resolve_review(stored.message_id, first.id)
    assert resolved.consent_change is ConsentAction.OPT_OUT
    picked = await contact(inbound, first.id)
    assert picked.do_not_send_sms is True
    assert picked.last_sms_received_body == "Stop."
    assert await inbound.inbound.list_needs_review() == []
    async with inbound.sessions() as session:
        message = await session.get(Message, stored.message_id)
    assert message is not None
    assert message.contact_id == first.id
    assert message.needs_review is False
    [event] = await consent_events(inbound)
    assert event.message_id == stored.message_id
    assert any(isinstance(item, MessageStored) for item in events)
    with pytest.raises(NotFoundError):
        await inbound.inbound.resolve_review(stored.message_id, first.id)


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", "  Stop  ", "STOP.", "stop .", "\tUnsubscribe\n", "optout", "End"],
)
async def test_opt_out_keyword_variants(inbound: Runtime, body: str) -> None:
    ana = await inbound.contacts.create({"mobile_1": "+385910000005"})
    stored = await receive(inbound, "+385910000005", body)
    assert stored.consent_change is ConsentAction.OPT_OUT
    opted_out = await contact(inbound, ana.id)
    assert opted_out.do_not_send_sms is True
    [event] = await consent_events(inbound)
    assert event.action is ConsentAction.OPT_OUT
    assert event.source is ConsentSource.SMS_REPLY
    assert event.message_id == stored.message_id
    async with inbound.sessions() as session:
        message = await session.get(Message, stored.message_id)
    assert message is not None
    assert message.body == body


@pytest.mark.parametrize(
    "body", ["Please don't stop the deliveries", "STOP it", "stop!", "STOP..", ""]
)
async def test_other_text_not_opt_out(inbound: Runtime, body: str) -> None:
    ana = await inbound.contacts.create({"mobile_1": "+385910000006"})
    stored = await receive(inbound, "+385910000006", body)
    assert stored.consent_change is None
    assert (await contact(inbound, ana.id)).do_not_send_sms is False
    assert await consent_events(inbound) == []


async def test_stop_from_unknown_sets_flag(inbound: Runtime) -> None:
    stored = await receive(inbound, "+385910000008", "STOP")
    created = await contact(inbound, stored.contact_id)
    assert created.do_not_send_sms is True
    assert stored.consent_change is ConsentAction.OPT_OUT
    [event] = await consent_events(inbound)
    assert event.contact_id == created.id


@pytest.mark.parametrize("body", ["START", "unstop", "Yes."])
async def test_opt_in_keywords_clear_flag(inbound: Runtime, body: str) -> None:
    ana = await inbound.contacts.create(
        {"mobile_1": "+385910000009", "do_not_send_sms": True}
    )
    stored = await receive(inbound, "+385910000009", body)
    assert stored.consent_change is ConsentAction.OPT_IN
    assert (await contact(inbound, ana.id)).do_not_send_sms is False
    events = await consent_events(inbound)
    assert [event.action for event in events][-1] is ConsentAction.OPT_IN


async def test_repeated_stop_one_event(inbound: Runtime) -> None:
    await inbound.contacts.create({"mobile_1": "+385910000010"})
    await receive(inbound, "+385910000010", "STOP")
    second = await receive(inbound, "+385910000010", "STOP")
    assert second.consent_change is None
    assert len(await consent_events(inbound)) == 1


async def test_events_published_after_commit(inbound: Runtime) -> None:
    seen: list[tuple[Event, int]] = []

    def check(event: Event) -> None:
        # A second connection reads only committed rows.
        with sqlite3.connect(inbound.paths.database_file) as connection:
            rows = connection.execute("SELECT count(*) FROM message").fetchone()[0]
        seen.append((event, rows))

    inbound.hub.subscribe(check)
    ana = await inbound.contacts.create(
        {"first_name": "Ana", "mobile_1": "+385910000011"}
    )
    seen.clear()
    stored = await receive(inbound, "+385910000011", "Hi there")
    kinds = [type(event).__name__ for event, _ in seen]
    assert kinds == ["MessageStored", "SmsReceived", "ContactChanged"]
    assert [rows for _, rows in seen] == [1, 1, 1]
    received = seen[1][0]
    assert isinstance(received, SmsReceived)
    assert received.contact_name == "Ana"
    assert received.contact_id == ana.id
    assert received.message_id == stored.message_id


async def test_replies_in_one_batch_ordered(inbound: Runtime) -> None:
    ana = await inbound.contacts.create({"mobile_1": "+385910000012"})
    first, second, third = await asyncio.gather(
        receive(inbound, "+385910000012", "STOP"),
        receive(inbound, "+385910000012", "START"),
        receive(inbound, "+385910000012", "STOP"),
    )
    assert first.consent_change is ConsentAction.OPT_OUT
    assert second.consent_change is ConsentAction.OPT_IN
    assert third.consent_change is ConsentAction.OPT_OUT
    assert (await contact(inbound, ana.id)).do_not_send_sms is True
    actions = [event.action for event in await consent_events(inbound)]
    assert actions == ["opt_out", "opt_in", "opt_out"]


async def test_new_sender_twice_one_contact(inbound: Runtime) -> None:
    first, second = await asyncio.gather(
        receive(inbound, "+385910000013", "Hi"),
        receive(inbound, "+385910000013", "Are you there?"),
    )
    assert first.contact_id == second.contact_id
    assert await inbound.contacts.count() == 1
    latest = await contact(inbound, first.contact_id)
    assert latest.last_sms_received_body == "Are you there?"
