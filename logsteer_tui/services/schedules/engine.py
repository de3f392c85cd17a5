"""The run engine: deliver one schedule run to its contacts, at most once each.

A run goes through these steps, each in its own short transaction:

1. populate: the segment is evaluated at send time and streamed in batches of
   contact ids, each inserted as a pending delivery. The unique (run, contact)
   pair lets two processes populate the same run without duplicates.
2. claim: a batch of pending deliveries moves to sending under SQLite's write
   lock (one writer at a time) or with SELECT ... FOR UPDATE SKIP LOCKED
   (PostgreSQL), so two workers never take the same row. Then consent is
   checked again, the body is rendered per contact and a pending message row
   is written for each contact that may get one. A SQLite file takes these
   steps through sqlite_batches.py, a transaction per call of its own thread.
3. send: ``concurrency`` tasks hand the prepared messages to the provider,
   spaced by the token bucket, while the next batch is claimed.
4. record: the provider's answers move messages to sent or error and the
   deliveries to sent or failed, a batch at a time.

Claims that were never handed to the provider (a pause, a cancel, the app
stopping, or a heartbeat too late to trust the lease) are given back: pending
again, or skipped on a cancelled run, with their pending message rows deleted.

A process that dies between 2 and 4 leaves deliveries in sending. A live
process settles them once the dead one's heartbeat is stale (recovery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from logsteer_tui.db.models import (
    Channel,
    Contact,
    Delivery,
    DeliveryStatus,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
    ScheduleStatus,
    Segment,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.services.events import EventHub, ScheduleRunProgressed
from logsteer_tui.services.messages import record_status
from logsteer_tui.services.schedules.checks import (
    CANCELLED,
    CANCELLED_REASON,
    CachingRenderer,
    Target,
    judge_contact,
    page_of,
)
from logsteer_tui.services.schedules.ratelimit import TokenBucket
from logsteer_tui.services.schedules.recovery import Recovery
from logsteer_tui.services.schedules.rows import (
    CONTACT,
    DELIVERY,
    EVENT,
    MESSAGE,
    add_counts,
    exact_counts,
    set_exact_counts,
    update_rows,
)
from logsteer_tui.services.schedules.sqlite_batches import (
    Accepted,
    Draft,
    Outcome,
    RunRow,
    Shared,
    SqliteBatches,
)
from logsteer_tui.services.segments import SegmentService, parse_definition
from logsteer_tui.services.sms import ProviderError, SmsPreview, SmsService
from logsteer_tui.services.sms.providers import (
    OPTED_OUT_CODE,
    OutgoingSms,
    ProviderReply,
)
from logsteer_tui.services.templates import (
    ADDRESS_FIELDS,
    FIELD_LABELS,
    ORDER_FIELDS,
    TemplateError,
)

log = logging.getLogger(__name__)

POPULATE_BATCH = 500
# Each page moves past at least one contact id, so this bounds 50 million ids.
MAX_PAGES = 100_000
MAX_BATCH = 100
# A batch contains about this many seconds of sends at the configured rate, so a
# crash leaves at most that many messages whose fate must be checked.
BATCH_SECONDS = 2.0
# Provider results wait at most this long for their batch to fill before they
# are recorded.
RECORD_SECONDS = 0.25


@dataclass(frozen=True)
class RunProgress:
    run_id: int
    schedule_id: int
    status: ScheduleRunStatus
    total: int
    sent: int
    skipped: int
    failed: int
    pending: int


@dataclass(frozen=True)
class _Prepared:
    delivery_id: int
    contact_id: int
    sms: OutgoingSms


@dataclass(frozen=True)
class _Result:
    prepared: _Prepared
    reply: ProviderReply | None
    error: ProviderError | None


@dataclass
class _Pump:
    """The queues of one run's pipeline and the claims it did not send."""

    run_id: int
    ready: asyncio.Queue[_Prepared | None]
    results: asyncio.Queue[_Result | None]
    unsent: list[_Prepared] = field(default_factory=list)
    halted: bool = False

    def halt(self, reason: str) -> None:
        """Stop handing claims to the provider; the rest are given back."""
        if not self.halted:
            log.info("Run %s stops sending: %s", self.run_id, reason)
            self.halted = True


