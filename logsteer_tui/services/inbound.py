"""Incoming SMS and delivery reports: matching, consent replies, status moves.

Every write goes through one writer task that commits queued work in batches:
each caller awaits the commit of its own batch, so a webhook gets its response
only once its data is durable, and SQLite pays one commit for many requests.
Retried webhooks are stored once because the message insert is
``ON CONFLICT DO NOTHING`` on uq_message_provider_id (provider,
provider_message_id), never a read-then-write check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.config import ConsentSettings
from logsteer_tui.db.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    ContactSource,
    Direction,
    Message,
    MessageStatus,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import DatabaseError, NotFoundError, ValidationError
from logsteer_tui.services.contacts import derived_columns
from logsteer_tui.services.events import (
    ContactChanged,
    Event,
    EventHub,
    MessageStored,
    SmsReceived,
)
from logsteer_tui.services.messages import record_status, update_contact_last_columns
from logsteer_tui.services.validation import normalize_phone
from logsteer_tui.services.webhooks import IncomingSms, StatusReport

log = logging.getLogger(__name__)

# More contacts than this sharing one Mobile 1 are not offered for review.
MAX_CANDIDATES = 20

# How long stop() waits for queued writes before dropping them.
STOP_TIMEOUT_SECONDS = 10.0


def keyword_of(body: str) -> str:
    """Fold a message for keyword matching: trimmed, casefolded, one "." dropped."""
    word = body.strip()
    if word.endswith("."):
        word = word[:-1].rstrip()
    return word.casefold()


@dataclass(frozen=True)
class ConsentKeywords:
    """The whole-message replies that opt a sender out of SMS, or back in."""

    opt_out: frozenset[str]
    opt_in: frozenset[str]

    @classmethod
    def from_settings(cls, consent: ConsentSettings) -> ConsentKeywords:
        return cls(
            opt_out=frozenset(keyword_of(word) for word in consent.opt_out_keywords),
            opt_in=frozenset(keyword_of(word) for word in consent.opt_in_keywords),
        )

    def action_for(self, body: str) -> ConsentAction | None:
        """The consent change ``body`` requests; None for any other message."""
        word = keyword_of(body)
        if word in self.opt_out:
            return ConsentAction.OPT_OUT
        if word in self.opt_in:
            return ConsentAction.OPT_IN
        return None


@dataclass(frozen=True)
class StoredSms:
    """The outcome of storing one incoming SMS."""

    message_id: int | None
    """None when the message was already stored by an earlier delivery."""

    contact_id: int | None
    duplicate: bool = False
    needs_review: bool = False
    contact_created: bool = False
    consent_change: ConsentAction | None = None


@dataclass(frozen=True)
class StatusOutcome:
    """The outcome of storing one status report."""

    message_id: int | None
    """None when no message has the reported provider id."""

    changed: bool = False


@dataclass(frozen=True)
class ReviewCandidate:
    """A contact whose Mobile 1 is the sender of a message under review."""

    id: int
    full_name: str
    email: str | None
    company: str
    do_not_send_sms: bool


@dataclass(frozen=True)
class ReviewItem:
    """An incoming message whose sender matched several contacts."""

    message_id: int
    sender: str
    body: str
    received_at: datetime
    candidates: tuple[ReviewCandidate, ...]


Work = Callable[[AsyncSession], Awaitable[tuple[Any, list[Event]]]]


@dataclass
class _Job:
    work: Work
    future: asyncio.Future[Any]


@dataclass
class _Match:
    """The contacts found for a sender, read before the message is written."""

    sender: str | None
    contacts: list[Any] = field(default_factory=list)


class InboundService:
    """Stores incoming SMS and status reports from any provider's webhooks."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: str,
        consent: ConsentSettings,
        hub: EventHub,
        max_batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self.region = region
        self.keywords = ConsentKeywords.from_settings(consent)
        self._hub = hub
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer task; receive() and report_status() need it running."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(
                self._write_forever(), name="inbound-writer"
            )

    async def stop(self) -> None:
        """Finish the queued work, then stop the writer task."""
        if self._writer is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.error(
                "Stopped the inbound writer with %d writes still queued",
                self._queue.qsize(),
            )
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def receive(self, sms: IncomingSms) -> StoredSms:
        """Store an incoming SMS, match its sender, and apply a STOP or START reply.

        Returns once the message is committed. Raises DatabaseError when the
        database rejects the write, so the webhook can respond with 500 and be retried.
        """

        async def work(session: AsyncSession) -> tuple[Any, list[Event]]:
            return await self._store_incoming(session, sms)

        result: StoredSms = await self._submit(work)
        return result

    async def report_status(self, report: StatusReport) -> StatusOutcome:
        """Move the outgoing message with the reported provider id to its status.

        A report for an unknown provider id stores nothing and is logged. Twilio
        sends each later status too, so the final one still arrives.
        """

        async def work(session: AsyncSession) -> tuple[Any, list[Event]]:
            return await self._store_status(session, report)

        result: StatusOutcome = await self._submit(work)
        return result

    async def _submit(self, work: Work) -> Any:
        if self._writer is None or self._writer.done():
            raise DatabaseError(
                "The inbound writer is not running; start the listener first."
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(work, future))
        return await future

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write_batch(batch)
            except Exception as error:  # the writer must outlive any one batch
                log.exception("Inbound writer failed on a batch of %d", len(batch))
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)
            finally:
                for _job in batch:
                    self._queue.task_done()

    async def _write_batch(self, batch: Sequence[_Job]) -> None:
        """Run every job in one transaction, or each alone when the batch fails."""
        try:
            async with self._sessions() as session, session.begin():
                outcomes = [await job.work(session) for job in batch]
        except SQLAlchemyError as error:
            if len(batch) > 1:
                log.warning(
                    "A batch of %d inbound writes failed (%s); retrying each alone",
                    len(batch),
                    error,
                )
                for job in batch:
                    await self._write_batch([job])
                return
            log.error("Storing an inbound webhook failed: %s", error)
            batch[0].future.set_exception(
                DatabaseError(f"Storing the webhook failed: {error}. It is retried.")
            )
            return
        for job, (result, events) in zip(batch, outcomes, strict=True):
            if not job.future.done():  # the caller may have gone away
                job.future.set_result(result)
            for event in events:
                self._hub.publish(event)

    def normalise_sender(self, sender: str) -> str | None:
        """Return the sender in E.164, or None when it is no valid phone number."""
        try:
            return normalize_phone("sender", sender, self.region)
        except ValidationError:
            return None

    async def _match(self, session: AsyncSession, sender: str | None) -> _Match:
        if sender is None:
            return _Match(sender)
        rows = await session.execute(
            select(
                Contact.id,
                Contact.first_name,
                Contact.last_name,
                Contact.do_not_send_sms,
            )
            .where(Contact.mobile_1 == sender)
            .order_by(Contact.id)
            .limit(MAX_CANDIDATES + 1)
        )
        return _Match(sender, list(rows))

    async def _store_incoming(
        self, session: AsyncSession, sms: IncomingSms
    ) -> tuple[StoredSms, list[Event]]:
        match = await self._match(session, self.normalise_sender(sms.sender))
        linked = match.contacts[0] if len(match.contacts) == 1 else None
        needs_review = len(match.contacts) > 1
        message = Message(
            contact_id=linked.id if linked is not None else None,
            channel=Channel.SMS,
            direction=Direction.IN,
            status=MessageStatus.RECEIVED,
            from_address=match.sender or sms.sender,
            to_address=sms.recipient,
            body=sms.body,
            provider=sms.provider,
            provider_message_id=sms.provider_message_id,
            needs_review=needs_review,
            created_at=sms.received_at or utc_now(),
        )
        message_id = await _insert_once(session, message)
        if message_id is None:
            log.info(
                "Ignored a repeated %s message %s",
                sms.provider,
                sms.provider_message_id,
            )
            return StoredSms(None, None, duplicate=True), []
        message.id = message_id

        action = self.keywords.action_for(sms.body)
        created = False
        contact_id: int | None = linked.id if linked is not None else None
        name = _full_name(linked) if linked is not None else ""
        changed = False
        if match.sender is not None and not match.contacts:
            contact_id = await self._create_contact(session, match.sender, action)
            message.contact_id, created = contact_id, True
            await session.execute(
                update(Message)
                .where(Message.id == message.id)
                .values(contact_id=contact_id)
            )
            if action is ConsentAction.OPT_OUT:
                _add_consent_event(session, contact_id, action, message_id)
                changed = True
        elif linked is not None and action is not None:
            changed = await _apply_consent(
                session, linked.id, linked.do_not_send_sms, action, message.id
            )
        await update_contact_last_columns(session, message)

        if needs_review:
            log.info(
                "Incoming SMS %d from %s matches %d contacts and needs review",
                message.id,
                match.sender,
                len(match.contacts),
            )
        elif match.sender is None:
            log.warning(
                "Incoming SMS %d is from the invalid phone number %r, "
                "so it is stored without a contact",
                message.id,
                sms.sender,
            )
        stored = StoredSms(
            message.id,
            contact_id,
            needs_review=needs_review,
            contact_created=created,
            consent_change=action if changed else None,
        )
        return stored, self._incoming_events(stored, message, name)

    @staticmethod
    def _incoming_events(
        stored: StoredSms, message: Message, contact_name: str
    ) -> list[Event]:
        assert stored.message_id is not None
        events: list[Event] = [
            MessageStored(
                stored.message_id,
                stored.contact_id,
                Direction.IN.value,
                MessageStatus.RECEIVED.value,
            ),
            SmsReceived(
                message_id=stored.message_id,
                contact_id=stored.contact_id,
                sender=message.from_address,
                contact_name=contact_name,
                body=message.body,
                needs_review=stored.needs_review,
                consent_change=stored.consent_change.value
                if stored.consent_change is not None
                else "",
            ),
        ]
        if stored.contact_id is not None:
            events.append(ContactChanged(stored.contact_id))
        return events

    async def _create_contact(
        self, session: AsyncSession, mobile: str, action: ConsentAction | None
    ) -> int:
        values = {"mobile_1": mobile}
        contact = Contact(
            **values,
            **derived_columns(values),
            source=ContactSource.INBOUND_SMS,
            attributes={},
            do_not_send_sms=action is ConsentAction.OPT_OUT,
        )
        session.add(contact)
        await session.flush()
        log.info("Created contact %d for the new sender %s", contact.id, mobile)
        return contact.id

    async def _store_status(
        self, session: AsyncSession, report: StatusReport
    ) -> tuple[StatusOutcome, list[Event]]:
        message = await session.scalar(
            select(Message).where(
                Message.provider == report.provider,
                Message.provider_message_id == report.provider_message_id,
            )
        )
        if message is None:
            log.warning(
                "Ignored a %s status %r for the unknown message %s",
                report.provider,
                report.provider_status,
                report.provider_message_id,
            )
            return StatusOutcome(None), []
        changed = await record_status(
            session, message, report.status, report.error_code, report.error_text
        )
        if not changed:
            return StatusOutcome(message.id), []
        event = MessageStored(
            message.id, message.contact_id, message.direction.value, report.status
        )
        events: list[Event] = [event]
        if message.contact_id is not None:
            events.append(ContactChanged(message.contact_id))
        return StatusOutcome(message.id, changed=True), events

    async def list_needs_review(self, limit: int = 200) -> list[ReviewItem]:
        """Return messages whose sender matched several contacts, oldest first."""
        async with self._sessions() as session:
            messages = list(
                (
                    await session.scalars(
                        select(Message)
                        .where(Message.needs_review.is_(True))
                        .order_by(Message.created_at, Message.id)
                        .limit(limit)
                    )
                ).all()
            )
            senders = {message.from_address for message in messages}
            contacts = (
                await session.scalars(
                    select(Contact)
                    .where(Contact.mobile_1.in_(senders))
                    .order_by(Contact.sort_name, Contact.id)
                )
            ).all()
        by_mobile: dict[str, list[ReviewCandidate]] = {}
        for contact in contacts:
            by_mobile.setdefault(contact.mobile_1 or "", []).append(
                ReviewCandidate(
                    id=contact.id,
                    full_name=contact.full_name,
                    email=contact.email,
                    company=contact.company,
                    do_not_send_sms=contact.do_not_send_sms,
                )
            )
        return [
            ReviewItem(
                message_id=message.id,
                sender=message.from_address,
                body=message.body,
                received_at=message.created_at,
                candidates=tuple(by_mobile.get(message.from_address, [])),
            )
            for message in messages
        ]

    async def count_needs_review(self) -> int:
        query = select(func.count()).where(Message.needs_review.is_(True))
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    async def resolve_review(self, message_id: int, contact_id: int) -> StoredSms:
        """Link a message under review to ``contact_id`` and apply its STOP or START.

        Raises NotFoundError when the message no longer needs review or the
        contact does not exist.
        """
        async with self._sessions() as session, session.begin():
            message = await session.get(Message, message_id)
            if message is None or not message.needs_review:
                raise NotFoundError(
                    f"Message {message_id} does not need review any more; "
                    "refresh the list."
                )
            contact = await session.get(Contact, contact_id)
            if contact is None:
                raise NotFoundError(
                    f"Contact {contact_id} not found; refresh the list."
                )
            message.contact_id = contact.id
            message.needs_review = False
            message.updated_at = utc_now()
            action = self.keywords.action_for(message.body)
            changed = action is not None and await _apply_consent(
                session, contact.id, contact.do_not_send_sms, action, message.id
            )
            await session.flush()
            await update_contact_last_columns(session, message)
        log.info("Linked message %d to contact %d after review", message_id, contact_id)
        stored = StoredSms(
            message_id, contact_id, consent_change=action if changed else None
        )
        for event in (
            MessageStored(message_id, contact_id, Direction.IN.value, message.status),
            ContactChanged(contact_id),
        ):
            self._hub.publish(event)
        return stored


