"""Saved segments: save, rename, duplicate, delete, list with counts, evaluate."""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from logsteer_tui.config import Settings
from logsteer_tui.db.models import Contact, Schedule, ScheduleStatus, Segment
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import LogsteerError, NotFoundError, ValidationError
from logsteer_tui.services.contacts import PageCursor, search_condition
from logsteer_tui.services.segments.compiler import CompileContext, compile_group
from logsteer_tui.services.segments.definition import Group, parse_definition
from logsteer_tui.services.segments.prepared import PreparedQuery

log = logging.getLogger(__name__)

AnySelect = Select[*tuple[Any, ...]]

MAX_NAME_LENGTH = 100
# Compiled statements kept for reuse by SegmentService._prepared, per service.
QUERY_CACHE_SIZE = 64

# The names of the keyset cursor's bound parameters, so that a compiled page
# statement is reused with the next cursor's values.
AFTER_VALUE = "after_sort_value"
AFTER_ID = "after_id"


class SegmentExistsError(LogsteerError):
    title = "Segment exists"


class SegmentInUseError(LogsteerError):
    """A delete of a segment that schedules still send to."""

    title = "Segment not deleted"


# Schedules in these states may still send to their segment, so it stays.
SCHEDULES_USING_SEGMENT = (
    ScheduleStatus.ACTIVE,
    ScheduleStatus.PAUSED,
    ScheduleStatus.MISSED,
)
# Schedules named in the message of a refused delete; the rest are counted.
MAX_SCHEDULES_NAMED = 5


class SegmentSort(enum.StrEnum):
    """The columns of the segment view that results can be sorted by."""

    NAME = "name"
    MOBILE = "mobile_1"
    EMAIL = "email"
    LAST_SENT = "last_sms_sent_body"
    LAST_SENT_AT = "last_sms_sent_at"
    LAST_RECEIVED = "last_sms_received_body"
    LAST_RECEIVED_AT = "last_sms_received_at"
    DO_NOT_SEND_SMS = "do_not_send_sms"
    DO_NOT_SEND_EMAIL = "do_not_send_email"


SORT_COLUMNS: dict[SegmentSort, Any] = {
    SegmentSort.NAME: Contact.sort_name,
    SegmentSort.MOBILE: Contact.mobile_1,
    SegmentSort.EMAIL: Contact.email,
    SegmentSort.LAST_SENT: Contact.last_sms_sent_body,
    SegmentSort.LAST_SENT_AT: Contact.last_sms_sent_at,
    SegmentSort.LAST_RECEIVED: Contact.last_sms_received_body,
    SegmentSort.LAST_RECEIVED_AT: Contact.last_sms_received_at,
    SegmentSort.DO_NOT_SEND_SMS: Contact.do_not_send_sms,
    SegmentSort.DO_NOT_SEND_EMAIL: Contact.do_not_send_email,
}


class SegmentRow(NamedTuple):
    """One contact in a segment's results.

    A named tuple rather than a frozen dataclass: a page builds 100 of them,
    and a tuple is built several times faster.
    """

    id: int
    first_name: str
    last_name: str
    mobile_1: str | None
    email: str | None
    last_sms_sent_body: str | None
    last_sms_sent_at: datetime | None
    last_sms_received_body: str | None
    last_sms_received_at: datetime | None
    do_not_send_sms: bool
    do_not_send_email: bool
    sort_value: Any

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def cursor(self) -> PageCursor:
        return PageCursor(self.sort_value, self.id)


@dataclass(frozen=True)
class SavedSegment:
    id: int
    name: str
    definition: Group
    updated_at: datetime


@dataclass(frozen=True)
class SegmentSummary:
    """A saved segment with the number of contacts it matches now."""

    id: int
    name: str
    count: int
    updated_at: datetime


def check_name(name: str) -> str:
    """Return ``name`` trimmed, or raise ValidationError when it cannot be used."""
    clean = name.strip()
    if not clean:
        raise ValidationError("name", name, "empty; give the segment a name")
    if len(clean) > MAX_NAME_LENGTH:
        raise ValidationError("name", name, f"longer than {MAX_NAME_LENGTH} characters")
    return clean


