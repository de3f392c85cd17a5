"""Settling the claims of a worker that stopped while it was sending.

A delivery in sending whose worker's heartbeat is stale (or whose worker row
is gone) was claimed by a process that died or stalled between its claim and
its record. When the provider keeps a record of what it received (the
development provider's outbox), each such delivery becomes sent or pending
again. Otherwise it becomes interrupted, because a blind resend could reach the
contact twice. An operator resends it with send-now after checking the
provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.db.models import (
    Delivery,
    DeliveryStatus,
    Message,
    MessageStatus,
    SchedulerWorker,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.services.messages import record_status
from logsteer_tui.services.schedules.rows import add_counts, same
from logsteer_tui.services.sms import DevProvider, SmsService
from logsteer_tui.services.sms.outbox import INTERRUPTED_CODE

log = logging.getLogger(__name__)

RECOVER_BATCH = 500

INTERRUPTED_REASON = (
    "The sending process stopped after handing this SMS to the provider and "
    "before the provider answered, so it may or may not have arrived. Check the "
    "provider's log, then resend with `logsteer schedule send-now RUN`."
)
REQUEUED_TEXT = (
    "not sent: the sending process stopped before the provider received it; "
    "the delivery was queued again"
)


def dev_outbox_ids(outbox_file: Path, message_ids: set[int]) -> dict[int, str]:
    """Map each of ``message_ids`` recorded in the development outbox to its id.

    A line cut short by a crash is not a recorded message and is ignored.
    """
    found: dict[int, str] = {}
    if not outbox_file.exists():
        return found
    with outbox_file.open(encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            message_id = record.get("message_id")
            if message_id in message_ids:
                found[message_id] = str(record.get("id", ""))
    return found


class Recovery:
    """Settles stale claims of other workers, one batch at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sms: SmsService,
        worker_id: str,
    ) -> None:
        self._sessions = sessions
        self._sms = sms
        self.worker_id = worker_id
        self._lock = asyncio.Lock()

    async def recover(self, lease: timedelta) -> list[int]:
        """Settle deliveries left in sending by workers whose heartbeat is stale.

        Returns the ids of the runs touched, so the caller can resume them.
        """
        async with self._lock:
            return await self._recover(lease)

    async def _recover(self, lease: timedelta) -> list[int]:
        cutoff = utc_now() - lease
        live = select(SchedulerWorker.id).where(SchedulerWorker.heartbeat_at >= cutoff)
        runs: set[int] = set()
        for _ in range(10_000):
            async with self._sessions() as session:
                stale = list(
                    (
                        await session.scalars(
                            select(Delivery)
                            .where(
                                Delivery.status == DeliveryStatus.SENDING,
                                # This worker's own sends are in flight, not lost,
                                # even when its heartbeat is late.
                                or_(
                                    Delivery.claimed_by.is_(None),
                                    Delivery.claimed_by != self.worker_id,
                                ),
                                or_(
                                    Delivery.claimed_by.is_(None),
                                    Delivery.claimed_by.not_in(live),
                                ),
                            )
                            .order_by(Delivery.id)
                            .limit(RECOVER_BATCH)
                        )
                    ).all()
                )
            if not stale:
                break
            await self._settle(stale)
            runs.update(delivery.run_id for delivery in stale)
        return sorted(runs)

    async def _settle(self, stale: list[Delivery]) -> None:
        message_ids = {d.message_id for d in stale if d.message_id is not None}
        provider = self._sms.provider
        known: dict[int, str] | None = None
        if isinstance(provider, DevProvider):
            known = await asyncio.to_thread(
                dev_outbox_ids, provider.outbox_file, message_ids
            )
        counts = {"requeued": 0, "sent": 0, "interrupted": 0, "skipped": 0}
        async with self._sessions() as session, session.begin():
            for delivery in stale:
                outcome = await self._settle_one(session, delivery, known)
                counts[outcome] += 1
        log.warning(
            "Settled %d deliveries left in sending by a stopped process: %s",
            len(stale),
            ", ".join(f"{count} {name}" for name, count in counts.items()),
        )

    async def _settle_one(
        self,
        session: AsyncSession,
        delivery: Delivery,
        known: dict[int, str] | None,
    ) -> str:
        message = (
            await session.get(Message, delivery.message_id)
            if delivery.message_id is not None
            else None
        )
        outcome, values = _settlement(message, known)
        # Only the stale claim is settled; a row claimed again since is left alone.
        settled = await session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery.id,
                Delivery.status == DeliveryStatus.SENDING,
                same(Delivery.claimed_by, delivery.claimed_by),
                # A claim whose message was written since is not "never sent".
                same(Delivery.message_id, delivery.message_id),
            )
            .values(updated_at=utc_now(), **values)
        )
        if not settled.rowcount:  # type: ignore[attr-defined]
            return "skipped"
        if message is None:
            return outcome
        if outcome == "sent":
            assert known is not None
            if message.provider_message_id is None:
                message.provider_message_id = known[message.id]
            await record_status(session, message, MessageStatus.SENT)
            await add_counts(session, delivery.run_id, sent=1)
        else:
            text = REQUEUED_TEXT if outcome == "requeued" else INTERRUPTED_REASON
            await record_status(
                session,
                message,
                MessageStatus.ERROR,
                error_code=INTERRUPTED_CODE,
                error_text=text,
            )
            if outcome == "interrupted":
                await add_counts(session, delivery.run_id, failed=1)
        return outcome


def _settlement(
    message: Message | None, known: dict[int, str] | None
) -> tuple[str, dict[str, Any]]:
    """Decide what a delivery left in sending becomes, and its new columns."""
    if message is None:
        # Claimed, but the claim's transaction wrote no message: never sent.
        return "requeued", {"status": DeliveryStatus.PENDING, "claimed_by": None}
    if known is not None and message.id in known:
        return "sent", {"status": DeliveryStatus.SENT, "reason": ""}
    if known is not None:
        return "requeued", {
            "status": DeliveryStatus.PENDING,
            "claimed_by": None,
            "message_id": None,
            "reason": REQUEUED_TEXT,
        }
    return "interrupted", {
        "status": DeliveryStatus.INTERRUPTED,
        "reason": INTERRUPTED_REASON,
        "error_code": INTERRUPTED_CODE,
    }
