"""Incoming SMS and delivery reports: matching, consent replies, status moves.

Every write goes through one writer task that commits queued work in batches.
Each caller awaits the commit of its own batch, so a webhook gets its response
only once its data is durable, and the database pays one commit for many
requests. On a SQLite file the incoming-SMS statements of a batch run in one call
to the writer's own thread with a synchronous connection, because each statement
through aiosqlite costs several thread hops. Retried webhooks are stored once
because the message insert is ``ON CONFLICT DO NOTHING`` on uq_message_provider_id
(provider, provider_message_id), never a read-then-write check.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from logsteer_tui.config import ConsentSettings
from logsteer_tui.db.engine import configure_sqlite
from logsteer_tui.db.models import ConsentAction, Contact, Direction, Message
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import DatabaseError, NotFoundError, ValidationError
from logsteer_tui.services.events import (
    ContactChanged,
    Event,
    EventHub,
    MessageStored,
    SmsReceived,
)
from logsteer_tui.services.inbound_store import (
    MAX_CANDIDATES,
    ConsentKeywords,
    IncomingRow,
    add_consent_event,
    store_incoming,
)
from logsteer_tui.services.messages import record_status, update_contact_last_columns
from logsteer_tui.services.validation import normalize_phone
from logsteer_tui.services.webhooks import IncomingSms, StatusReport

log = logging.getLogger(__name__)

__all__ = ["MAX_CANDIDATES", "ConsentKeywords", "InboundService"]

# How long stop() waits for queued writes before dropping them.
STOP_TIMEOUT_SECONDS = 10.0


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


@dataclass
class _Job:
    item: IncomingSms | StatusReport
    future: asyncio.Future[Any]


Outcome = tuple[Any, list[Event]]
BatchStore = Callable[[Sequence[Any]], Awaitable[list[Outcome]]]


def _sync_sqlite_engine(engine: AsyncEngine | None) -> Engine | None:
    """Create a synchronous engine on the same SQLite file; None for other databases."""
    if engine is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    sync_engine = create_engine(engine.url.set(drivername="sqlite"), pool_size=1)
    # The same PRAGMAs as the app's engine: WAL, foreign keys, busy timeout.
    sqlalchemy_event.listen(sync_engine, "connect", configure_sqlite)
    return sync_engine


class InboundService:
    """Stores incoming SMS and status reports from any provider's webhooks."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: str,
        consent: ConsentSettings,
        hub: EventHub,
        engine: AsyncEngine | None = None,
        max_batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self.region = region
        self.keywords = ConsentKeywords.from_settings(consent)
        self._hub = hub
        self._engine = engine
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._sync_engine: Engine | None = None
        self._sync_sessions: sessionmaker[Session] | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Start the writer task; receive() and report_status() need it running."""
        if self._writer is not None and not self._writer.done():
            return
        self._sync_engine = _sync_sqlite_engine(self._engine)
        if self._sync_engine is not None:
            self._sync_sessions = sessionmaker(self._sync_engine)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="inbound-writer")
        self._writer = asyncio.create_task(self._write_forever(), name="inbound-writer")

    async def stop(self) -> None:
        """Finish the queued work, then stop the writer task and its thread."""
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
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = self._sync_sessions = None

    async def receive(self, sms: IncomingSms) -> StoredSms:
        """Store an incoming SMS, match its sender, and apply a STOP or START reply.

        Returns once the message is committed. Raises DatabaseError when the
        database rejects the write, so the webhook can respond with 500 and be
        retried.
        """
        result: StoredSms = await self._submit(sms)
        return result

    async def report_status(self, report: StatusReport) -> StatusOutcome:
        """Move the outgoing message with the reported provider id to its status.

        A report for an unknown provider id stores nothing and is logged. Twilio
        sends each later status too, so the final one still arrives.
        """
        result: StatusOutcome = await self._submit(report)
        return result

    async def _submit(self, item: IncomingSms | StatusReport) -> Any:
        if self._writer is None or self._writer.done():
            raise DatabaseError(
                "The inbound writer is not running; start the listener first."
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(item, future))
        return await future

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # One turn of the event loop lets every request that is ready join
            # this batch, so a burst costs one commit instead of one each.
            await asyncio.sleep(0)
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                incoming = [job for job in batch if isinstance(job.item, IncomingSms)]
                reports = [job for job in batch if isinstance(job.item, StatusReport)]
                if incoming:
                    await self._write(incoming, self._store_incoming)
                if reports:
                    await self._write(reports, self._store_statuses)
            except Exception as error:  # the writer must outlive any one batch
                log.exception("Inbound writer failed on a batch of %d", len(batch))
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)
            finally:
                for _job in batch:
                    self._queue.task_done()

    async def _write(self, jobs: Sequence[_Job], store: BatchStore) -> None:
        """Store ``jobs`` in one transaction, or each alone when that fails."""
        try:
            outcomes = await store([job.item for job in jobs])
        except SQLAlchemyError as error:
            if len(jobs) > 1:
                log.warning(
                    "A batch of %d inbound writes failed (%s); retrying each alone",
                    len(jobs),
                    error,
                )
                for job in jobs:
                    await self._write([job], store)
                return
            log.error("Storing an inbound webhook failed: %s", error)
            jobs[0].future.set_exception(
                DatabaseError(f"Storing the webhook failed: {error}. It is retried.")
            )
            return
        for job, (result, events) in zip(jobs, outcomes, strict=True):
            if not job.future.done():  # the caller may have gone away
                job.future.set_result(result)
            for event in events:
                self._hub.publish(event)

    def normalise_sender(self, sender: str) -> str | None:
        """Return the sender in E.164, or None when it is no valid phone number."""
        return _e164(sender, self.region)

    async def _store_incoming(self, batch: Sequence[IncomingSms]) -> list[Outcome]:
        rows = [IncomingRow(sms, self.normalise_sender(sms.sender)) for sms in batch]
        if self._thread is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._thread, self._store_in_thread, rows)
        else:
            async with self._sessions() as session, session.begin():
                await session.run_sync(store_incoming, rows, self.keywords)
        return [self._outcome(row) for row in rows]

    def _store_in_thread(self, rows: Sequence[IncomingRow]) -> None:
        assert self._sync_sessions is not None
        with self._sync_sessions() as session, session.begin():
            store_incoming(session, rows, self.keywords)

    def _outcome(self, row: IncomingRow) -> Outcome:
        if row.message_id is None:
            log.info("Ignored a repeated %s message %s", *row.key)
            return StoredSms(None, None, duplicate=True), []
        if row.needs_review:
            log.info(
                "Incoming SMS %d from %s matches %d contacts and needs review",
                row.message_id,
                row.sender,
                len(row.matches),
            )
        elif row.sender is None:
            log.warning(
                "Incoming SMS %d is from the invalid phone number %r, "
                "so it is stored without a contact",
                row.message_id,
                row.sms.sender,
            )
        stored = StoredSms(
            row.message_id,
            row.contact_id,
            needs_review=row.needs_review,
            contact_created=row.contact_created,
            consent_change=row.consent_change,
        )
        events: list[Event] = [
            MessageStored(
                row.message_id, row.contact_id, Direction.IN.value, "received"
            ),
            SmsReceived(
                message_id=row.message_id,
                contact_id=row.contact_id,
                sender=row.sender or row.sms.sender,
                contact_name=row.contact_name,
                body=row.sms.body,
                needs_review=row.needs_review,
                consent_change=row.consent_change.value if row.consent_change else "",
            ),
        ]
        if row.contact_id is not None:
            events.append(ContactChanged(row.contact_id))
        return stored, events

    async def _store_statuses(self, reports: Sequence[StatusReport]) -> list[Outcome]:
        async with self._sessions() as session, session.begin():
            return [await self._store_status(session, report) for report in reports]

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
            # The row lock makes a second pick of the same message, from another
            # operator on PostgreSQL, wait and then find it resolved.
            message = await session.get(Message, message_id, with_for_update=True)
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


# Replies come from the same numbers again and again, so parsed numbers are cached.
@functools.lru_cache(maxsize=4096)
def _e164(sender: str, region: str) -> str | None:
    try:
        return normalize_phone("sender", sender, region)
    except ValidationError:
        return None


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
    add_consent_event(session, contact_id, action, message_id)
    log.info("Contact %d sent %s by SMS reply", contact_id, action.value)
    return True
