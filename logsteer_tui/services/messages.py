"""Reading messages, and keeping each contact's last-message columns current."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.db.models import (
    Channel,
    Contact,
    Direction,
    Message,
    MessageStatus,
)

SENT_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})


async def update_contact_last_columns(session: AsyncSession, message: Message) -> None:
    """Move the contact's ``last_*`` columns forward to ``message`` if it is newer.

    An outgoing SMS counts as sent once its status is sent or delivered. Call
    this in the transaction that stores the message or changes its status.
    """
    if message.contact_id is None:
        return
    at = message.sent_at or message.created_at
    where = Contact.id == message.contact_id
    await session.execute(
        update(Contact)
        .where(
            where, (Contact.last_message_at.is_(None)) | (Contact.last_message_at < at)
        )
        .values(last_message_at=at)
    )
    column_pairs = None
    if message.channel is Channel.SMS and message.direction is Direction.IN:
        column_pairs = (Contact.last_sms_received_at, Contact.last_sms_received_body)
    elif (
        message.channel is Channel.SMS
        and message.direction is Direction.OUT
        and message.status in SENT_STATUSES
    ):
        column_pairs = (Contact.last_sms_sent_at, Contact.last_sms_sent_body)
    if column_pairs is not None:
        at_column, body_column = column_pairs
        await session.execute(
            update(Contact)
            .where(where, (at_column.is_(None)) | (at_column <= at))
            .values({at_column: at, body_column: message.body})
        )
    if (
        message.channel is Channel.EMAIL
        and message.direction is Direction.OUT
        and message.status in SENT_STATUSES
    ):
        await session.execute(
            update(Contact)
            .where(
                where,
                (Contact.last_email_sent_at.is_(None))
                | (Contact.last_email_sent_at < at),
            )
            .values(last_email_sent_at=at)
        )


class MessageService:
    """Reads the message history."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list(
        self,
        contact_id: int | None = None,
        channel: Channel | None = None,
        limit: int = 200,
    ) -> list[Message]:
        """Return messages newest first, for one contact or for all."""
        query = select(Message).order_by(Message.created_at.desc(), Message.id.desc())
        if contact_id is not None:
            query = query.where(Message.contact_id == contact_id)
        if channel is not None:
            query = query.where(Message.channel == channel)
        async with self._sessions() as session:
            return list((await session.scalars(query.limit(limit))).all())

    async def get(self, message_id: int) -> Message | None:
        async with self._sessions() as session:
            return await session.get(Message, message_id)