def _after(column: Any, cursor: PageCursor, descending: bool) -> ColumnElement[bool]:
    # NULLs come first going up and last going down, as the ORDER BY puts them.
    last_id = bindparam(AFTER_ID, cursor.id, type_=Integer())
    if cursor.sort_value is None:
        value = None
    else:
        value = bindparam(AFTER_VALUE, cursor.sort_value, type_=column.type)
    if not descending:
        if value is None:
            return or_(
                and_(column.is_(None), Contact.id > last_id), column.is_not(None)
            )
        return or_(column > value, and_(column == value, Contact.id > last_id))
    if value is None:
        return and_(column.is_(None), Contact.id < last_id)
    return or_(
        column < value, and_(column == value, Contact.id < last_id), column.is_(None)
    )


def _row_select(sort_column: Any) -> AnySelect:
    # The columns are in SegmentRow's field order: page() builds rows by position.
    return select(
        Contact.id,
        Contact.first_name,
        Contact.last_name,
        Contact.mobile_1,
        Contact.email,
        Contact.last_sms_sent_body,
        Contact.last_sms_sent_at,
        Contact.last_sms_received_body,
        Contact.last_sms_received_at,
        Contact.do_not_send_sms,
        Contact.do_not_send_email,
        sort_column.label("sort_value"),
    )


def _ordered(query: AnySelect, column: Any, descending: bool) -> AnySelect:
    if descending:
        return query.order_by(column.desc().nulls_last(), Contact.id.desc())
    return query.order_by(column.asc().nulls_first(), Contact.id.asc())


