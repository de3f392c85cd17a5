"""The preview shown before a schedule is saved: who would get what, now."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from logsteer_tui.db.models import Contact, DeliveryStatus
from logsteer_tui.services.schedules.checks import (
    REASON_LABELS,
    CachingRenderer,
    Target,
    judge_contact,
    page_of,
)
from logsteer_tui.services.sms import SmsService

PREVIEW_BATCH = 500
# Each page moves past at least one contact id, so this bounds 50 million ids.
MAX_PAGES = 100_000
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class SchedulePreview:
    """Counts for the segment as it is now; the run evaluates it again later."""

    contacts: int
    sendable: int
    skipped: dict[str, int] = field(default_factory=dict)
    """Contacts that would be skipped, by reason label (see REASON_LABELS)."""

    failed: dict[str, int] = field(default_factory=dict)
    """Contacts whose text cannot be made, by reason label."""

    parts: int = 0
    """SMS parts over every contact that would get the message."""

    sample: str | None = None
    sample_contact: str = ""
    examples: tuple[str, ...] = ()
    """The first few failures, each naming the contact and the reason."""

    def lines(self) -> list[str]:
        """Describe the preview in a few lines for the terminal and the screen."""
        lines = [
            f"Contacts in the segment now: {self.contacts:,}",
            f"Would get the SMS: {self.sendable:,} ({self.parts:,} SMS parts)",
        ]
        for label, count in sorted(self.skipped.items()):
            lines.append(f"Skipped, {label}: {count:,}")
        for label, count in sorted(self.failed.items()):
            lines.append(f"Failing, {label}: {count:,}")
        lines.extend(f"  {example}" for example in self.examples)
        if self.sample is not None:
            lines.append(f"Sample for {self.sample_contact}:")
            lines.append(self.sample)
        return lines


async def build_preview(
    sessions: async_sessionmaker[AsyncSession],
    sms: SmsService,
    target: Target,
    body: str,
    transliterate: bool | None,
) -> SchedulePreview:
    """Judge every contact matching ``target`` as a run would, in batches."""
    skipped: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    examples: list[str] = []
    contacts = sendable = parts = 0
    sample: str | None = None
    sample_contact = ""
    renderer = CachingRenderer()
    last_id = 0
    for _ in range(MAX_PAGES):
        condition, chunk_end = page_of(target, last_id, PREVIEW_BATCH)
        async with sessions() as session:
            batch = list(
                (
                    await session.scalars(
                        select(Contact)
                        .where(condition)
                        .order_by(Contact.id)
                        .limit(PREVIEW_BATCH)
                        .options(
                            selectinload(Contact.addresses),
                            selectinload(Contact.orders),
                        )
                    )
                ).all()
            )
        if not batch and chunk_end is None:
            break
        last_id = chunk_end if chunk_end is not None else batch[-1].id
        for contact in batch:
            contacts += 1
            verdict = judge_contact(sms, contact, body, transliterate, renderer)
            label = REASON_LABELS.get(verdict.code, verdict.code)
            if verdict.status is DeliveryStatus.SKIPPED:
                skipped[label] += 1
            elif verdict.status is DeliveryStatus.FAILED:
                failed[label] += 1
                if len(examples) < MAX_EXAMPLES:
                    name = contact.full_name or "(no name)"
                    examples.append(f"Contact {contact.id} {name}: {verdict.reason}")
            elif verdict.preview is not None:
                sendable += 1
                parts += verdict.preview.count.parts
                if sample is None:
                    sample = verdict.preview.body
                    sample_contact = contact.full_name or f"contact {contact.id}"
    return SchedulePreview(
        contacts,
        sendable,
        dict(skipped),
        dict(failed),
        parts,
        sample,
        sample_contact,
        tuple(examples),
    )
