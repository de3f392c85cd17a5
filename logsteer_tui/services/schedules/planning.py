"""Turning what an operator typed into a checked plan for one schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from logsteer_tui.db.models import (
    Channel,
    MessageType,
    Schedule,
    Template,
)
from logsteer_tui.errors import LogsteerError, NotFoundError, ValidationError
from logsteer_tui.services.schedules.checks import Target
from logsteer_tui.services.schedules.recurrence import Recurrence, parse_rule
from logsteer_tui.services.schedules.timing import parse_send_time
from logsteer_tui.services.segments import (
    SegmentService,
    find_segment,
    parse_definition,
    segment_hint,
)
from logsteer_tui.services.templates import (
    attribute_field_name,
    unknown_field_names,
    unknown_fields_error,
)


class ScheduleError(LogsteerError):
    """A schedule request or action that cannot be done now, such as a pause.

    ``title`` names what failed, such as "Schedule not paused".
    """

    title = "Schedule not changed"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


NOT_SAVED = "Schedule not saved"


MAX_GRACE = timedelta(days=366)
"""The maximum grace window: a run missed by more than 366 days never starts."""


@dataclass(frozen=True)
class ScheduleRequest:
    """One message to plan, as typed: a segment or contact ids, a text, a time."""

    at: str
    body: str | None = None
    template: str | None = None
    segment: str | None = None
    contact_ids: tuple[int, ...] | None = None
    channel: Channel = Channel.SMS
    message_type: MessageType = MessageType.PROMOTIONAL
    every: str = ""
    transliterate: bool | None = None
    grace: timedelta | None = None
    """The grace window for missed runs, or None for the configured default."""

    name: str = ""


@dataclass(frozen=True)
class SchedulePlan:
    """A checked request, ready to preview and store."""

    request: ScheduleRequest
    body: str
    template_id: int | None
    segment_id: int | None
    segment_name: str
    first_run: datetime
    recurrence: Recurrence | None
    timezone: str
    target: Target
    grace: timedelta
    """The request's grace window, or the configured default when it set none."""

    def to_row(self) -> Schedule:
        request = self.request
        return Schedule(
            name=request.name or _default_name(self),
            channel=request.channel,
            message_type=request.message_type,
            segment_id=self.segment_id,
            segment_name=self.segment_name,
            contact_ids=(
                list(request.contact_ids) if request.contact_ids is not None else None
            ),
            template_id=self.template_id,
            body=self.body,
            transliterate=request.transliterate,
            starts_at=self.first_run,
            rule=self.recurrence.rule if self.recurrence else "",
            timezone=self.timezone,
            grace_seconds=int(self.grace.total_seconds()),
            next_run_at=self.first_run,
        )


def _default_name(plan: SchedulePlan) -> str:
    first_line = plan.body.strip().splitlines()[0] if plan.body.strip() else ""
    return first_line[:60]


def recurring_start(start: datetime) -> datetime:
    """Return ``start`` rounded up to a whole minute, where a rule's first run goes.

    Rules fire on whole minutes, and a daily or weekly rule takes its time of
    day from the start, so "+1m" typed at 17:18:59.990 starts at 17:20, never
    at 17:19 before the time the operator asked for.
    """
    minute = start.replace(second=0, microsecond=0)
    return minute if minute == start else minute + timedelta(minutes=1)


def first_fire_time(
    recurrence: Recurrence, start: datetime, zone: ZoneInfo
) -> datetime:
    """Return the first fire time of ``recurrence`` at or after ``start``."""
    return recurrence.next_after(start - timedelta(microseconds=1), zone)


