"""The scheduler: schedules in our tables, woken by APScheduler, sent by the engine.

Our tables are the truth; APScheduler's AsyncIOScheduler with its in-memory job
store is only the alarm clock. On start the service registers itself as a
worker, settles deliveries left by crashed workers, and adds one job per active
schedule at its ``next_run_at``. A poll job picks up schedules made by other
processes (the command line) and runs left running by crashed ones. Each fire
creates a run under the unique (schedule, planned time) pair, so two processes
that fire together make one run, and both may then send its deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.config import Settings
from logsteer_tui.db.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    MessageType,
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
    SchedulerWorker,
    ScheduleStatus,
    Template,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import NotFoundError
from logsteer_tui.services.events import EventHub, ScheduleChanged
from logsteer_tui.services.schedules.checks import CANCELLED, CANCELLED_REASON
from logsteer_tui.services.schedules.engine import RunEngine, RunProgress
from logsteer_tui.services.schedules.orphans import (
    PLAN_AGAIN,
    fail_for_segment,
    fail_stranded,
    segment_gone,
)
from logsteer_tui.services.schedules.planning import (
    NOT_SAVED,
    ScheduleError,
    SchedulePlan,
    ScheduleRequest,
    check_request,
    check_template,
    first_fire_time,
    recurring_start,
)
from logsteer_tui.services.schedules.preview import SchedulePreview, build_preview
from logsteer_tui.services.schedules.recurrence import parse_rule
from logsteer_tui.services.schedules.rows import set_exact_counts
from logsteer_tui.services.schedules.timing import parse_send_time
from logsteer_tui.services.segments import SegmentService, find_segment, segment_hint
from logsteer_tui.services.sms import SmsService

log = logging.getLogger(__name__)

# Due times of one schedule looked at in one fire; older ones are not recorded.
MAX_DUE_TIMES = 50
# How long stop() lets running batches finish before it cancels them.
STOP_TIMEOUT_SECONDS = 10.0
RUN_NOT_SENT = "Run not sent"
TEMPLATE_NOT_SAVED = "Template not saved"


@dataclass(frozen=True)
class ScheduleSummary:
    """One schedule as the list shows it, with counts over all its runs."""

    id: int
    name: str
    status: ScheduleStatus
    message_type: MessageType
    segment_name: str
    contact_count: int | None
    rule: str
    next_run_at: datetime | None
    sent: int
    skipped: int
    failed: int
    runs: int
    running: RunProgress | None
    body: str

    @property
    def shown_status(self) -> str:
        """The status word of lists: "running" while a run sends, else the status."""
        return "running" if self.running is not None else self.status.value


class SchedulerService:
    """Plans, stores and runs scheduled sends; start() in the running event loop."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: EventHub,
        settings: Settings,
        sms: SmsService,
        segments: SegmentService,
        lease_seconds: float = 30.0,
        poll_seconds: float = 15.0,
        rate: float | None = None,
        concurrency: int = 8,
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._sms = sms
        self.segments = segments
        self.zone: ZoneInfo = settings.general.zone
        self.default_grace = timedelta(minutes=settings.schedules.grace_minutes)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.worker_id = secrets.token_hex(8)
        self.engine = RunEngine(
            sessions,
            hub,
            sms,
            segments,
            self.worker_id,
            rate if rate is not None else settings.sending.sms_per_second,
            concurrency=concurrency,
            lease=self.lease,
        )
        self._scheduler: AsyncIOScheduler | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}

    # Planning and editing

    async def plan(
        self, request: ScheduleRequest, now: datetime | None = None
    ) -> SchedulePlan:
        async with self._sessions() as session:
            return await check_request(
                session, self.segments, request, now or utc_now(), self.default_grace
            )

    async def preview(self, plan: SchedulePlan) -> SchedulePreview:
        return await build_preview(
            self._sessions,
            self._sms,
            plan.target,
            plan.body,
            plan.request.transliterate,
        )

    async def create(self, plans: Sequence[SchedulePlan]) -> list[int]:
        """Store every plan in one transaction and wake the scheduler for them."""
        async with self._sessions() as session, session.begin():
            rows = [plan.to_row() for plan in plans]
            session.add_all(rows)
            await session.flush()
            ids = [row.id for row in rows]
        for row in rows:
            log.info(
                "Created schedule %s for %s at %s (%s)",
                row.id,
                row.segment_name or f"{len(row.contact_ids or [])} contacts",
                row.next_run_at,
                row.rule or "once",
            )
            self._changed(row)
        return ids

    async def edit(
        self,
        schedule_id: int,
        body: str | None = None,
        at: str | None = None,
        every: str | None = None,
        message_type: MessageType | None = None,
        segment: str | None = None,
        transliterate: bool | None = None,
    ) -> None:
        """Change a schedule that has not run yet; None keeps a value as it is.

        A ``segment`` name makes the schedule send to that segment, also when
        it was made for marked contacts. Raises ScheduleError saying why when
        the schedule has started, is paused, finished or cancelled, or when
        the segment does not exist.
        """
        async with self._sessions() as session, session.begin():
            schedule = await self._get(session, schedule_id)
            await self._require_editable(session, schedule, NOT_SAVED)
            if message_type is not None:
                schedule.message_type = message_type
            if transliterate is not None:
                schedule.transliterate = transliterate
            if segment is not None:
                found = await find_segment(session, segment)
                if found is None:
                    hint = await segment_hint(session, segment)
                    raise ScheduleError(
                        f"Schedule {schedule_id}: segment {segment!r} not found; "
                        f"{hint}",
                        NOT_SAVED,
                    )
                schedule.segment_id = found.id
                schedule.segment_name = found.name
                schedule.contact_ids = None
            if body is not None:
                if not body.strip():
                    raise ScheduleError(
                        f"Schedule {schedule_id}: the new text is empty. Write the "
                        "message.",
                        NOT_SAVED,
                    )
                await check_template(session, body)
                schedule.body = body
                schedule.template_id = None
            if at is not None or every is not None:
                zone = ZoneInfo(schedule.timezone)
                first = (
                    parse_send_time(at, zone) if at is not None else schedule.starts_at
                )
                rule = every if every is not None else schedule.rule
                recurrence = parse_rule(rule, recurring_start(first), zone)
                if recurrence is not None:
                    first = first_fire_time(recurrence, recurring_start(first), zone)
                schedule.starts_at = first
                schedule.next_run_at = first
                schedule.rule = recurrence.rule if recurrence else ""
            schedule.updated_at = utc_now()
        log.info("Edited schedule %s", schedule_id)
        self._changed(schedule)

    async def editable(self, schedule_id: int) -> Schedule:
        """Return the schedule if it can still be edited; else raise ScheduleError."""
        async with self._sessions() as session:
            schedule = await self._get(session, schedule_id)
            await self._require_editable(session, schedule, "Schedule not editable")
            return schedule

    async def _require_editable(
        self, session: AsyncSession, schedule: Schedule, title: str
    ) -> None:
        if schedule.status in (ScheduleStatus.FINISHED, ScheduleStatus.CANCELLED):
            # Neither can be cancelled, so the advice below would not work.
            raise ScheduleError(
                f"Schedule {schedule.id} is {schedule.status.value}, so it cannot "
                "be edited. Plan a new one.",
                title,
            )
        runs = await session.scalar(
            select(func.count()).where(ScheduleRun.schedule_id == schedule.id)
        )
        if runs:
            raise ScheduleError(
                f"Schedule {schedule.id} has already started ({runs} "
                f"run{'s' if runs != 1 else ''}), so it cannot be edited. Cancel "
                "it and plan a new one.",
                title,
            )
        if schedule.status is ScheduleStatus.PAUSED:
            raise ScheduleError(
                f"Schedule {schedule.id} is paused, so it cannot be edited. "
                "Resume it first, then edit it.",
                title,
            )
        if schedule.status is not ScheduleStatus.ACTIVE:
            raise ScheduleError(
                f"Schedule {schedule.id} is {schedule.status.value}, so it cannot "
                "be edited. Plan a new one.",
                title,
            )
        if await segment_gone(session, schedule):
            raise ScheduleError(
                f"The segment {schedule.segment_name!r} of schedule {schedule.id} "
                f"was deleted, so the schedule cannot be edited. {PLAN_AGAIN}",
                title,
            )

    async def pause(self, schedule_id: int) -> None:
        """Stop firing the schedule and stop sending its running runs.

        A run sending in this process stops at once; one sending in another
        process stops when that process records its next batch.
        """
        async with self._sessions() as session, session.begin():
            schedule = await self._get(session, schedule_id)
            self._require(schedule, {ScheduleStatus.ACTIVE}, "paused")
            schedule.status = ScheduleStatus.PAUSED
            runs = await self._set_runs(
                session,
                schedule_id,
                {ScheduleRunStatus.RUNNING},
                ScheduleRunStatus.PAUSED,
            )
        for run_id in runs:
            self.engine.halt(run_id, "the run is paused")
        log.info("Paused schedule %s", schedule_id)
        self._changed(schedule)

    async def resume(self, schedule_id: int) -> None:
        """Fire the schedule again and continue its paused runs."""
        async with self._sessions() as session, session.begin():
            schedule = await self._get(session, schedule_id)
            self._require(schedule, {ScheduleStatus.PAUSED}, "resumed")
            if await segment_gone(session, schedule):
                raise ScheduleError(
                    f"The segment {schedule.segment_name!r} of schedule "
                    f"{schedule_id} was deleted, so the schedule cannot be "
                    f"resumed. {PLAN_AGAIN}",
                    "Schedule not resumed",
                )
            runs = await self._set_runs(
                session,
                schedule_id,
                {ScheduleRunStatus.PAUSED},
                ScheduleRunStatus.RUNNING,
            )
            schedule.status = (
                ScheduleStatus.ACTIVE
                if schedule.next_run_at is not None or runs
                else ScheduleStatus.FINISHED
            )
        if runs:
            log.info(
                "Resumed schedule %s and its paused runs %s",
                schedule_id,
                ", ".join(str(run_id) for run_id in runs),
            )
        else:
            log.info("Resumed schedule %s", schedule_id)
        self._changed(schedule)
        for run_id in runs:
            self._start_run(run_id)

    async def cancel(self, schedule_id: int) -> None:
        """Stop the schedule for good; contacts not yet sent to are skipped."""
        async with self._sessions() as session, session.begin():
            schedule = await self._get(session, schedule_id)
            self._require(
                schedule,
                {
                    ScheduleStatus.ACTIVE,
                    ScheduleStatus.PAUSED,
                    ScheduleStatus.MISSED,
                    ScheduleStatus.FAILED,
                },
                "cancelled",
            )
            schedule.status = ScheduleStatus.CANCELLED
            schedule.next_run_at = None
            runs = await self._set_runs(
                session,
                schedule_id,
                {ScheduleRunStatus.RUNNING, ScheduleRunStatus.PAUSED},
                ScheduleRunStatus.CANCELLED,
            )
            if runs:
                await session.execute(
                    update(Delivery)
                    .where(
                        Delivery.run_id.in_(runs),
                        Delivery.status == DeliveryStatus.PENDING,
                    )
                    .values(
                        status=DeliveryStatus.SKIPPED,
                        error_code=CANCELLED,
                        reason=CANCELLED_REASON,
                        updated_at=utc_now(),
                    )
                )
                for run_id in runs:
                    await set_exact_counts(session, run_id)
        for run_id in runs:
            self.engine.halt(run_id, "the run is cancelled")
        log.info("Cancelled schedule %s", schedule_id)
        self._changed(schedule)

    async def send_now(self, run_id: int, wait: bool = False) -> RunProgress:
        """Run a missed or failed run now, or resend its interrupted deliveries.

        Interrupted deliveries may have reached the contact already; the caller
        asks the operator to check the provider first. With ``wait`` the run is
        sent in this call, otherwise in the background.
        """
        async with self._sessions() as session, session.begin():
            run = await session.get(ScheduleRun, run_id)
            if run is None:
                raise NotFoundError(
                    f"Run {run_id} not found; list runs with "
                    "`logsteer schedule history SCHEDULE_ID`."
                )
            schedule = await self._get(session, run.schedule_id)
            if await segment_gone(session, schedule):
                raise ScheduleError(
                    f"The segment {schedule.segment_name!r} of schedule "
                    f"{schedule.id} was deleted, so run {run_id} cannot be sent. "
                    f"{PLAN_AGAIN}",
                    RUN_NOT_SENT,
                )
            if schedule.status is ScheduleStatus.CANCELLED:
                raise ScheduleError(
                    f"Schedule {schedule.id} is cancelled, so run {run_id} cannot "
                    "be sent. Create a new schedule.",
                    RUN_NOT_SENT,
                )
            requeued = await session.execute(
                update(Delivery)
                .where(
                    Delivery.run_id == run_id,
                    Delivery.status == DeliveryStatus.INTERRUPTED,
                )
                .values(
                    status=DeliveryStatus.PENDING,
                    reason="",
                    error_code=None,
                    message_id=None,
                    claimed_by=None,
                    updated_at=utc_now(),
                )
            )
            open_count = await session.scalar(
                select(func.count()).where(
                    Delivery.run_id == run_id,
                    Delivery.status == DeliveryStatus.PENDING,
                )
            )
            if run.status is ScheduleRunStatus.RUNNING:
                pass
            elif run.status in (ScheduleRunStatus.MISSED, ScheduleRunStatus.FAILED):
                run.status = ScheduleRunStatus.RUNNING
                run.note = ""
                run.finished_at = None
            elif open_count or not run.populated:
                run.status = ScheduleRunStatus.RUNNING
                run.finished_at = None
            else:
                raise ScheduleError(
                    f"Run {run_id} is {run.status.value} and has nothing left to send.",
                    RUN_NOT_SENT,
                )
            run.started_at = run.started_at or utc_now()
            if requeued.rowcount:  # type: ignore[attr-defined]
                run.failed = max(0, run.failed - requeued.rowcount)  # type: ignore[attr-defined]
            if schedule.status in (ScheduleStatus.MISSED, ScheduleStatus.FINISHED):
                schedule.status = ScheduleStatus.ACTIVE
        log.info("Sending run %s now", run_id)
        self._changed(schedule)
        if wait or self._scheduler is None:
            await self._drive_here(run_id)
        else:
            self._start_run(run_id)
        return await self.engine.progress(run_id)

    # Reading

    async def summaries(self) -> list[ScheduleSummary]:
        totals = (
            select(
                ScheduleRun.schedule_id,
                func.coalesce(func.sum(ScheduleRun.sent), 0).label("sent"),
                func.coalesce(func.sum(ScheduleRun.skipped), 0).label("skipped"),
                func.coalesce(func.sum(ScheduleRun.failed), 0).label("failed"),
                func.count(ScheduleRun.id).label("runs"),
            )
            .group_by(ScheduleRun.schedule_id)
            .subquery()
        )
        query = (
            select(Schedule, totals)
            .outerjoin(totals, totals.c.schedule_id == Schedule.id)
            .order_by(Schedule.id.desc())
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
            running_runs = {
                run.schedule_id: run.id
                for run in await session.scalars(
                    select(ScheduleRun).where(
                        ScheduleRun.status == ScheduleRunStatus.RUNNING
                    )
                )
            }
        summaries = []
        for row in rows:
            schedule: Schedule = row[0]
            running_id = running_runs.get(schedule.id)
            summaries.append(
                ScheduleSummary(
                    id=schedule.id,
                    name=schedule.name,
                    status=schedule.status,
                    message_type=schedule.message_type,
                    segment_name=schedule.segment_name,
                    contact_count=(
                        len(schedule.contact_ids)
                        if schedule.contact_ids is not None
                        else None
                    ),
                    rule=schedule.rule,
                    next_run_at=schedule.next_run_at,
                    sent=int(row.sent or 0),
                    skipped=int(row.skipped or 0),
                    failed=int(row.failed or 0),
                    runs=int(row.runs or 0),
                    running=(
                        await self.engine.progress(running_id)
                        if running_id is not None
                        else None
                    ),
                    body=schedule.body,
                )
            )
        return summaries

    async def get(self, schedule_id: int) -> Schedule:
        async with self._sessions() as session:
            return await self._get(session, schedule_id)

    async def history(self, schedule_id: int) -> list[ScheduleRun]:
        """Return every run of the schedule, newest first."""
        async with self._sessions() as session:
            await self._get(session, schedule_id)
            return list(
                (
                    await session.scalars(
                        select(ScheduleRun)
                        .where(ScheduleRun.schedule_id == schedule_id)
                        .order_by(ScheduleRun.planned_at.desc(), ScheduleRun.id.desc())
                    )
                ).all()
            )

    async def deliveries(
        self,
        run_id: int,
        statuses: Sequence[DeliveryStatus] | None = None,
        limit: int = 1000,
    ) -> list[Delivery]:
        query = select(Delivery).where(Delivery.run_id == run_id)
        if statuses:
            query = query.where(Delivery.status.in_(list(statuses)))
        async with self._sessions() as session:
            return list(
                (await session.scalars(query.order_by(Delivery.id).limit(limit))).all()
            )

    # Templates

    async def save_template(
        self, name: str, body: str, channel: Channel = Channel.SMS
    ) -> Template:
        clean = name.strip()
        if not clean:
            raise ScheduleError(
                "The template name is empty. Give the template a name.",
                TEMPLATE_NOT_SAVED,
            )
        if not body.strip():
            raise ScheduleError(
                f"The text of template {clean!r} is empty. Write the template.",
                TEMPLATE_NOT_SAVED,
            )
        async with self._sessions() as session, session.begin():
            await check_template(session, body)
            template = await session.scalar(
                select(Template).where(Template.name == clean)
            )
            if template is None:
                template = Template(name=clean, channel=channel, body=body)
                session.add(template)
            else:
                template.body = body
                template.channel = channel
                template.updated_at = utc_now()
        log.info("Saved template %r", clean)
        return template

    async def list_templates(self) -> list[Template]:
        async with self._sessions() as session:
            return list(
                (await session.scalars(select(Template).order_by(Template.name))).all()
            )

    # The long-lived part

    async def start(self) -> None:
        """Register this worker, settle crashed sends and wake every schedule."""
        await self._heartbeat()
        scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1}
        )
        scheduler.start()
        self._scheduler = scheduler
        scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=max(0.2, self.lease.total_seconds() / 3)),
            id="heartbeat",
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self.poll,
            IntervalTrigger(seconds=self.poll_seconds),
            id="poll",
            misfire_grace_time=None,
        )
        await self.poll()
        log.info("Scheduler %s started", self.worker_id)

    async def stop(self) -> None:
        """Stop firing, let running batches finish briefly, then leave."""
        if self._scheduler is None and not self._tasks:
            return  # never started, as in most command-line commands
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self.engine.stopping = True
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        # Removing the worker row lets another process settle its sends at once.
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(SchedulerWorker).where(SchedulerWorker.id == self.worker_id)
            )
        log.info("Scheduler %s stopped", self.worker_id)

    async def poll(self) -> None:
        """Settle crashed sends, resume running runs and sync the jobs."""
        for run_id in await self.engine.recover(self.lease):
            log.info("Resuming run %s after a stopped worker", run_id)
        await self._fail_stranded()
        async with self._sessions() as session:
            schedules = list(
                (
                    await session.scalars(
                        select(Schedule).where(
                            Schedule.status == ScheduleStatus.ACTIVE,
                            Schedule.next_run_at.is_not(None),
                        )
                    )
                ).all()
            )
            running = list(
                (
                    await session.scalars(
                        select(ScheduleRun.id).where(
                            ScheduleRun.status == ScheduleRunStatus.RUNNING
                        )
                    )
                ).all()
            )
        self._sync_jobs(schedules)
        for run_id in running:
            self._start_run(run_id)

    async def _fail_stranded(self) -> None:
        async with self._sessions() as session, session.begin():
            stranded = await fail_stranded(session)
        for schedule in stranded:
            self._changed(schedule)

    def running_tasks(self) -> dict[int, asyncio.Task[None]]:
        return dict(self._tasks)

    async def fire(self, schedule_id: int, now: datetime | None = None) -> list[int]:
        """Create the runs due for the schedule and start the ones to send.

        Due times older than the grace window become missed runs; the newest due
        time within it runs late. Returns the ids of the runs started.
        """
        now = now or utc_now()
        async with self._sessions() as session, session.begin():
            schedule = await session.get(Schedule, schedule_id, with_for_update=True)
            if (
                schedule is None
                or schedule.status is not ScheduleStatus.ACTIVE
                or schedule.next_run_at is None
                or schedule.next_run_at > now + timedelta(seconds=1)
            ):
                return []
            if await segment_gone(session, schedule):
                await fail_for_segment(session, schedule, now)
                to_start: list[int] = []
            else:
                to_start = await self._insert_due_runs(session, schedule, now)
        self._changed(schedule)
        for run_id in to_start:
            self._start_run(run_id)
        return to_start

    async def _insert_due_runs(
        self, session: AsyncSession, schedule: Schedule, now: datetime
    ) -> list[int]:
        """Insert the runs due for ``schedule``; return the ids of those to send."""
        due, following = self._due_times(schedule, now)
        grace = timedelta(seconds=schedule.grace_seconds)
        to_start: list[int] = []
        for index, planned in enumerate(due):
            newest = index == len(due) - 1
            missed = now - planned > grace or not newest
            run_id = await self._insert_run(session, schedule, planned, missed, now)
            if run_id is not None and not missed:
                to_start.append(run_id)
        schedule.next_run_at = following
        if following is None and not to_start:
            schedule.status = ScheduleStatus.MISSED
        return to_start

    async def _fail_if_segment_gone(self, run_id: int) -> None:
        """Fail the schedule of a run that failed because its segment is gone."""
        async with self._sessions() as session, session.begin():
            run = await session.get(ScheduleRun, run_id)
            if run is None or run.status is not ScheduleRunStatus.FAILED:
                return
            schedule = await session.get(
                Schedule, run.schedule_id, with_for_update=True
            )
            if (
                schedule is None
                or schedule.status is not ScheduleStatus.ACTIVE
                or not await segment_gone(session, schedule)
            ):
                return
            await fail_for_segment(session, schedule, utc_now())
        self._changed(schedule)

    def _due_times(
        self, schedule: Schedule, now: datetime
    ) -> tuple[list[datetime], datetime | None]:
        assert schedule.next_run_at is not None
        zone = ZoneInfo(schedule.timezone)
        recurrence = parse_rule(schedule.rule, schedule.starts_at, zone)
        due = [schedule.next_run_at]
        if recurrence is None:
            return due, None
        following = recurrence.next_after(due[-1], zone)
        while following <= now:
            due.append(following)
            following = recurrence.next_after(following, zone)
            if len(due) > MAX_DUE_TIMES:
                due.pop(0)
        return due, following

    async def _insert_run(
        self,
        session: AsyncSession,
        schedule: Schedule,
        planned: datetime,
        missed: bool,
        now: datetime,
    ) -> int | None:
        existing = await session.scalar(
            select(ScheduleRun).where(
                ScheduleRun.schedule_id == schedule.id,
                ScheduleRun.planned_at == planned,
            )
        )
        if existing is not None:
            # Another process fired the same time first; help it send.
            if existing.status is ScheduleRunStatus.RUNNING:
                return existing.id
            return None
        planned_local = planned.astimezone(ZoneInfo(schedule.timezone))
        run = ScheduleRun(
            schedule_id=schedule.id,
            planned_at=planned,
            status=ScheduleRunStatus.MISSED if missed else ScheduleRunStatus.RUNNING,
            started_at=None if missed else now,
            note=(
                f"Missed: nothing was running at "
                f"{planned_local:%Y-%m-%d %H:%M %Z} and the grace window of "
                f"{schedule.grace_seconds // 60} minutes passed. "
                "Send it with `logsteer schedule send-now RUN` or from the "
                "Schedules screen."
                if missed
                else ""
            ),
        )
        try:
            async with session.begin_nested():
                session.add(run)
                await session.flush()
        except IntegrityError:
            # The unique (schedule, planned time) pair: another process won.
            return None
        if missed:
            log.warning("Schedule %s missed its run at %s", schedule.id, planned)
        else:
            log.info(
                "Schedule %s fired run %s planned at %s", schedule.id, run.id, planned
            )
        return run.id

    def _start_run(self, run_id: int) -> None:
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            return
        if self.engine.stopping:
            return
        self._tasks[run_id] = asyncio.get_running_loop().create_task(
            self._drive(run_id), name=f"schedule-run-{run_id}"
        )

    async def _drive(self, run_id: int) -> None:
        try:
            await self.engine.run(run_id)
            await self._fail_if_segment_gone(run_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Deliveries stay pending or sending; the next poll picks them up.
            log.exception("Run %s stopped with an error", run_id)
        finally:
            self._tasks.pop(run_id, None)

    async def _drive_here(self, run_id: int) -> None:
        """Send a run in this call, with heartbeats, when no scheduler runs."""
        await self._heartbeat()
        beating = asyncio.get_running_loop().create_task(self._beat_until_done())
        try:
            await self.engine.run(run_id)
            await self._fail_if_segment_gone(run_id)
        finally:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
            if self._scheduler is None:
                # A started scheduler keeps beating under the same worker row.
                async with self._sessions() as session, session.begin():
                    await session.execute(
                        delete(SchedulerWorker).where(
                            SchedulerWorker.id == self.worker_id
                        )
                    )

    async def _beat_until_done(self) -> None:
        interval = max(0.2, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            await self._heartbeat()

    async def _heartbeat(self) -> None:
        # Read before the time written, so the engine's view errs on the safe side.
        started = time.monotonic()
        async with self._sessions() as session, session.begin():
            worker = await session.get(SchedulerWorker, self.worker_id)
            if worker is None:
                session.add(
                    SchedulerWorker(
                        id=self.worker_id,
                        host=socket.gethostname()[:200],
                        pid=os.getpid(),
                    )
                )
            else:
                worker.heartbeat_at = utc_now()
            # Rows of workers gone for many leases only clutter the table.
            await session.execute(
                delete(SchedulerWorker).where(
                    SchedulerWorker.heartbeat_at < utc_now() - 100 * self.lease
                )
            )
        self.engine.beat(started)

    def _sync_jobs(self, schedules: Sequence[Schedule]) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        expected_jobs = {f"schedule-{s.id}": s for s in schedules if s.next_run_at}
        for job in scheduler.get_jobs():
            if job.id.startswith("schedule-") and job.id not in expected_jobs:
                job.remove()
        for job_id, schedule in expected_jobs.items():
            run_date = schedule.next_run_at
            job = scheduler.get_job(job_id)
            if job is not None and _same_date(job.trigger, run_date):
                continue
            scheduler.add_job(
                self.fire,
                DateTrigger(run_date=run_date),
                args=[schedule.id],
                id=job_id,
                replace_existing=True,
                misfire_grace_time=None,
            )

    def _changed(self, schedule: Schedule) -> None:
        self._hub.publish(ScheduleChanged(schedule.id))
        if self._scheduler is None:
            return
        if schedule.status is ScheduleStatus.ACTIVE and schedule.next_run_at:
            self._sync_one(schedule)
        else:
            job = self._scheduler.get_job(f"schedule-{schedule.id}")
            if job is not None:
                job.remove()

    def _sync_one(self, schedule: Schedule) -> None:
        assert self._scheduler is not None
        self._scheduler.add_job(
            self.fire,
            DateTrigger(run_date=schedule.next_run_at),
            args=[schedule.id],
            id=f"schedule-{schedule.id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _get(self, session: AsyncSession, schedule_id: int) -> Schedule:
        schedule = await session.get(Schedule, schedule_id)
        if schedule is None:
            raise NotFoundError(
                f"Schedule {schedule_id} not found; list schedules with "
                "`logsteer schedule list`."
            )
        return schedule

    def _require(
        self, schedule: Schedule, allowed: set[ScheduleStatus], action: str
    ) -> None:
        """Raise ScheduleError unless ``schedule`` is in ``allowed`` for ``action``.

        ``action`` is a past participle, such as "paused".
        """
        if schedule.status not in allowed:
            states = _or_list(sorted(status.value for status in allowed))
            raise ScheduleError(
                f"Schedule {schedule.id} is {schedule.status.value}, so it cannot "
                f"be {action}. Only {states} schedules can be {action}.",
                f"Schedule not {action}",
            )

    async def _set_runs(
        self,
        session: AsyncSession,
        schedule_id: int,
        current: set[ScheduleRunStatus],
        new: ScheduleRunStatus,
    ) -> list[int]:
        ids = list(
            (
                await session.scalars(
                    select(ScheduleRun.id).where(
                        ScheduleRun.schedule_id == schedule_id,
                        ScheduleRun.status.in_(list(current)),
                    )
                )
            ).all()
        )
        if ids:
            values: dict[str, Any] = {"status": new, "updated_at": utc_now()}
            if new is ScheduleRunStatus.CANCELLED:
                values["finished_at"] = utc_now()
            await session.execute(
                update(ScheduleRun).where(ScheduleRun.id.in_(ids)).values(**values)
            )
        return ids


def _same_date(trigger: Any, run_date: datetime | None) -> bool:
    return isinstance(trigger, DateTrigger) and trigger.run_date == run_date


def _or_list(words: Sequence[str]) -> str:
    """Join ``words`` as "a, b or c"."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"