class _Keeper:
    """The results a run's database task has taken and not yet recorded."""

    def __init__(self, senders: int, batch_size: int) -> None:
        self.senders = senders
        self.batch_size = batch_size
        self.results: list[_Result] = []
        self._oldest = 0.0

    def take(self, result: _Result | None) -> None:
        if result is None:
            self.senders -= 1
            return
        if not self.results:
            self._oldest = time.monotonic()
        self.results.append(result)

    def take_ready(self, queue: asyncio.Queue[_Result | None]) -> None:
        while not queue.empty():
            self.take(queue.get_nowait())

    def _due_in(self) -> float:
        return self._oldest + RECORD_SECONDS - time.monotonic()

    def record_due(self) -> bool:
        if not self.results:
            return False
        full = len(self.results) >= self.batch_size
        return full or not self.senders or self._due_in() <= 0

    async def wait(self, queue: asyncio.Queue[_Result | None]) -> None:
        """Wait for one more result, at most until the oldest one is due."""
        timeout = max(self._due_in(), 0) if self.results else None
        with contextlib.suppress(TimeoutError):
            self.take(await asyncio.wait_for(queue.get(), timeout))


class RunTargetError(Exception):
    """A run cannot find whom to send to, such as a deleted segment."""


class RunEngine:
    """Sends the deliveries of runs through the SMS service's provider.

    ``rate`` is in messages per second; None sends as fast as ``concurrency``
    requests in flight allow. Each run is a pipeline: one task claims and
    prepares batches, ``concurrency`` tasks send, and one task records the
    results a batch at a time, so database work never empties the pipe of
    requests.

    With a ``lease``, a message is handed to the provider only while this
    worker's last heartbeat (see ``beat``) is younger than half the lease, so
    another process cannot take this worker for dead and settle a claim that
    is still being sent.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: EventHub,
        sms: SmsService,
        segments: SegmentService,
        worker_id: str,
        rate: float | None,
        concurrency: int = 8,
        lease: timedelta | None = None,
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._sms = sms
        self._segments = segments
        self.worker_id = worker_id
        self._bucket = TokenBucket(rate) if rate is not None else None
        self._concurrency = max(1, concurrency)
        self._semaphore = asyncio.Semaphore(self._concurrency)
        batch = MAX_BATCH if rate is None else int(rate * BATCH_SECONDS)
        self.batch_size = max(1, min(MAX_BATCH, batch))
        self._recovery = Recovery(sessions, sms, worker_id)
        self._batches = SqliteBatches.of(sessions, worker_id)
        self._renderer = CachingRenderer()
        self._lease = lease
        self._beat_at: float | None = None
        self._pumps: dict[int, _Pump] = {}
        self.stopping = False
        """Set by the scheduler on shutdown; claims not yet sent are given back."""

    def beat(self, at: float) -> None:
        """Note a committed heartbeat whose time was read at monotonic ``at``."""
        self._beat_at = at

    def halt(self, run_id: int, reason: str) -> None:
        """Stop handing the run's claims to the provider, if it sends here."""
        pump = self._pumps.get(run_id)
        if pump is not None:
            pump.halt(reason)

    def lease_holds(self) -> bool:
        """Return whether other workers still count this one as alive, with a margin."""
        if self._lease is None or self._beat_at is None:
            return True
        age = time.monotonic() - self._beat_at
        return age < self._lease.total_seconds() / 2

    async def run(self, run_id: int) -> RunProgress:
        """Populate the run if needed and send until nothing is left to claim."""
        await self.populate(run_id)
        problem = self._sms.provider.configuration_problem()
        if problem is not None:
            await self._fail_run(run_id, problem)
            return await self.progress(run_id)
        async with self._sessions() as session:
            schedule = await _schedule_of(session, run_id)
            total = int(
                await session.scalar(
                    select(func.count()).where(Delivery.run_id == run_id)
                )
                or 0
            )
        await self._pump(run_id, schedule, total + 1)
        await self.try_finish(run_id)
        return await self.progress(run_id)

    async def populate(self, run_id: int) -> None:
        """Write a pending delivery for every contact the run sends to now."""
        async with self._sessions() as session:
            run = await session.get(ScheduleRun, run_id)
            if run is None or run.populated:
                return
            schedule = await _schedule_of(session, run_id)
            try:
                condition = await self._target(session, schedule)
            except RunTargetError as error:
                await self._fail_run(run_id, str(error))
                return
        insert_statement = _insert_for(self._sessions)
        last_id = 0
        for _ in range(MAX_PAGES):
            page, chunk_end = page_of(condition, last_id, POPULATE_BATCH)
            async with self._sessions() as session:
                ids = list(
                    (
                        await session.scalars(
                            select(Contact.id)
                            .where(page)
                            .order_by(Contact.id)
                            .limit(POPULATE_BATCH)
                        )
                    ).all()
                )
            if not ids and chunk_end is None:
                break
            last_id = chunk_end if chunk_end is not None else ids[-1]
            if not ids:
                continue
            rows = select(
                literal(run_id, DELIVERY.c.run_id.type),
                Contact.id,
                literal(DeliveryStatus.PENDING, DELIVERY.c.status.type),
                literal("", DELIVERY.c.reason.type),
                literal(utc_now(), DELIVERY.c.updated_at.type),
            ).where(Contact.id.in_(ids))
            async with self._sessions() as session, session.begin():
                # INSERT ... SELECT with the ids as one expanding parameter: the
                # statement is compiled once, not once per page of values.
                await session.execute(
                    insert_statement(DELIVERY)
                    .from_select(
                        ["run_id", "contact_id", "status", "reason", "updated_at"],
                        rows,
                    )
                    .on_conflict_do_nothing(index_elements=["run_id", "contact_id"])
                )
        async with self._sessions() as session, session.begin():
            total = await session.scalar(
                select(func.count()).where(Delivery.run_id == run_id)
            )
            await session.execute(
                update(ScheduleRun)
                .where(ScheduleRun.id == run_id)
                .values(populated=True, total=int(total or 0), updated_at=utc_now())
            )
        log.info("Run %s has %s deliveries", run_id, total)

    async def _target(self, session: AsyncSession, schedule: Schedule) -> Target:
        if schedule.contact_ids is not None:
            return sorted(set(schedule.contact_ids))
        segment = (
            await session.get(Segment, schedule.segment_id)
            if schedule.segment_id is not None
            else None
        )
        if segment is None:
            raise RunTargetError(
                f"The segment {schedule.segment_name!r} of schedule {schedule.id} "
                "was deleted, so there is nobody to send to. Cancel the schedule "
                "and create it again for another segment."
            )
        return self._segments.condition(parse_definition(segment.definition))

    async def _pump(self, run_id: int, schedule: Schedule, bound: int) -> None:
        """Claim, send and record the run's deliveries until none is left.

        Claims that were never handed to the provider, because the run was
        paused or cancelled, the app is stopping or the lease ran out, are
        given back at the end.

        NOTE: when a database error stops the run, the sends in flight stay in
        sending until this process stops, because recover() leaves this
        worker's own claims alone while it lives.
        """
        if not await self._is_running(run_id):
            return
        pump = _Pump(run_id, asyncio.Queue(), asyncio.Queue())
        self._pumps[run_id] = pump
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self._concurrency):
                    group.create_task(self._send_from(pump))
                group.create_task(self._keep(pump, schedule, bound))
        finally:
            if self._pumps.get(run_id) is pump:
                del self._pumps[run_id]
            while not pump.ready.empty():
                left = pump.ready.get_nowait()
                if left is not None:
                    pump.unsent.append(left)
            if pump.unsent:
                await self._give_back(run_id, pump.unsent)

    async def _keep(self, pump: _Pump, schedule: Schedule, bound: int) -> None:
        """Do the run's database work: record the results, claim batches ahead.

        One task does both, so the run's claims and records do not wait on
        each other for SQLite's write lock, which one writer holds at a time.
        Results are recorded a batch at a time, or after RECORD_SECONDS, before
        anything else, so what a crash leaves unrecorded stays small. A batch
        is claimed whenever fewer than a batch are ready.
        """
        keeper = _Keeper(self._concurrency, self.batch_size)
        claims_left = bound
        while keeper.senders or keeper.results:
            keeper.take_ready(pump.results)
            if keeper.record_due():
                await self._record_batch(pump, keeper.results)
                keeper.results = []
                continue
            if claims_left and pump.ready.qsize() < self.batch_size:
                claims_left = await self._claim_into(pump, schedule, claims_left - 1)
                if not claims_left:
                    for _ in range(self._concurrency):
                        pump.ready.put_nowait(None)
                continue
            if keeper.senders:
                await keeper.wait(pump.results)

    async def _claim_into(self, pump: _Pump, schedule: Schedule, left: int) -> int:
        """Claim a batch onto ``pump.ready``; return how many claims may follow."""
        run_id = pump.run_id
        if pump.halted or self.stopping:
            return 0
        if not self.lease_holds():
            pump.halt("its heartbeat is late")
            return 0
        prepared, claimed = await self._claim(run_id, schedule)
        if not claimed:
            return 0
        if not prepared:
            # Only skips and failures: no result will report the progress.
            self._hub.publish(_event(await self.progress(run_id)))
        for item in prepared:
            pump.ready.put_nowait(item)
        return left

    async def _record_batch(self, pump: _Pump, results: list[_Result]) -> None:
        progress = await self._record(pump.run_id, results)
        self._hub.publish(_event(progress))
        # A pause or cancel stops sending; what was claimed goes back.
        if progress.status is not ScheduleRunStatus.RUNNING:
            pump.halt(f"the run is {progress.status.value}")

    async def _send_from(self, pump: _Pump) -> None:
        while (item := await pump.ready.get()) is not None:
            if not pump.halted and self._bucket is not None:
                await self._bucket.acquire()
            if not pump.halted and not self.lease_holds():
                pump.halt("its heartbeat is late")
            if pump.halted or self.stopping:
                pump.unsent.append(item)
                continue
            pump.results.put_nowait(await self._send(item))
        pump.results.put_nowait(None)

    async def _is_running(self, run_id: int) -> bool:
        async with self._sessions() as session:
            status = await session.scalar(
                select(ScheduleRun.status).where(ScheduleRun.id == run_id)
            )
        return status is ScheduleRunStatus.RUNNING

    async def _claim(
        self, run_id: int, schedule: Schedule
    ) -> tuple[list[_Prepared], int]:
        """Claim a batch of a running run and write its pending messages.

        Returns the messages to send and the number of deliveries claimed,
        0 once the run stopped running or has nothing pending.
        """
        if self._batches is not None:
            return await self._claim_sqlite(self._batches, run_id, schedule)
        if not await self._is_running(run_id):
            return [], 0
        return await self._claim_orm(run_id, schedule)

    async def _claim_orm(
        self, run_id: int, schedule: Schedule
    ) -> tuple[list[_Prepared], int]:
        """Claim a batch, judge each contact and write the pending messages.

        On SQLite a transaction takes the write lock at its first write, so the
        reads and the rendering before the inserts hold no lock.
        """
        postgres = _dialect(self._sessions) == "postgresql"
        async with self._sessions() as session, session.begin():
            pending = (
                select(Delivery.id)
                .where(
                    Delivery.run_id == run_id,
                    Delivery.status == DeliveryStatus.PENDING,
                )
                .order_by(Delivery.id)
                .limit(self.batch_size)
            )
            if postgres:
                # Rows another worker is claiming now are skipped, not waited for.
                locked = list(
                    (
                        await session.scalars(pending.with_for_update(skip_locked=True))
                    ).all()
                )
                target = Delivery.id.in_(locked)
            else:
                # SQLite runs one writer at a time, so the subquery and the
                # update see the same committed rows.
                target = Delivery.id.in_(pending)
            claimed = (
                await session.execute(
                    update(Delivery)
                    .where(target, Delivery.status == DeliveryStatus.PENDING)
                    .values(
                        status=DeliveryStatus.SENDING,
                        claimed_by=self.worker_id,
                        updated_at=utc_now(),
                    )
                    .returning(Delivery.id, Delivery.contact_id)
                    .execution_options(synchronize_session=False)
                )
            ).all()
        if not claimed:
            return [], 0
        # A second transaction, so the claim's write lock is not held while the
        # contacts are read and rendered. A crash in between leaves claims with
        # no message, which recover() queues again.
        async with self._sessions() as session, session.begin():
            contacts = await self._load_contacts(
                session, [row.contact_id for row in claimed], postgres, schedule.body
            )
            prepared = await self._prepare(session, run_id, schedule, claimed, contacts)
        return prepared, len(claimed)

    async def _claim_sqlite(
        self, batches: SqliteBatches, run_id: int, schedule: Schedule
    ) -> tuple[list[_Prepared], int]:
        """Do what _claim_orm does, in two calls of the SQLite path.

        The contacts are read in the claim's transaction and rendered after
        its commit. The messages are written in a second transaction, which
        reads consent again under the write lock.
        """
        used = self._fields_used(schedule.body)
        claimed = await batches.claim(
            run_id,
            self.batch_size,
            addresses=bool(ADDRESS_FIELDS.intersection(used)),
            orders=bool(ORDER_FIELDS.intersection(used)),
        )
        if claimed is None:
            return [], 0
        outcomes, ready = self._judge(schedule, claimed.rows, claimed.contacts)
        drafts = [
            Draft(
                delivery_id,
                contact.id,
                contact.mobile_1 or "",
                preview.body,
                preview.count.parts,
                preview.count.encoding.value,
            )
            for delivery_id, contact, preview in ready
        ]
        provider = self._sms.provider
        shared = Shared(
            Channel.SMS.value,
            Direction.OUT.value,
            schedule.message_type.value if schedule.message_type else None,
            provider.sender,
            schedule.body,
            provider.name,
        )
        # NOTE: cancelling this task does not stop a call in the writer's thread.
        # A claim or message write then commits unseen, and recovery settles it
        # once this worker has stopped: claims go back to pending, and written
        # messages the provider cannot be asked about become interrupted.
        messages = await batches.store(run_id, shared, drafts, outcomes)
        prepared = [
            _Prepared(
                draft.delivery_id,
                draft.contact_id,
                OutgoingSms(messages[draft.delivery_id], draft.to_address, draft.body),
            )
            for draft in drafts
            if draft.delivery_id in messages
        ]
        return prepared, len(claimed.rows)

    def _fields_used(self, body: str) -> Collection[str]:
        try:
            return self._renderer.fields_used(body)
        except TemplateError:
            return FIELD_LABELS  # rendering reports the error for each contact

    def _judge(
        self,
        schedule: Schedule,
        claimed: Sequence[tuple[int, int | None]],
        contacts: dict[int, Contact],
    ) -> tuple[list[Outcome], list[tuple[int, Contact, SmsPreview]]]:
        """Split claimed (delivery id, contact id) pairs into outcomes and SMS."""
        outcomes: list[Outcome] = []
        ready: list[tuple[int, Contact, SmsPreview]] = []
        for delivery_id, contact_id in claimed:
            contact = contacts.get(contact_id) if contact_id is not None else None
            verdict = judge_contact(
                self._sms,
                contact,
                schedule.body,
                schedule.transliterate,
                self._renderer,
            )
            if verdict.status is not None or verdict.preview is None:
                outcomes.append(
                    Outcome(
                        delivery_id,
                        verdict.status or DeliveryStatus.FAILED,
                        verdict.reason,
                        verdict.code,
                    )
                )
                continue
            assert contact is not None
            ready.append((delivery_id, contact, verdict.preview))
        return outcomes, ready

    async def _load_contacts(
        self, session: AsyncSession, ids: Sequence[int | None], lock: bool, body: str
    ) -> dict[int, Contact]:
        """Load the contacts ``ids``, with the addresses and orders ``body`` reads."""
        query = select(Contact).where(
            Contact.id.in_([contact_id for contact_id in ids if contact_id])
        )
        used = self._fields_used(body)
        if ADDRESS_FIELDS.intersection(used):
            query = query.options(selectinload(Contact.addresses))
        if ORDER_FIELDS.intersection(used):
            query = query.options(selectinload(Contact.orders))
        if lock:
            # A STOP being stored now waits for this transaction, or wins before it.
            query = query.with_for_update(of=Contact)
        return {contact.id: contact for contact in await session.scalars(query)}

    async def _prepare(
        self,
        session: AsyncSession,
        run_id: int,
        schedule: Schedule,
        claimed: Sequence[Any],
        contacts: dict[int, Contact],
    ) -> list[_Prepared]:
        provider = self._sms.provider
        judged, ready = self._judge(
            schedule, [(row.id, row.contact_id) for row in claimed], contacts
        )
        outcomes = [
            {
                "id": item.delivery_id,
                "status": item.status,
                "reason": item.reason,
                "error_code": item.code,
            }
            for item in judged
        ]
        messages: list[tuple[int, Contact, dict[str, Any]]] = []
        for delivery_id, contact, preview in ready:
            assert contact.mobile_1 is not None
            now = utc_now()
            messages.append(
                (
                    delivery_id,
                    contact,
                    {
                        "contact_id": contact.id,
                        "channel": Channel.SMS,
                        "direction": Direction.OUT,
                        "type": schedule.message_type,
                        "status": MessageStatus.PENDING,
                        "from_address": provider.sender,
                        "to_address": contact.mobile_1,
                        "body": preview.body,
                        "template": schedule.body,
                        "parts": preview.count.parts,
                        "encoding": preview.count.encoding.value,
                        "provider": provider.name,
                        "needs_review": False,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            )
        still_claimed = await self._still_held(session, [row.id for row in claimed])
        outcomes = [item for item in outcomes if item["id"] in still_claimed]
        messages = [item for item in messages if item[0] in still_claimed]
        message_ids: list[int] = []
        if messages:
            inserted = await session.execute(
                insert(MESSAGE).returning(MESSAGE.c.id, sort_by_parameter_order=True),
                [values for _, _, values in messages],
            )
            message_ids = [row.id for row in inserted]
            await self._add_events(session, message_ids, MessageStatus.PENDING)
            await update_rows(
                session,
                DELIVERY,
                [
                    {"id": delivery_id, "message_id": message_id}
                    for (delivery_id, _, _), message_id in zip(
                        messages, message_ids, strict=True
                    )
                ],
                # _still_held set it in this transaction.
                unchanged=("updated_at",),
            )
        if outcomes:
            await update_rows(session, DELIVERY, outcomes)
            await add_counts(
                session,
                run_id,
                skipped=sum(
                    1 for item in outcomes if item["status"] is DeliveryStatus.SKIPPED
                ),
                failed=sum(
                    1 for item in outcomes if item["status"] is DeliveryStatus.FAILED
                ),
            )
        return [
            _Prepared(
                delivery_id,
                contact.id,
                OutgoingSms(message_id, values["to_address"], values["body"]),
            )
            for (delivery_id, contact, values), message_id in zip(
                messages, message_ids, strict=True
            )
        ]

    async def _still_held(self, session: AsyncSession, ids: list[int]) -> set[int]:
        """Return which of this worker's claims ``ids`` no one has settled since.

        A worker that stalled past its lease may find a claim settled by another
        process, which may send it; such a claim is dropped here. The write
        (row locks, or SQLite's write lock) holds the rest until the commit.
        """
        rows = await session.scalars(
            update(Delivery)
            .where(
                Delivery.id.in_(ids),
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.claimed_by == self.worker_id,
                Delivery.message_id.is_(None),
            )
            .values(updated_at=utc_now())
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        return set(rows.all())

    async def _send(self, prepared: _Prepared) -> _Result:
        if self._bucket is not None:
            await self._bucket.acquire()
        async with self._semaphore:
            try:
                reply = await self._sms.provider.send(prepared.sms)
            except ProviderError as error:
                return _Result(prepared, None, error)
        return _Result(prepared, reply, None)

    async def _give_back(self, run_id: int, unsent: Sequence[_Prepared]) -> None:
        """Return claims never handed to the provider and drop their messages.

        On a cancelled run they are skipped like the rest of its contacts;
        otherwise they are pending again for the next claim. A claim another
        process settled meanwhile is left as it is.
        """
        message_of = {item.delivery_id: item.sms.message_id for item in unsent}
        async with self._sessions() as session, session.begin():
            status = await session.scalar(
                select(ScheduleRun.status).where(ScheduleRun.id == run_id)
            )
            cancelled = status is ScheduleRunStatus.CANCELLED
            values: dict[str, Any] = (
                {
                    "status": DeliveryStatus.SKIPPED,
                    "error_code": CANCELLED,
                    "reason": CANCELLED_REASON,
                }
                if cancelled
                else {"status": DeliveryStatus.PENDING, "reason": ""}
            )
            returned = (
                await session.scalars(
                    update(Delivery)
                    .where(
                        Delivery.id.in_(list(message_of)),
                        Delivery.status == DeliveryStatus.SENDING,
                        Delivery.claimed_by == self.worker_id,
                    )
                    .values(
                        claimed_by=None, message_id=None, updated_at=utc_now(), **values
                    )
                    .returning(Delivery.id)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            messages = [message_of[delivery_id] for delivery_id in returned]
            if messages:
                await session.execute(
                    delete(MessageStatusEvent).where(
                        MessageStatusEvent.message_id.in_(messages)
                    )
                )
                await session.execute(
                    delete(Message).where(
                        Message.id.in_(messages),
                        Message.status == MessageStatus.PENDING,
                    )
                )
            if cancelled:
                await set_exact_counts(session, run_id)
        log.info("Run %s: %d unsent claims given back", run_id, len(returned))

    async def _record(self, run_id: int, results: Sequence[_Result]) -> RunProgress:
        """Record the provider's replies and return the run's progress after them."""
        successes = [result for result in results if result.reply is not None]
        failures = [result for result in results if result.error is not None]
        if failures:
            log.warning(
                "Run %s: %d of %d SMS failed, first: %s",
                run_id,
                len(failures),
                len(results),
                failures[0].error,
            )
        if self._batches is None:
            await self._record_in_session(run_id, successes, failures)
            return await self.progress(run_id)
        after = await self._batches.record_sent(
            run_id,
            [
                Accepted(
                    result.prepared.sms.message_id,
                    result.prepared.delivery_id,
                    result.prepared.contact_id,
                    result.reply.provider_message_id,
                    result.prepared.sms.body,
                )
                for result in successes
                if result.reply is not None
            ],
        )
        if not failures:
            return _progress_of(run_id, after)
        # Failures are few, and each may record an opt-out, so they take the
        # SQLAlchemy path.
        await self._record_in_session(run_id, [], failures)
        return await self.progress(run_id)

    async def _record_in_session(
        self,
        run_id: int,
        successes: Sequence[_Result],
        failures: Sequence[_Result],
    ) -> None:
        async with self._sessions() as session, session.begin():
            # A claim settled by another worker meanwhile is not overwritten.
            mine = (
                DELIVERY.c.status == DeliveryStatus.SENDING,
                DELIVERY.c.claimed_by == self.worker_id,
            )
            if successes:
                await self._record_sent(session, successes)
                await session.execute(
                    update(DELIVERY)
                    .where(
                        DELIVERY.c.id.in_(
                            [result.prepared.delivery_id for result in successes]
                        ),
                        *mine,
                    )
                    .values(
                        status=DeliveryStatus.SENT,
                        reason="",
                        error_code=None,
                        updated_at=utc_now(),
                    )
                )
            rows = []
            for result in failures:
                row = await self._record_failure(session, result)
                if row is not None:
                    rows.append(row)
            if rows:
                await update_rows(session, DELIVERY, rows, *mine)
            await add_counts(session, run_id, sent=len(successes), failed=len(failures))

    async def _record_sent(
        self, session: AsyncSession, successes: Sequence[_Result]
    ) -> None:
        """Move accepted messages to sent in a few set-based statements.

        This does for a batch what record_status and update_contact_last_columns
        do for one message. The messages are still pending, because no status
        callback can find a message before its provider id is stored here.
        """
        now = utc_now()
        # Set what every message shares in one statement, and only the
        # provider ids row by row: each row of an executemany costs its
        # parameter processing, datetimes above all.
        sent = (
            await session.scalars(
                update(MESSAGE)
                .where(
                    MESSAGE.c.id.in_(
                        [result.prepared.sms.message_id for result in successes]
                    ),
                    MESSAGE.c.status == MessageStatus.PENDING,
                )
                .values(status=MessageStatus.SENT, sent_at=now, updated_at=now)
                .returning(MESSAGE.c.id)
            )
        ).all()
        if sent:
            provider_ids = {
                result.prepared.sms.message_id: result.reply.provider_message_id
                for result in successes
                if result.reply is not None
            }
            await update_rows(
                session,
                MESSAGE,
                [
                    {"id": message_id, "provider_message_id": provider_ids[message_id]}
                    for message_id in sent
                ],
                unchanged=("updated_at",),
            )
            await self._add_events(session, sent, MessageStatus.SENT, now)
        contacts = [
            {
                "contact": result.prepared.contact_id,
                "at": now,
                "body": result.prepared.sms.body,
            }
            for result in successes
        ]
        contact = CONTACT.c
        at = bindparam("at", type_=contact.last_sms_sent_at.type)
        newer_message = or_(
            contact.last_message_at.is_(None), contact.last_message_at < at
        )
        newer_sms = or_(
            contact.last_sms_sent_at.is_(None), contact.last_sms_sent_at <= at
        )
        await session.execute(
            update(CONTACT)
            .where(contact.id == bindparam("contact"))
            .values(
                last_message_at=case(
                    (newer_message, at), else_=contact.last_message_at
                ),
                last_sms_sent_at=case((newer_sms, at), else_=contact.last_sms_sent_at),
                last_sms_sent_body=case(
                    (newer_sms, bindparam("body")), else_=contact.last_sms_sent_body
                ),
            ),
            contacts,
        )

    async def _add_events(
        self,
        session: AsyncSession,
        message_ids: Sequence[int],
        status: MessageStatus,
        at: datetime | None = None,
    ) -> None:
        """Add ``status`` to the history of each message, once per message."""
        rows = select(
            MESSAGE.c.id,
            literal(status, EVENT.c.status.type),
            literal(at or utc_now(), EVENT.c.created_at.type),
        ).where(MESSAGE.c.id.in_(list(message_ids)))
        await session.execute(
            _insert_for(self._sessions)(EVENT)
            .from_select(["message_id", "status", "created_at"], rows)
            .on_conflict_do_nothing(index_elements=["message_id", "status"])
        )

    async def _record_failure(
        self, session: AsyncSession, result: _Result
    ) -> dict[str, Any] | None:
        assert result.error is not None
        message = await session.get(Message, result.prepared.sms.message_id)
        if message is None:
            return None
        await record_status(
            session,
            message,
            MessageStatus.ERROR,
            error_code=result.error.code,
            error_text=result.error.text,
        )
        if result.error.code == OPTED_OUT_CODE:
            await self._sms.record_carrier_opt_out(session, message, result.error)
        return {
            "id": result.prepared.delivery_id,
            "status": DeliveryStatus.FAILED,
            "reason": result.error.text,
            "error_code": result.error.code,
        }

    async def try_finish(self, run_id: int) -> bool:
        """Mark the run finished once no delivery is pending or sending."""
        async with self._sessions() as session, session.begin():
            run = await session.get(ScheduleRun, run_id)
            if run is None or run.status is not ScheduleRunStatus.RUNNING:
                return False
            if not run.populated:
                return False
            open_count = await session.scalar(
                select(func.count()).where(
                    Delivery.run_id == run_id,
                    Delivery.status.in_(
                        [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
                    ),
                )
            )
            if open_count:
                return False
            counts = await exact_counts(session, run_id)
            finished = await session.execute(
                update(ScheduleRun)
                .where(
                    ScheduleRun.id == run_id,
                    ScheduleRun.status == ScheduleRunStatus.RUNNING,
                )
                .values(
                    status=ScheduleRunStatus.FINISHED,
                    finished_at=utc_now(),
                    updated_at=utc_now(),
                    **counts,
                )
            )
            if finished.rowcount:  # type: ignore[attr-defined]
                # A schedule with no next run is done once its last run is.
                await session.execute(
                    update(Schedule)
                    .where(
                        Schedule.id == run.schedule_id,
                        Schedule.status == ScheduleStatus.ACTIVE,
                        Schedule.next_run_at.is_(None),
                    )
                    .values(status=ScheduleStatus.FINISHED, updated_at=utc_now())
                )
        if not finished.rowcount:  # type: ignore[attr-defined]
            return False
        progress = await self.progress(run_id)
        log.info(
            "Run %s finished: %d sent, %d skipped, %d failed",
            run_id,
            progress.sent,
            progress.skipped,
            progress.failed,
        )
        self._hub.publish(_event(progress))
        return True

    async def progress(self, run_id: int) -> RunProgress:
        async with self._sessions() as session:
            run = await session.get(ScheduleRun, run_id)
            assert run is not None
            return _progress_of(
                run.id,
                RunRow(
                    run.schedule_id,
                    run.status,
                    run.populated,
                    run.total,
                    run.sent,
                    run.skipped,
                    run.failed,
                ),
            )

    async def recover(self, lease: timedelta) -> list[int]:
        """Settle deliveries left in sending by workers whose heartbeat is stale.

        Returns the ids of the runs touched, so the caller can resume them.
        """
        return await self._recovery.recover(lease)

    async def _fail_run(self, run_id: int, note: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(ScheduleRun)
                .where(ScheduleRun.id == run_id)
                .values(
                    status=ScheduleRunStatus.FAILED,
                    note=note,
                    finished_at=utc_now(),
                    updated_at=utc_now(),
                )
            )
        log.error("Run %s failed: %s", run_id, note)
        self._hub.publish(_event(await self.progress(run_id)))


async def _schedule_of(session: AsyncSession, run_id: int) -> Schedule:
    schedule = await session.scalar(
        select(Schedule).join(ScheduleRun).where(ScheduleRun.id == run_id)
    )
    if schedule is None:
        raise LookupError(f"run {run_id} has no schedule")
    return schedule


def _dialect(sessions: async_sessionmaker[AsyncSession]) -> str:
    bind = sessions.kw.get("bind")
    return bind.dialect.name if bind is not None else "sqlite"


def _insert_for(sessions: async_sessionmaker[AsyncSession]) -> Any:
    return postgresql_insert if _dialect(sessions) == "postgresql" else sqlite_insert


def _progress_of(run_id: int, row: RunRow) -> RunProgress:
    # The counts move with every batch, so the rest is what is open.
    done = row.sent + row.skipped + row.failed
    pending = max(0, row.total - done) if row.populated else row.total
    return RunProgress(
        run_id,
        row.schedule_id,
        row.status,
        row.total,
        row.sent,
        row.skipped,
        row.failed,
        pending,
    )


def _event(progress: RunProgress) -> ScheduleRunProgressed:
    return ScheduleRunProgressed(
        run_id=progress.run_id,
        schedule_id=progress.schedule_id,
        status=progress.status.value,
        total=progress.total,
        sent=progress.sent,
        skipped=progress.skipped,
        failed=progress.failed,
    )