class SegmentService:
    """Stores segment definitions and evaluates them against the contacts.

    ``now`` arguments exist for tests; relative dates are read against the
    current time otherwise.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        region: str,
    ) -> None:
        self._sessions = sessions
        self.zone = zone
        self.region = region
        self._queries: OrderedDict[tuple[Any, ...], PreparedQuery] = OrderedDict()

    @classmethod
    def from_settings(
        cls, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> SegmentService:
        """Build the service with the configured time zone and phone region."""
        general = settings.general
        return cls(sessions, general.zone, general.default_region)

    def condition(
        self, definition: Group, now: datetime | None = None
    ) -> ColumnElement[bool]:
        """Compile ``definition`` to a condition on the contact table."""
        context = CompileContext(now or utc_now(), self.zone, self.region)
        return compile_group(definition, context)

    def page_query(
        self,
        definition: Group,
        sort: SegmentSort = SegmentSort.NAME,
        descending: bool = False,
        after: PageCursor | None = None,
        limit: int = 100,
        now: datetime | None = None,
    ) -> AnySelect:
        column = SORT_COLUMNS[sort]
        query = _row_select(column).where(self.condition(definition, now))
        if after is not None:
            query = query.where(_after(column, after, descending))
        return _ordered(query, column, descending).limit(limit)

    def count_query(self, definition: Group, now: datetime | None = None) -> AnySelect:
        return (
            select(func.count())
            .select_from(Contact)
            .where(self.condition(definition, now))
        )

    async def page(
        self,
        definition: Group,
        sort: SegmentSort = SegmentSort.NAME,
        descending: bool = False,
        after: PageCursor | None = None,
        limit: int = 100,
        now: datetime | None = None,
    ) -> list[SegmentRow]:
        """Return up to ``limit`` matching contacts after ``after``, in keyset order."""
        overrides: dict[str, Any] = {}
        shape = "first"
        if after is not None:
            overrides[AFTER_ID] = after.id
            shape = "after null"
            if after.sort_value is not None:
                overrides[AFTER_VALUE] = after.sort_value
                shape = "after value"
        prepared = self._prepared(
            definition,
            ("page", sort, descending, limit, shape),
            now,
            lambda moment: self.page_query(
                definition, sort, descending, after, limit, moment
            ),
        )
        rows = await prepared.fetch(self._engine, overrides)
        return list(map(SegmentRow._make, rows))

    async def row(
        self, contact_id: int, sort: SegmentSort = SegmentSort.NAME
    ) -> SegmentRow | None:
        """Return one contact as a results row, whether it matches or not."""
        query = _row_select(SORT_COLUMNS[sort]).where(Contact.id == contact_id)
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
        return SegmentRow(**found._mapping) if found is not None else None

    async def count(self, definition: Group, now: datetime | None = None) -> int:
        prepared = self._prepared(
            definition,
            ("count",),
            now,
            lambda moment: self.count_query(definition, moment),
        )
        rows = await prepared.fetch(self._engine)
        return int(rows[0][0] or 0)

    @property
    def _engine(self) -> AsyncEngine:
        engine = self._sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError(
                f"SegmentService needs sessions bound to an AsyncEngine, not {engine!r}"
            )
        return engine

    def _prepared(
        self,
        definition: Group,
        key: tuple[Any, ...],
        now: datetime | None,
        build: Callable[[datetime], AnySelect],
    ) -> PreparedQuery:
        """Return the compiled statement ``build`` makes for ``now``, reusing one.

        Building and compiling a page statement takes about 0.9 ms, more than
        the query itself on a first page of the bench data (docs/benchmarks.md).
        Relative dates are
        whole local days, so the statement for a definition changes only with
        the date in the configured zone, which is part of the key. Keyset
        cursor values are bound parameters that each call sets, so ``key``
        names only the shape of the cursor.
        """
        moment = now or utc_now()
        today = moment.astimezone(self.zone).date()
        full_key = (definition.json_text, today, *key)
        prepared = self._queries.get(full_key)
        if prepared is not None:
            self._queries.move_to_end(full_key)
            return prepared
        prepared = PreparedQuery.compile(build(moment), self._engine.dialect)
        self._queries[full_key] = prepared
        if len(self._queries) > QUERY_CACHE_SIZE:
            self._queries.popitem(last=False)
        return prepared

    async def contact_ids(
        self, definition: Group, now: datetime | None = None
    ) -> list[int]:
        """Return the ids of every matching contact, in the default order."""
        query = _ordered(
            select(Contact.id).where(self.condition(definition, now)),
            Contact.sort_name,
            descending=False,
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    def _contacts_query(
        self,
        definition: Group,
        search: str,
        limit: int | None,
        now: datetime | None,
    ) -> AnySelect:
        query = select(Contact).where(self.condition(definition, now))
        narrowed = search_condition(search)
        if narrowed is not None:
            query = query.where(narrowed)
        return _ordered(query, Contact.sort_name, descending=False).limit(limit)

    async def contacts(
        self,
        definition: Group,
        search: str = "",
        limit: int | None = None,
        now: datetime | None = None,
    ) -> list[Contact]:
        """Return the matching contacts in the segment view's default order.

        ``search`` narrows them as the contact browser's search does.
        """
        query = self._contacts_query(definition, search, limit, now)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def stream_contacts(
        self,
        definition: Group,
        search: str = "",
        limit: int | None = None,
        chunk_size: int = 1000,
    ) -> AsyncIterator[list[Contact]]:
        """Yield the contacts of ``contacts`` in chunks, so few are in memory."""
        query = self._contacts_query(definition, search, limit, None)
        async with self._sessions() as session:
            result = await session.stream_scalars(
                query.execution_options(yield_per=chunk_size)
            )
            async for chunk in result.partitions():
                yield list(chunk)

    async def get(self, name: str) -> SavedSegment:
        async with self._sessions() as session:
            segment = await self._find(session, name)
            return _saved(segment)

    async def list_segments(self) -> list[SavedSegment]:
        query = select(Segment).order_by(Segment.name, Segment.id)
        async with self._sessions() as session:
            return [_saved(segment) for segment in await session.scalars(query)]

    async def list_with_counts(
        self, now: datetime | None = None
    ) -> list[SegmentSummary]:
        """Return every segment by name with the number of contacts it matches."""
        summaries = []
        for segment in await self.list_segments():
            count = await self.count(segment.definition, now)
            summaries.append(
                SegmentSummary(segment.id, segment.name, count, segment.updated_at)
            )
        return summaries

    async def save(self, name: str, definition: Group | Any) -> SavedSegment:
        """Create the segment ``name`` or replace its definition.

        ``definition`` is a Group or JSON data; it is checked before anything is
        written, so an invalid one leaves the stored segments as they were.
        """
        clean = check_name(name)
        group = (
            definition
            if isinstance(definition, Group)
            else (parse_definition(definition))
        )
        async with self._sessions() as session, session.begin():
            segment = await session.scalar(select(Segment).where(Segment.name == clean))
            if segment is None:
                segment = Segment(name=clean, definition=group.to_json())
                session.add(segment)
            else:
                segment.definition = group.to_json()
                segment.updated_at = utc_now()
            await _flush_named(session, clean)
            saved = _saved(segment)
        log.info("Saved segment %d %r", saved.id, saved.name)
        return saved

    async def rename(self, name: str, new_name: str) -> SavedSegment:
        clean = check_name(new_name)
        async with self._sessions() as session, session.begin():
            segment = await self._find(session, name)
            if clean != segment.name:
                await self._check_free(session, clean)
                segment.name = clean
                segment.updated_at = utc_now()
            await _flush_named(session, clean)
            saved = _saved(segment)
        log.info("Renamed segment %d from %r to %r", saved.id, name, clean)
        return saved

    async def duplicate(self, name: str, new_name: str | None = None) -> SavedSegment:
        """Copy segment ``name``; without ``new_name`` the copy is "NAME (copy)"."""
        async with self._sessions() as session, session.begin():
            source = await self._find(session, name)
            target = (
                check_name(new_name)
                if new_name
                else await self._copy_name(session, source.name)
            )
            await self._check_free(session, target)
            copy = Segment(name=target, definition=dict(source.definition))
            session.add(copy)
            await _flush_named(session, target)
            saved = _saved(copy)
        log.info("Duplicated segment %r as %d %r", name, saved.id, saved.name)
        return saved

    async def delete(self, name: str) -> None:
        """Delete the segment; raise SegmentInUseError while schedules use it."""
        async with self._sessions() as session, session.begin():
            segment = await self._find(session, name)
            await self._require_unused(session, segment)
            await session.delete(segment)
        log.info("Deleted segment %r", name)

    async def check_deletable(self, name: str) -> None:
        """Raise what delete() would raise now, changing nothing."""
        async with self._sessions() as session:
            await self._require_unused(session, await self._find(session, name))

    async def _require_unused(self, session: AsyncSession, segment: Segment) -> None:
        candidates = await session.scalars(
            select(Schedule)
            .where(
                Schedule.segment_id == segment.id,
                Schedule.status.in_(SCHEDULES_USING_SEGMENT),
            )
            .order_by(Schedule.id)
        )
        # A schedule for marked contacts keeps the segment only as its origin.
        using = [schedule for schedule in candidates if schedule.contact_ids is None]
        if not using:
            return
        named = ", ".join(
            f"{schedule.id} ({schedule.status.value})"
            for schedule in using[:MAX_SCHEDULES_NAMED]
        )
        if len(using) > MAX_SCHEDULES_NAMED:
            named += f" and {len(using) - MAX_SCHEDULES_NAMED} more"
        several = len(using) > 1
        raise SegmentInUseError(
            f"Segment {segment.name!r} is not deleted because "
            f"{'schedules' if several else 'schedule'} {named} "
            f"{'send' if several else 'sends'} to it. Cancel "
            f"{'them' if several else 'it'} first (`logsteer schedule cancel ID`, "
            "or c on the Schedules screen), and plan the messages again for "
            "another segment if they should still go out."
        )

    async def _find(self, session: AsyncSession, name: str) -> Segment:
        segment = await find_segment(session, name)
        if segment is None:
            raise NotFoundError(
                f"Segment {name!r} not found; {await segment_hint(session, name)}"
            )
        return segment

    async def _check_free(self, session: AsyncSession, name: str) -> None:
        taken = await session.scalar(select(Segment.id).where(Segment.name == name))
        if taken is not None:
            raise SegmentExistsError(
                f"A segment named {name!r} already exists; choose another name."
            )

    async def _copy_name(self, session: AsyncSession, name: str) -> str:
        names = set(
            (
                await session.scalars(
                    select(Segment.name).where(Segment.name.startswith(name))
                )
            ).all()
        )
        for number in range(1, 1000):
            suffix = " (copy)" if number == 1 else f" (copy {number})"
            candidate = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
            if candidate not in names:
                return candidate
        raise SegmentExistsError(
            f"Too many copies of segment {name!r}; rename or delete some first."
        )


async def _flush_named(session: AsyncSession, name: str) -> None:
    # Another process may take the name between the check and the write.
    try:
        await session.flush()
    except IntegrityError:
        raise SegmentExistsError(
            f"A segment named {name!r} already exists; choose another name."
        ) from None


def _saved(segment: Segment) -> SavedSegment:
    return SavedSegment(
        segment.id,
        segment.name,
        parse_definition(segment.definition),
        segment.updated_at,
    )


async def find_segment(session: AsyncSession, name: str) -> Segment | None:
    """Return the segment named ``name`` exactly, ignoring outer spaces."""
    return await session.scalar(select(Segment).where(Segment.name == name.strip()))


async def segment_hint(session: AsyncSession, name: str) -> str:
    """Return what to do about a segment name that matched none.

    Names match exactly, so a name that differs only in case is offered.
    """
    folded = name.strip().casefold()
    names = (await session.scalars(select(Segment.name))).all()
    close = [found for found in names if found.casefold() == folded]
    if close:
        return f"did you mean {close[0]!r}? Segment names match exactly."
    return "list segments with `logsteer segments list`."
