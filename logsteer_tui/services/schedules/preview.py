"""The preview shown before a schedule is saved: who would get what, now."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from logsteer_tui.db.models import Contact, DeliveryStatus
from logsteer_tui.services.schedules.checks import (
    REASON_LABELS,
    CachingRenderer,
    Target,
    Verdict,
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
    """The first few distinct failures, each with its count and one contact."""

    marked: bool = False
    """Whether the target is a list of marked contacts rather than a segment."""

    encodings: dict[str, int] = field(default_factory=dict)
    """Contacts that would get the SMS, by its encoding (GSM-7 or UCS-2)."""

    sample_encoding: str = ""
    sample_parts: int = 0

    def lines(self) -> list[str]:
        """Describe the preview in a few lines for the terminal and the screen."""
        target = "Marked contacts" if self.marked else "Contacts in the segment now"
        lines = [
            f"{target}: {self.contacts:,}",
            f"Would get the SMS: {self.sendable:,} ({self._parts_text()})",
        ]
        for label, count in sorted(self.skipped.items()):
            lines.append(f"Skipped, {label}: {count:,}")
        for label, count in sorted(self.failed.items()):
            lines.append(f"Failing, {label}: {count:,}")
        lines.extend(f"  {example}" for example in self.examples)
        if self.sample is not None:
            parts = f"{self.sample_parts} part{'s' if self.sample_parts != 1 else ''}"
            lines.append(
                f"Sample for {self.sample_contact} ({self.sample_encoding}, {parts}):"
            )
            lines.append(self.sample)
        return lines

    def _parts_text(self) -> str:
        text = f"{self.parts:,} SMS part{'s' if self.parts != 1 else ''}"
        if self.encodings:
            by_encoding = ", ".join(
                f"{count:,} in {encoding}"
                for encoding, count in sorted(self.encodings.items())
            )
            text = f"{text}; {by_encoding}"
        return text


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
    encodings: Counter[str] = Counter()
    failures = FailureGroups()
    contacts = sendable = parts = 0
    sample: str | None = None
    sample_contact = ""
    sample_encoding = ""
    sample_parts = 0
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
                failures.add(contact, verdict)
            elif verdict.preview is not None:
                count = verdict.preview.count
                sendable += 1
                parts += count.parts
                encodings[count.encoding.value] += 1
                if sample is None:
                    sample = verdict.preview.body
                    sample_contact = contact.full_name or f"contact {contact.id}"
                    sample_encoding = count.encoding.value
                    sample_parts = count.parts
    return SchedulePreview(
        contacts,
        sendable,
        dict(skipped),
        dict(failed),
        parts,
        sample,
        sample_contact,
        failures.lines(),
        marked=isinstance(target, Sequence),
        encodings=dict(encodings),
        sample_encoding=sample_encoding,
        sample_parts=sample_parts,
    )


@dataclass
class FailureGroup:
    """Contacts that fail for one reason, and the first of them."""

    count: int
    contact: str
    reason: str


class FailureGroups:
    """Failures grouped by their reason, so one template error is listed once.

    The reason's first sentence is the key, because the rest of a reason may
    name the contact's own data, such as the fields that contact offers.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], FailureGroup] = {}

    def add(self, contact: Contact, verdict: Verdict) -> None:
        key = (verdict.code, verdict.reason.split(". ", 1)[0])
        group = self._groups.get(key)
        if group is not None:
            group.count += 1
        elif len(self._groups) < MAX_EXAMPLES:
            name = contact.full_name or "(no name)"
            self._groups[key] = FailureGroup(1, f"{contact.id} {name}", verdict.reason)

    def lines(self) -> tuple[str, ...]:
        return tuple(
            f"Contact {group.contact}: {group.reason}"
            if group.count == 1
            else f"{group.count:,} contacts, such as contact {group.contact}: "
            f"{group.reason}"
            for group in self._groups.values()
        )
