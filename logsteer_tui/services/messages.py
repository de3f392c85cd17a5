"""Reading messages, and keeping each contact's last-message columns current."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.db.models import (
    FINAL_STATUSES,
    Channel,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
)
from logsteer_tui.db.types import utc_now

SENT_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})

# How far along each status is; a message only moves to a higher rank.
STATUS_RANK = {
    MessageStatus.PENDING: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
    MessageStatus.ERROR: 3,
    MessageStatus.RECEIVED: 3,
}


async def record_status(
    session: AsyncSession,
    message: Message,
    status: MessageStatus,
    error_code: str | None = None,
    error_text: str | None = None,
) -> bool:
    """Keep ``status`` in the message's history and move the message on to it.

    The history keeps one row per (message, status), so a retried callback adds
    nothing. The message itself moves only forward: a final status never changes,
    and a late "sent" after "delivered" is kept in the history only. Returns
    whether the message's status changed. Call inside a transaction.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(MessageStatusEvent)
        .values(
            message_id=message.id,
            status=status,
            error_code=error_code,
            created_at=utc_now(),
        )
        .on_conflict_do_nothing(index_elements=["message_id", "status"])
    )
    current = message.status
    if current in FINAL_STATUSES or STATUS_RANK[status] <= STATUS_RANK[current]:
        return False
    message.status = status
    message.updated_at = utc_now()
    if status is MessageStatus.SENT and message.sent_at is None:
        message.sent_at = utc_now()
    if error_code is not None:
        message.error_code = error_code
    if error_text is not None:
        message.error_text = error_text
    await session.flush()
    await update_contact_last_columns(session, message)
    return True


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