async def _insert_once(session: AsyncSession, message: Message) -> int | None:
    """Insert ``message``; return its id, or None when its provider id exists."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = utc_now()
    statement = (
        insert(Message)
        .values(
            contact_id=message.contact_id,
            channel=message.channel,
            direction=message.direction,
            status=message.status,
            from_address=message.from_address,
            to_address=message.to_address,
            body=message.body,
            provider=message.provider,
            provider_message_id=message.provider_message_id,
            needs_review=message.needs_review,
            created_at=message.created_at,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])
        .returning(Message.id)
    )
    return await session.scalar(statement)


async def _apply_consent(
    session: AsyncSession,
    contact_id: int,
    current: bool,
    action: ConsentAction,
    message_id: int,
) -> bool:
    """Set or clear Do not send SMS; return whether the flag changed."""
    wanted = action is ConsentAction.OPT_OUT
    if current == wanted:
        return False
    await session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(do_not_send_sms=wanted, updated_at=utc_now())
    )
    _add_consent_event(session, contact_id, action, message_id)
    log.info("Contact %d sent %s by SMS reply", contact_id, action.value)
    return True


def _add_consent_event(
    session: AsyncSession, contact_id: int, action: ConsentAction, message_id: int
) -> None:
    session.add(
        ConsentEvent(
            contact_id=contact_id,
            channel=Channel.SMS,
            action=action,
            source=ConsentSource.SMS_REPLY,
            reason="opt-out keyword in an SMS reply"
            if action is ConsentAction.OPT_OUT
            else "opt-in keyword in an SMS reply",
            message_id=message_id,
        )
    )


def _full_name(row: Any) -> str:
    return " ".join(part for part in (row.first_name, row.last_name) if part)