async def check_request(
    session: AsyncSession,
    segments: SegmentService,
    request: ScheduleRequest,
    now: datetime,
    default_grace: timedelta,
) -> SchedulePlan:
    """Check ``request`` against the database; raise a LogsteerError naming the fix.

    A request with no grace window of its own gets ``default_grace``.
    """
    if request.channel is not Channel.SMS:
        raise ValidationError(
            "channel", request.channel.value, "only SMS can be scheduled for now"
        )
    zone = segments.zone
    first = parse_send_time(request.at, zone, now)
    recurrence = parse_rule(request.every, recurring_start(first), zone)
    if recurrence is not None:
        first = first_fire_time(recurrence, recurring_start(first), zone)
    body, template_id = await _body(session, request)
    await check_template(session, body)
    segment_id, segment_name, target = await _target(session, segments, request)
    grace = request.grace if request.grace is not None else default_grace
    minutes = f"{grace.total_seconds() / 60:g} minutes"
    if grace < timedelta(0):
        raise ValidationError("grace", minutes, "negative; give 0 or more minutes")
    if grace > MAX_GRACE:
        raise ValidationError(
            "grace",
            minutes,
            f"longer than {MAX_GRACE.days} days; give at most "
            f"{int(MAX_GRACE.total_seconds() // 60)} minutes",
        )
    return SchedulePlan(
        request,
        body,
        template_id,
        segment_id,
        segment_name,
        first,
        recurrence,
        str(zone),
        target,
        grace,
    )


# The distinct keys of contact.attributes, a JSON object (sa.JSON: json on
# PostgreSQL, text on SQLite). The cast makes the PostgreSQL form work for jsonb too.
_ATTRIBUTE_KEYS = {
    "postgresql": text(
        "SELECT DISTINCT jsonb_object_keys(attributes::jsonb) FROM contact "
        "WHERE jsonb_typeof(attributes::jsonb) = 'object'"
    ),
    "sqlite": text(
        "SELECT DISTINCT key FROM contact, json_each(contact.attributes) "
        "WHERE json_type(contact.attributes) = 'object'"
    ),
}


async def attribute_field_names(session: AsyncSession) -> frozenset[str]:
    """Return the template names of the imported attributes that any contact has.

    This reads every contact's attributes, so callers ask only when a template
    names a field outside FIELD_LABELS.
    """
    dialect = (await session.connection()).dialect.name
    keys = (await session.scalars(_ATTRIBUTE_KEYS[dialect])).all()
    names = (attribute_field_name(str(key)) for key in keys)
    return frozenset(name for name in names if name)


async def check_template(session: AsyncSession, body: str) -> None:
    """Raise TemplateError if ``body`` does not parse or names a field no contact has.

    A syntax error names its line. An unknown field is rejected before anything is
    saved, where a run would fail every contact with the same error.
    """
    unknown = unknown_field_names(body)
    if not unknown:
        return
    attributes = await attribute_field_names(session)
    unknown = unknown - attributes
    if unknown:
        raise unknown_fields_error(unknown, attributes)


async def _body(
    session: AsyncSession, request: ScheduleRequest
) -> tuple[str, int | None]:
    if request.template:
        template = await session.scalar(
            select(Template).where(Template.name == request.template.strip())
        )
        if template is None:
            raise NotFoundError(
                f"Template {request.template!r} not found; list templates with "
                "`logsteer schedule templates`."
            )
        return template.body, template.id
    if not request.body or not request.body.strip():
        raise ScheduleError(
            "The text is empty. Write the message, or pick a saved template.",
            NOT_SAVED,
        )
    return request.body, None


async def _target(
    session: AsyncSession, segments: SegmentService, request: ScheduleRequest
) -> tuple[int | None, str, Target]:
    segment = None
    if request.segment:
        segment = await find_segment(session, request.segment)
        if segment is None:
            raise NotFoundError(
                f"Segment {request.segment!r} not found; "
                f"{await segment_hint(session, request.segment)}"
            )
    if request.contact_ids is not None:
        if not request.contact_ids:
            raise ScheduleError(
                "No contacts are marked. Mark some, or pick a segment to send to.",
                NOT_SAVED,
            )
        name = segment.name if segment else ""
        return (
            segment.id if segment else None,
            name,
            sorted(set(request.contact_ids)),
        )
    if segment is None:
        raise ScheduleError("Pick a segment to send to.", NOT_SAVED)
    condition = segments.condition(parse_definition(segment.definition))
    return segment.id, segment.name, condition
