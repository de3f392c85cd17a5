"""Schedules whose segment is gone, so they can never send again.

SegmentService.delete refuses a segment that schedules use, but a segment can
still go in SQL or by a version before that check. Such a schedule gets a
failed run whose note gives the reason, and the status failed, instead of
staying active with no next run.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from logsteer_tui.db.models import (
    Schedule,
    ScheduleRun,
    ScheduleRunStatus,
    ScheduleStatus,
    Segment,
)
from logsteer_tui.db.types import utc_now

log = logging.getLogger(__name__)

PLAN_AGAIN = "Cancel the schedule and plan it again for another segment."


async def segment_gone(session: AsyncSession, schedule: Schedule) -> bool:
    """Return whether ``schedule`` sends to a segment that no longer exists.

    A schedule for marked contacts needs no segment. A deleted segment leaves
    segment_id NULL (ON DELETE SET NULL) or, where foreign keys are not
    enforced, pointing at no row.
    """
    if schedule.contact_ids is not None:
        return False
    if schedule.segment_id is None:
        return True
    return await session.get(Segment, schedule.segment_id) is None


async def fail_for_segment(
    session: AsyncSession, schedule: Schedule, now: datetime
) -> None:
    """Record a failed run saying the segment is gone, and fail the schedule."""
    note = (
        f"The segment {schedule.segment_name!r} of schedule {schedule.id} was "
        f"deleted, so there is nobody to send to. {PLAN_AGAIN}"
    )
    if schedule.next_run_at is not None:
        run = ScheduleRun(
            schedule_id=schedule.id,
            planned_at=schedule.next_run_at,
            status=ScheduleRunStatus.FAILED,
            started_at=now,
            finished_at=now,
            note=note,
        )
        try:
            async with session.begin_nested():
                session.add(run)
                await session.flush()
        except IntegrityError:
            # Another process recorded this planned time first.
            pass
    schedule.status = ScheduleStatus.FAILED
    schedule.next_run_at = None
    schedule.updated_at = utc_now()
    log.error("Schedule %s failed: %s", schedule.id, note)


async def fail_stranded(session: AsyncSession) -> list[Schedule]:
    """Fail active schedules with no next run, no open run and no segment.

    Before fire() checked the segment, such a schedule stayed active after its
    run failed for the deleted segment, and it would never fire again. Returns
    the schedules failed, for the caller to announce once ``session`` commits.
    """
    candidates = await session.scalars(
        select(Schedule).where(
            Schedule.status == ScheduleStatus.ACTIVE,
            Schedule.next_run_at.is_(None),
        )
    )
    stranded = []
    for schedule in candidates.all():
        open_runs = await session.scalar(
            select(func.count()).where(
                ScheduleRun.schedule_id == schedule.id,
                ScheduleRun.status.in_(
                    [ScheduleRunStatus.RUNNING, ScheduleRunStatus.PAUSED]
                ),
            )
        )
        if not open_runs and await segment_gone(session, schedule):
            schedule.status = ScheduleStatus.FAILED
            schedule.updated_at = utc_now()
            stranded.append(schedule)
            log.warning(
                "Schedule %s failed: its segment %r was deleted",
                schedule.id,
                schedule.segment_name,
            )
    return stranded
