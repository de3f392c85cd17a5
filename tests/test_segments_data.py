"""Builders of contacts and their related rows for the segment tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logsteer_tui.db.models import (
    Address,
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Direction,
    Message,
    MessageStatus,
    Note,
    Order,
)
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.messages import update_contact_last_columns
from logsteer_tui.services.segments import SegmentService, parse_definition


def segment_service(runtime: Runtime) -> SegmentService:
    general = runtime.settings.general
    return SegmentService(runtime.sessions, general.zone, general.default_region)


def where(field: str, operator: str, value: Any = None) -> Any:
    """Return a one-condition definition."""
    return parse_definition(
        {
            "match": "and",
            "conditions": [{"field": field, "operator": operator, "value": value}],
        }
    )


async def add_contact(runtime: Runtime, **values: Any) -> int:
    contact = await runtime.contacts.create(values)
    return contact.id


async def add_rows(runtime: Runtime, *rows: Any) -> None:
    async with runtime.sessions() as session, session.begin():
        session.add_all(rows)


async def add_address(runtime: Runtime, contact_id: int, **values: Any) -> None:
    await add_rows(runtime, Address(contact_id=contact_id, **values))


async def add_note(
    runtime: Runtime, contact_id: int, body: str, created_at: datetime
) -> None:
    await add_rows(
        runtime, Note(contact_id=contact_id, body=body, created_at=created_at)
    )


async def add_order(
    runtime: Runtime,
    contact_id: int,
    total_cents: int,
    ordered_at: datetime,
    status: str = "paid",
    currency: str = "EUR",
) -> None:
    await add_rows(
        runtime,
        Order(
            contact_id=contact_id,
            number=f"N{contact_id}-{total_cents}",
            status=status,
            total_cents=total_cents,
            currency=currency,
            ordered_at=ordered_at,
        ),
    )


async def add_message(
    runtime: Runtime,
    contact_id: int,
    direction: Direction,
    at: datetime,
    body: str = "",
    channel: Channel = Channel.SMS,
    status: MessageStatus | None = None,
) -> None:
    """Store a message and move the contact's last-message columns as the app does."""
    if status is None:
        incoming = direction is Direction.IN
        status = MessageStatus.RECEIVED if incoming else MessageStatus.DELIVERED
    async with runtime.sessions() as session, session.begin():
        message = Message(
            contact_id=contact_id,
            channel=channel,
            direction=direction,
            status=status,
            body=body,
            created_at=at,
            sent_at=at if direction is Direction.OUT else None,
        )
        session.add(message)
        await session.flush()
        await update_contact_last_columns(session, message)


async def add_consent(
    runtime: Runtime,
    contact_id: int,
    action: ConsentAction,
    at: datetime,
    source: ConsentSource = ConsentSource.SMS_REPLY,
) -> None:
    await add_rows(
        runtime,
        ConsentEvent(
            contact_id=contact_id,
            channel=Channel.SMS,
            action=action,
            source=source,
            created_at=at,
        ),
    )
