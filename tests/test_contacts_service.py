from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from logsteer_tui.db.models import ConsentEvent, Contact
from logsteer_tui.errors import NotFoundError
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.contacts import ContactValidationError, PageCursor, SortKey


async def test_create_normalises_fields(runtime: Runtime) -> None:
    contact = await runtime.contacts.create(
        {
            "first_name": " Ana ",
            "last_name": "Horvat",
            "email": "Ana@Example.com",
            "mobile_1": "091 000 0001",
        }
    )
    assert contact.first_name == "Ana"
    assert contact.email == "ana@example.com"
    assert contact.mobile_1 == "+385910000001"
    assert contact.created_at.tzinfo is UTC


async def test_invalid_fields_all_reported_nothing_saved(runtime: Runtime) -> None:
    with pytest.raises(ContactValidationError) as caught:
        await runtime.contacts.create({"email": "nope", "mobile_1": "12"})
    assert {error.field for error in caught.value.errors} == {"email", "mobile_1"}
    assert await runtime.contacts.count() == 0


async def test_update_flag_records_consent(runtime: Runtime) -> None:
    contact = await runtime.contacts.create({"first_name": "Ivo"})
    await runtime.contacts.update(contact.id, {"do_not_send_sms": "true"})
    async with runtime.sessions() as session:
        events = (await session.scalars(select(ConsentEvent))).all()
        stored = await session.get(Contact, contact.id)
    assert stored is not None
    assert stored.do_not_send_sms is True
    assert [(event.channel, event.action) for event in events] == [("sms", "opt_out")]


async def test_search_folds_diacritics(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Čedo", "last_name": "Šimić"})
    await runtime.contacts.create({"first_name": "Ana", "last_name": "Kovač"})
    rows = await runtime.contacts.page(search="simic")
    assert [row.last_name for row in rows] == ["Šimić"]
    rows = await runtime.contacts.page(search="ČEDO")
    assert [row.first_name for row in rows] == ["Čedo"]


async def test_search_by_national_phone(runtime: Runtime) -> None:
    await runtime.contacts.create({"first_name": "Ana", "mobile_1": "+385910000001"})
    assert len(await runtime.contacts.page(search="091000")) == 1


async def test_keyset_pages_cover_all_rows(runtime: Runtime) -> None:
    for index in range(7):
        await runtime.contacts.create(
            {
                "first_name": f"P{index}",
                "email": f"p{index}@x.hr" if index % 2 else None,
            }
        )
    for sort in SortKey:
        for descending in (False, True):
            seen: list[int] = []
            cursor = None
            while True:
                rows = await runtime.contacts.page(
                    sort=sort, descending=descending, after=cursor, limit=3
                )
                if not rows:
                    break
                seen.extend(row.id for row in rows)
                cursor = PageCursor(rows[-1].sort_value, rows[-1].id)
            assert sorted(seen) == list(range(1, 8)), (sort, descending)
            assert len(seen) == 7


async def test_delete_missing_contact(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError):
        await runtime.contacts.delete(999)


async def test_naive_datetime_rejected(runtime: Runtime) -> None:
    contact = await runtime.contacts.create({"first_name": "Ivo"})
    async with runtime.sessions() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None
        stored.last_message_at = datetime(2026, 1, 1)  # noqa: DTZ001
        with pytest.raises(Exception, match="aware datetime"):
            await session.commit()


async def test_status_moves_forward_only(runtime: Runtime) -> None:
    from logsteer_tui.db.models import (
        Channel,
        Direction,
        Message,
        MessageStatus,
        MessageStatusEvent,
    )
    from logsteer_tui.services.messages import record_status

    contact = await runtime.contacts.create({"first_name": "Ana"})
    async with runtime.sessions() as session, session.begin():
        message = Message(
            contact_id=contact.id,
            channel=Channel.SMS,
            direction=Direction.OUT,
            status=MessageStatus.PENDING,
            body="Hi",
        )
        session.add(message)
        await session.flush()
        assert await record_status(session, message, MessageStatus.SENT)
        assert await record_status(session, message, MessageStatus.DELIVERED)
        assert not await record_status(session, message, MessageStatus.SENT)
        assert not await record_status(session, message, MessageStatus.FAILED)
        assert message.status is MessageStatus.DELIVERED
        history = (await session.scalars(select(MessageStatusEvent.status))).all()
    assert sorted(history) == ["delivered", "failed", "sent"]
    stored = await runtime.contacts.get(contact.id)
    assert stored.last_sms_sent_body == "Hi"
    assert stored.last_message_at is not None


async def test_empty_contact_rejected(runtime: Runtime) -> None:
    with pytest.raises(ContactValidationError) as caught:
        await runtime.contacts.create({"first_name": "  ", "do_not_send_sms": True})
    assert [error.field for error in caught.value.errors] == ["first_name"]
    assert "needs a name, an email or a phone number" in str(caught.value)
    assert await runtime.contacts.count() == 0
