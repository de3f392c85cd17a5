"""The deliveries of one run with the name and Mobile 1 of each contact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.db.models import Contact, Delivery, DeliveryStatus


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery as the list of a run shows it."""

    contact_id: int | None
    """None when the contact was deleted after the run made the delivery."""

    name: str
    mobile_1: str | None
    status: DeliveryStatus
    reason: str


async def run_deliveries(
    sessions: async_sessionmaker[AsyncSession],
    run_id: int,
    statuses: Sequence[DeliveryStatus],
    limit: int,
) -> list[DeliveryRow]:
    """Return up to ``limit`` deliveries of the run in ``statuses``, oldest first."""
    query = (
        select(
            Delivery.contact_id,
            Contact.first_name,
            Contact.last_name,
            Contact.mobile_1,
            Delivery.status,
            Delivery.reason,
        )
        .outerjoin(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.run_id == run_id, Delivery.status.in_(list(statuses)))
        .order_by(Delivery.id)
        .limit(limit)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        DeliveryRow(
            contact_id=row.contact_id,
            name=" ".join(part for part in (row.first_name, row.last_name) if part),
            mobile_1=row.mobile_1,
            status=row.status,
            reason=row.reason or "",
        )
        for row in rows
    ]
