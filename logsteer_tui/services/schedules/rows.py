"""Set-based writes that the run engine and recovery share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from logsteer_tui.db.models import (
    Contact,
    Delivery,
    DeliveryStatus,
    Message,
    MessageStatusEvent,
    ScheduleRun,
)
from logsteer_tui.db.types import utc_now

# Core tables for batch updates: an ORM update given a list of rows becomes a
# bulk update by primary key, which is slower and takes no extra conditions.
CONTACT = cast(Table, Contact.__table__)
EVENT = cast(Table, MessageStatusEvent.__table__)
DELIVERY = cast(Table, Delivery.__table__)
MESSAGE = cast(Table, Message.__table__)


async def update_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *conditions: ColumnElement[bool],
    unchanged: Sequence[str] = (),
) -> None:
    """Update each row by its "id" with one executemany statement.

    Every row has the same keys; ``conditions`` are added to the WHERE clause.
    The ``unchanged`` columns keep their values instead of taking their
    onupdate defaults.
    """
    keys = [key for key in rows[0] if key != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), *conditions)
        .values(
            {
                **{key: bindparam(f"new_{key}") for key in keys},
                **{name: table.c[name] for name in unchanged},
            }
        )
    )
    await session.execute(
        statement,
        [
            {"row_id": row["id"], **{f"new_{key}": row[key] for key in keys}}
            for row in rows
        ],
    )


async def add_counts(
    session: AsyncSession, run_id: int, sent: int = 0, skipped: int = 0, failed: int = 0
) -> None:
    if not (sent or skipped or failed):
        return
    await session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.id == run_id)
        .values(
            sent=ScheduleRun.sent + sent,
            skipped=ScheduleRun.skipped + skipped,
            failed=ScheduleRun.failed + failed,
            updated_at=utc_now(),
        )
    )


async def set_exact_counts(session: AsyncSession, run_id: int) -> None:
    """Set the run's counters from its deliveries, as after a cancel."""
    counts = await exact_counts(session, run_id)
    await session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.id == run_id)
        .values(updated_at=utc_now(), **counts)
    )


async def exact_counts(session: AsyncSession, run_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.run_id == run_id)
        .group_by(Delivery.status)
    )
    by_status = {status: int(count) for status, count in rows.all()}
    return {
        "total": sum(by_status.values()),
        "sent": by_status.get(DeliveryStatus.SENT, 0),
        "skipped": by_status.get(DeliveryStatus.SKIPPED, 0),
        "failed": by_status.get(DeliveryStatus.FAILED, 0)
        + by_status.get(DeliveryStatus.INTERRUPTED, 0),
    }


def same(column: Any, value: Any) -> ColumnElement[bool]:
    """Compare ``column`` with ``value``, reading None as IS NULL."""
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]
