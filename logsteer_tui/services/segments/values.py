"""The values stored in free-text fields whose values form a small set.

Order status, order currency and country code are free text in the database,
so no fixed list exists. The values already stored are the list a user picks
from most of the time; the condition dialog offers them as suggestions.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.services.segments.fields import FIELDS

SUGGESTED_FIELDS = frozenset({"order.status", "order.currency", "address.country"})
MAX_SUGGESTED_VALUES = 30


async def stored_values(
    sessions: async_sessionmaker[AsyncSession],
    field: str,
    limit: int = MAX_SUGGESTED_VALUES,
) -> list[str]:
    """List the distinct values of ``field`` stored now, most used first.

    Returns an empty list for a field outside SUGGESTED_FIELDS, whose values are
    names, numbers or texts rather than a small set.
    """
    if field not in SUGGESTED_FIELDS:
        return []
    column = FIELDS[field].column
    uses = func.count()
    query = (
        select(column)
        .where(column.is_not(None), column != "")
        .group_by(column)
        .order_by(uses.desc(), column)
        .limit(limit)
    )
    async with sessions() as session:
        return [str(value) for value in await session.scalars(query)]
