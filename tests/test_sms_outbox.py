"""SmsService against the development provider, on a real SQLite file."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from logsteer_tui.db.models import (
    Channel,
    Contact,
    Delivery,
    DeliveryStatus,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
    MessageType,
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.events import Event, MessageStored
from logsteer_tui.services.sms import SmsBodyError, SmsNotAllowedError
from logsteer_tui.services.sms.outbox import INTERRUPTED_TEXT
from logsteer_tui.services.templates import TemplateError


async def make_contact(runtime: Runtime, **values: object) -> Contact:
    fields: dict[str, object] = {
        "first_name": "Ana",
        "last_name": "Horvat",
        "mobile_1": "+385910000001",
    }
    fields.update(values)
    return await runtime.contacts.create(fields)


async def message_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def history(runtime: Runtime, message_id: int) -> list[str]:
    query = (
        select(MessageStatusEvent.status)
        .where(MessageStatusEvent.message_id == message_id)
        .order_by(MessageStatusEvent.id)
    )
    async with runtime.sessions() as session:
        return [status.value for status in (await session.scalars(query)).all()]


async def test_dev_send_records_and_marks_sent(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    message = await runtime.sms.send(
        contact.id, "Hi {{ first_name }}", MessageType.SALES
    )
    assert message.status is MessageStatus.SENT
    assert message.body == "Hi Ana"
    assert message.template == "Hi {{ first_name }}"
    assert message.type is MessageType.SALES
    assert message.to_address == "+385910000001"
    assert message.provider == "dev"
    assert message.parts == 1
    assert message.encoding == "GSM-7"
    assert message.provider_message_id is not None
    assert re.fullmatch(r"DEV[0-9a-f]{32}", message.provider_message_id)
    assert message.sent_at is not None
    assert await history(runtime, message.id) == ["pending", "sent"]


async def test_dev_outbox_file_has_json_line(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    message = await runtime.sms.send(contact.id, "Hello")
    lines = runtime.paths.dev_outbox_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["id"] == message.provider_message_id
    assert record["to"] == "+385910000001"
    assert record["body"] == "Hello"
    assert record["message_id"] == message.id


async def test_send_updates_contact_last_sms(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    await runtime.sms.send(contact.id, "Hello")
    stored = await runtime.contacts.get(contact.id)
    assert stored.last_sms_sent_body == "Hello"
    assert stored.last_sms_sent_at is not None


async def test_send_publishes_pending_then_sent(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    events: list[Event] = []
    runtime.hub.subscribe(events.append)
    message = await runtime.sms.send(contact.id, "Hello")
    stored = [event for event in events if isinstance(event, MessageStored)]
    assert [event.status for event in stored] == ["pending", "sent"]
    assert {event.message_id for event in stored} == {message.id}
    assert stored[0].direction == "out"


async def test_pending_committed_before_provider_call(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    seen: list[str] = []
    original = runtime.sms.provider.send

    async def send_and_look(sms):  # type: ignore[no-untyped-def]
        async with runtime.sessions() as session:
            stored = await session.get(Message, sms.message_id)
            assert stored is not None
            seen.append(stored.status.value)
        return await original(sms)

    runtime.sms.provider.send = send_and_look  # type: ignore[method-assign]
    await runtime.sms.send(contact.id, "Hello")
    assert seen == ["pending"]


async def test_opted_out_contact_refused(runtime: Runtime) -> None:
    contact = await make_contact(runtime, do_not_send_sms=True)
    with pytest.raises(SmsNotAllowedError, match="Do not send SMS") as caught:
        await runtime.sms.send(contact.id, "Hello")
    assert f"Contact {contact.id} Ana Horvat" in caught.value.message
    assert await message_count(runtime) == 0
    assert not runtime.paths.dev_outbox_file.exists()


async def test_contact_without_mobile_refused(runtime: Runtime) -> None:
    contact = await make_contact(runtime, mobile_1=None)
    with pytest.raises(SmsNotAllowedError, match="Mobile 1 is empty"):
        await runtime.sms.send(contact.id, "Hello")
    assert await message_count(runtime) == 0


async def test_stop_arriving_meanwhile_wins(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    original = runtime.sms.load_contact

    async def load_then_opt_out(contact_id: int) -> Contact:
        loaded = await original(contact_id)
        await runtime.contacts.update(contact_id, {"do_not_send_sms": True})
        return loaded

    runtime.sms.load_contact = load_then_opt_out  # type: ignore[method-assign]
    with pytest.raises(SmsNotAllowedError, match="Do not send SMS"):
        await runtime.sms.send(contact.id, "Hello")
    assert await message_count(runtime) == 0
    assert not runtime.paths.dev_outbox_file.exists()


@pytest.mark.parametrize("template", ["", "   ", "{{ '' }}", "\n"])
async def test_empty_body_rejected(runtime: Runtime, template: str) -> None:
    contact = await make_contact(runtime)
    with pytest.raises(SmsBodyError, match="empty"):
        await runtime.sms.send(contact.id, template)
    assert await message_count(runtime) == 0


async def test_body_over_max_parts_rejected(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    with pytest.raises(SmsBodyError, match="maximum of 10 parts") as caught:
        await runtime.sms.send(contact.id, "a" * (153 * 10 + 1))
    assert "11 parts" in caught.value.message
    assert await message_count(runtime) == 0


async def test_long_croatian_suggests_transliteration(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    with pytest.raises(SmsBodyError, match="transliteration"):
        await runtime.sms.send(contact.id, "ž" * (67 * 10 + 1))


async def test_template_error_sends_nothing(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    with pytest.raises(TemplateError, match="field company is empty"):
        await runtime.sms.send(contact.id, "Hi {{ company }}")
    assert await message_count(runtime) == 0


async def test_transliterate_per_message(runtime: Runtime) -> None:
    contact = await make_contact(runtime, first_name="Đurđica")
    message = await runtime.sms.send(
        contact.id, "Pozdrav {{ first_name }}, čekamo vas", transliterated=True
    )
    assert message.body == "Pozdrav Djurdjica, cekamo vas"
    assert message.encoding == "GSM-7"
    plain = await runtime.sms.send(contact.id, "čekamo", transliterated=False)
    assert plain.body == "čekamo"
    assert plain.encoding == "UCS-2"


async def test_transliterate_default_from_settings(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    runtime.sms.transliterate_by_default = True
    message = await runtime.sms.send(contact.id, "čekamo")
    assert message.body == "cekamo"


async def test_preview_matches_sent_body(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    loaded = await runtime.sms.load_contact(contact.id)
    preview = runtime.sms.preview(loaded, "Hi {{ first_name }} €")
    assert preview.body == "Hi Ana €"
    assert preview.count.units == 9
    message = await runtime.sms.send(contact.id, "Hi {{ first_name }} €")
    assert message.body == preview.body


async def add_pending(runtime: Runtime, contact_id: int, age: timedelta) -> int:
    async with runtime.sessions() as session, session.begin():
        message = Message(
            contact_id=contact_id,
            channel=Channel.SMS,
            direction=Direction.OUT,
            status=MessageStatus.PENDING,
            body="Hello",
            to_address="+385910000001",
            provider="dev",
            created_at=utc_now() - age,
        )
        session.add(message)
    return message.id


async def test_recover_marks_old_pending_as_error(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    old_id = await add_pending(runtime, contact.id, timedelta(hours=1))
    new_id = await add_pending(runtime, contact.id, timedelta(seconds=5))
    assert await runtime.sms.recover_interrupted() == 1
    old = await runtime.messages.get(old_id)
    new = await runtime.messages.get(new_id)
    assert old is not None
    assert new is not None
    assert old.status is MessageStatus.ERROR
    assert old.error_code == "interrupted"
    assert old.error_text == INTERRUPTED_TEXT
    assert new.status is MessageStatus.PENDING


async def test_recover_leaves_scheduled_messages(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    message_id = await add_pending(runtime, contact.id, timedelta(hours=1))
    async with runtime.sessions() as session, session.begin():
        schedule = Schedule(
            channel=Channel.SMS,
            message_type=MessageType.PROMOTIONAL,
            body="Hello",
            starts_at=utc_now(),
            timezone="UTC",
        )
        session.add(schedule)
        await session.flush()
        run = ScheduleRun(
            schedule_id=schedule.id,
            planned_at=utc_now(),
            status=ScheduleRunStatus.RUNNING,
        )
        session.add(run)
        await session.flush()
        session.add(
            Delivery(
                run_id=run.id,
                contact_id=contact.id,
                status=DeliveryStatus.SENDING,
                message_id=message_id,
            )
        )
    assert await runtime.sms.recover_interrupted() == 0
    message = await runtime.messages.get(message_id)
    assert message is not None
    assert message.status is MessageStatus.PENDING


async def test_recover_runs_on_start(runtime: Runtime) -> None:
    contact = await make_contact(runtime)
    old_id = await add_pending(runtime, contact.id, timedelta(hours=1))
    await runtime.start(background=False)
    old = await runtime.messages.get(old_id)
    assert old is not None
    assert old.status is MessageStatus.ERROR
