"""A run's claims and records on a SQLite file, one transaction per call.

These do what the engine's SQLAlchemy statements do on PostgreSQL, with the
same conditions, through the engine's SqliteWriter (db/writer.py). Each batch
goes to the writer's thread as one call. Its per-row values travel as one JSON
parameter read with json_each, so each statement is stepped once, not once per
row. That matters because sqlite3 releases the GIL for every step, and each
step then waits for the event loop's thread to release it again.

Values are converted to and from what SQLite stores with the processors of
the SQLAlchemy column types, so they read back exactly as rows written by
SQLAlchemy do. Contacts come back as transient Contact objects, with their
addresses or orders when the template reads them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from logsteer_tui.db.engine import sqlite_writer
from logsteer_tui.db.models import (
    Address,
    Contact,
    DeliveryStatus,
    MessageStatus,
    Order,
    ScheduleRunStatus,
)
from logsteer_tui.db.types import (
    apply_processor,
    bind_processor,
    result_processor,
    utc_now,
)
from logsteer_tui.db.writer import SqliteWriter
from logsteer_tui.services.schedules.checks import (
    CONTACT_DELETED,
    CONTACT_DELETED_REASON,
    DO_NOT_SEND,
)
from logsteer_tui.services.sms.outbox import DO_NOT_SEND_SMS_REASON

# RETURNING needs SQLite 3.35, so older versions take the SQLAlchemy path.
MIN_SQLITE = (3, 35)

SENDING = DeliveryStatus.SENDING.value
PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True)
class Claimed:
    """A claimed batch: (delivery id, contact id) in id order, and the contacts."""

    rows: list[tuple[int, int | None]]
    contacts: dict[int, Contact]


@dataclass(frozen=True)
class Draft:
    """A message to write as pending for one claimed delivery."""

    delivery_id: int
    contact_id: int
    to_address: str
    body: str
    parts: int
    encoding: str


@dataclass(frozen=True)
class Shared:
    """The columns every message of a run's batch shares."""

    channel: str
    direction: str
    type: str | None
    from_address: str
    template: str
    provider: str


@dataclass(frozen=True)
class Outcome:
    """A claimed delivery that gets no message: skipped or failed, and why."""

    delivery_id: int
    status: DeliveryStatus
    reason: str
    code: str


@dataclass(frozen=True)
class Accepted:
    """A message the provider took, with its id there."""

    message_id: int
    delivery_id: int
    contact_id: int
    provider_message_id: str
    body: str


@dataclass(frozen=True)
class RunRow:
    schedule_id: int
    status: ScheduleRunStatus
    populated: bool
    total: int
    sent: int
    skipped: int
    failed: int


class _Rows:
    """Reads one table's rows back from json_group_array(json_array(...))."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.names = [column.name for column in table.columns]
        self.select = ", ".join(f'"{name}"' for name in self.names)
        self.processors = [
            result_processor(column.type, dialect) for column in table.columns
        ]

    def values(self, row: Sequence[Any]) -> dict[str, Any]:
        return {
            name: apply_processor(processor, value)
            for name, processor, value in zip(
                self.names, self.processors, row, strict=True
            )
        }


class SqliteBatches:
    """The run engine's SQLite path for claims and records."""

    def __init__(self, writer: SqliteWriter, dialect: Dialect, worker_id: str) -> None:
        self._writer = writer
        self.worker_id = worker_id
        self._contacts = _Rows(cast(Table, Contact.__table__), dialect)
        self._addresses = _Rows(cast(Table, Address.__table__), dialect)
        self._orders = _Rows(cast(Table, Order.__table__), dialect)
        updated = cast(Table, Contact.__table__).c.updated_at.type
        self._time = bind_processor(updated, dialect)

    @classmethod
    def of(
        cls, sessions: async_sessionmaker[AsyncSession], worker_id: str
    ) -> SqliteBatches | None:
        """Return the SQLite path of ``sessions``' engine, or None if it has none."""
        bind = sessions.kw.get("bind")
        if bind is None or sqlite3.sqlite_version_info < MIN_SQLITE:
            return None
        writer = sqlite_writer(bind)
        return cls(writer, bind.dialect, worker_id) if writer is not None else None

    async def claim(
        self, run_id: int, limit: int, addresses: bool, orders: bool
    ) -> Claimed | None:
        """Claim up to ``limit`` pending deliveries of a running run.

        Returns None when the run is not running or nothing is pending.
        """

        def work(connection: sqlite3.Connection) -> Claimed | None:
            # The write lock is held from BEGIN IMMEDIATE, so the rows read here
            # are the rows updated next.
            status, found = connection.execute(
                "SELECT (SELECT status FROM schedule_run WHERE id = ?1),"
                " (SELECT json_group_array(json_array(id, contact_id)) FROM ("
                "  SELECT id, contact_id FROM delivery"
                "  WHERE run_id = ?1 AND status = ?2 ORDER BY id LIMIT ?3))",
                (run_id, PENDING, limit),
            ).fetchone()
            pairs = json.loads(found)
            if status != ScheduleRunStatus.RUNNING.value or not pairs:
                return None
            connection.execute(
                "UPDATE delivery SET status = ?, claimed_by = ?, updated_at = ?"
                " WHERE id IN (SELECT json_extract(value, '$[0]') FROM json_each(?))"
                " AND status = ?",
                (SENDING, self.worker_id, self._now(), _dump(pairs), PENDING),
            )
            ids = _dump([contact for _, contact in pairs if contact is not None])
            contacts = self._read_contacts(connection, ids, addresses, orders)
            return Claimed(
                [(delivery, contact) for delivery, contact in pairs], contacts
            )

        return await self._writer.transaction(work)

    async def store(
        self,
        run_id: int,
        shared: Shared,
        drafts: Sequence[Draft],
        outcomes: Sequence[Outcome],
    ) -> dict[int, int]:
        """Write pending messages and outcomes for claims this worker still holds.

        Consent is read again under the write lock: a contact who opted out or
        was deleted since the claim is skipped. Returns the message id of each
        delivery that got one.
        """

        def work(connection: sqlite3.Connection) -> dict[int, int]:
            now = self._now()
            claimed = [draft.delivery_id for draft in drafts]
            claimed += [outcome.delivery_id for outcome in outcomes]
            # The claims no one settled since, the contacts' consent now, and
            # the last message id, all under the write lock.
            claimed_ids, consent, last = connection.execute(
                "SELECT (SELECT json_group_array(id) FROM delivery"
                "  WHERE id IN (SELECT value FROM json_each(?))"
                "  AND status = ? AND claimed_by = ? AND message_id IS NULL),"
                " (SELECT json_group_array(json_array(id, do_not_send_sms))"
                "  FROM contact WHERE id IN (SELECT value FROM json_each(?))),"
                " (SELECT coalesce(max(id), 0) FROM message)",
                (
                    _dump(claimed),
                    SENDING,
                    self.worker_id,
                    _dump([draft.contact_id for draft in drafts]),
                ),
            ).fetchone()
            still_claimed = set(json.loads(claimed_ids))
            flags = dict(json.loads(consent))

            rows = [item for item in outcomes if item.delivery_id in still_claimed]
            allowed: list[Draft] = []
            for draft in drafts:
                if draft.delivery_id not in still_claimed:
                    continue
                if draft.contact_id not in flags:
                    rows.append(_skip(draft, CONTACT_DELETED, CONTACT_DELETED_REASON))
                elif flags[draft.contact_id]:
                    rows.append(_skip(draft, DO_NOT_SEND, DO_NOT_SEND_SMS_REASON))
                else:
                    allowed.append(draft)

            messages = self._insert_messages(connection, shared, allowed, now, last)
            if rows:
                self._write_outcomes(connection, run_id, rows, now)
            return messages

        return await self._writer.transaction(work)

    async def record_sent(self, run_id: int, accepted: Sequence[Accepted]) -> RunRow:
        """Move accepted messages to sent, count them and return the run's row."""

        def work(connection: sqlite3.Connection) -> RunRow:
            now = self._now()
            returned = "schedule_id, status, populated, total, sent, skipped, failed"
            if accepted:
                self._mark_sent(connection, accepted, now)
                row = connection.execute(
                    "UPDATE schedule_run SET sent = sent + ?, updated_at = ?"
                    f" WHERE id = ? RETURNING {returned}",
                    (len(accepted), now, run_id),
                ).fetchone()
            else:
                row = connection.execute(
                    f"SELECT {returned} FROM schedule_run WHERE id = ?", (run_id,)
                ).fetchone()
            schedule_id, status, populated, total, sent, skipped, failed = row
            return RunRow(
                schedule_id,
                ScheduleRunStatus(status),
                bool(populated),
                total,
                sent,
                skipped,
                failed,
            )

        return await self._writer.transaction(work)

    def _now(self) -> Any:
        return apply_processor(self._time, utc_now())

    def _read_contacts(
        self, connection: sqlite3.Connection, ids: str, addresses: bool, orders: bool
    ) -> dict[int, Contact]:
        table = self._contacts
        contacts = {
            values["id"]: Contact(**values)
            for values in map(
                table.values,
                _json(
                    connection,
                    f"SELECT json_group_array(json_array({table.select}))"
                    " FROM contact WHERE id IN (SELECT value FROM json_each(?))",
                    (ids,),
                ),
            )
        }
        for load, rows, key, kind in (
            (addresses, self._addresses, "addresses", Address),
            (orders, self._orders, "orders", Order),
        ):
            if not load:
                continue
            found: dict[int, list[Any]] = {contact: [] for contact in contacts}
            name = cast(Table, kind.__table__).name
            for values in sorted(
                map(
                    rows.values,
                    _json(
                        connection,
                        f"SELECT json_group_array(json_array({rows.select}))"
                        f' FROM "{name}"'
                        " WHERE contact_id IN (SELECT value FROM json_each(?))",
                        (ids,),
                    ),
                ),
                key=lambda values: values["id"],
            ):
                found[values["contact_id"]].append(kind(**values))
            for contact_id, children in found.items():
                set_committed_value(contacts[contact_id], key, children)
        return contacts

    def _insert_messages(
        self,
        connection: sqlite3.Connection,
        shared: Shared,
        drafts: Sequence[Draft],
        now: Any,
        last: int,
    ) -> dict[int, int]:
        """Insert ``drafts`` as pending messages, given the highest id before them."""
        if not drafts:
            return {}
        # The write lock is held, so every message above ``last`` is one of
        # these, and a run has one delivery per contact.
        connection.execute(
            "INSERT INTO message (contact_id, channel, direction, type, status,"
            " from_address, to_address, body, template, parts, encoding, provider,"
            " needs_review, created_at, updated_at)"
            " SELECT json_extract(value, '$[0]'), ?, ?, ?, ?, ?,"
            " json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?,"
            " json_extract(value, '$[3]'), json_extract(value, '$[4]'), ?, 0, ?, ?"
            " FROM json_each(?) ORDER BY key",
            (
                shared.channel,
                shared.direction,
                shared.type,
                MessageStatus.PENDING.value,
                shared.from_address,
                shared.template,
                shared.provider,
                now,
                now,
                _dump(
                    [
                        [d.contact_id, d.to_address, d.body, d.parts, d.encoding]
                        for d in drafts
                    ]
                ),
            ),
        )
        by_contact = dict(
            _json(
                connection,
                "SELECT json_group_array(json_array(contact_id, id)) FROM message"
                " WHERE id > ?",
                (last,),
            )
        )
        messages = {draft.delivery_id: by_contact[draft.contact_id] for draft in drafts}
        connection.execute(
            "UPDATE delivery SET message_id = json_extract(j.value, '$[1]'),"
            " updated_at = ? FROM json_each(?) AS j"
            " WHERE delivery.id = json_extract(j.value, '$[0]')",
            (now, _dump(list(messages.items()))),
        )
        connection.execute(
            "INSERT INTO message_status_event (message_id, status, created_at)"
            " SELECT id, ?, ? FROM message WHERE id > ?"
            " ON CONFLICT (message_id, status) DO NOTHING",
            (MessageStatus.PENDING.value, now, last),
        )
        return messages

    def _write_outcomes(
        self,
        connection: sqlite3.Connection,
        run_id: int,
        outcomes: Sequence[Outcome],
        now: Any,
    ) -> None:
        connection.execute(
            "UPDATE delivery SET status = json_extract(j.value, '$[1]'),"
            " reason = json_extract(j.value, '$[2]'),"
            " error_code = json_extract(j.value, '$[3]'), updated_at = ?"
            " FROM json_each(?) AS j"
            " WHERE delivery.id = json_extract(j.value, '$[0]')",
            (
                now,
                _dump(
                    [
                        [item.delivery_id, item.status.value, item.reason, item.code]
                        for item in outcomes
                    ]
                ),
            ),
        )
        skipped = sum(1 for item in outcomes if item.status is DeliveryStatus.SKIPPED)
        connection.execute(
            "UPDATE schedule_run SET skipped = skipped + ?, failed = failed + ?,"
            " updated_at = ? WHERE id = ?",
            (skipped, len(outcomes) - skipped, now, run_id),
        )

    def _mark_sent(
        self, connection: sqlite3.Connection, accepted: Sequence[Accepted], now: Any
    ) -> None:
        pending = _json(
            connection,
            "SELECT json_group_array(id) FROM message"
            " WHERE id IN (SELECT value FROM json_each(?)) AND status = ?",
            (
                _dump([item.message_id for item in accepted]),
                MessageStatus.PENDING.value,
            ),
        )
        sent = MessageStatus.SENT.value
        if pending:
            # No status callback finds a message before its provider id is
            # here. The rows to move were read above under the write lock; a
            # condition on status would make SQLite walk every pending message.
            still = set(pending)
            connection.execute(
                "UPDATE message SET status = ?, sent_at = ?, updated_at = ?,"
                " provider_message_id = json_extract(j.value, '$[1]')"
                " FROM json_each(?) AS j"
                " WHERE message.id = json_extract(j.value, '$[0]')",
                (
                    sent,
                    now,
                    now,
                    _dump(
                        [
                            [item.message_id, item.provider_message_id]
                            for item in accepted
                            if item.message_id in still
                        ]
                    ),
                ),
            )
            connection.execute(
                "INSERT INTO message_status_event (message_id, status, created_at)"
                " SELECT value, ?, ? FROM json_each(?) WHERE true"
                " ON CONFLICT (message_id, status) DO NOTHING",
                (sent, now, _dump(pending)),
            )
        # A claim settled by another worker meanwhile is not overwritten.
        connection.execute(
            "UPDATE delivery SET status = ?, reason = '', error_code = NULL,"
            " updated_at = ? WHERE id IN (SELECT value FROM json_each(?))"
            " AND status = ? AND claimed_by = ?",
            (
                DeliveryStatus.SENT.value,
                now,
                _dump([item.delivery_id for item in accepted]),
                SENDING,
                self.worker_id,
            ),
        )
        # The newest SMS wins, as in update_contact_last_columns.
        connection.execute(
            "UPDATE contact SET"
            " last_message_at = CASE WHEN last_message_at IS NULL"
            " OR last_message_at < ?1 THEN ?1 ELSE last_message_at END,"
            " last_sms_sent_body = CASE WHEN last_sms_sent_at IS NULL"
            " OR last_sms_sent_at <= ?1 THEN json_extract(j.value, '$[1]')"
            " ELSE last_sms_sent_body END,"
            " last_sms_sent_at = CASE WHEN last_sms_sent_at IS NULL"
            " OR last_sms_sent_at <= ?1 THEN ?1 ELSE last_sms_sent_at END,"
            " updated_at = ?1"
            " FROM json_each(?2) AS j WHERE contact.id = json_extract(j.value, '$[0]')",
            (now, _dump([[item.contact_id, item.body] for item in accepted])),
        )


def _skip(draft: Draft, code: str, reason: str) -> Outcome:
    return Outcome(draft.delivery_id, DeliveryStatus.SKIPPED, reason, code)


def _dump(rows: Any) -> str:
    """Encode rows for json_each, with text as it is rather than as escapes."""
    return json.dumps(rows, ensure_ascii=False)


def _one(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> Any:
    row = connection.execute(sql, parameters).fetchone()
    return row[0] if row is not None else None


def _json(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> Any:
    """Run a query that returns one JSON text and decode it."""
    text = _one(connection, sql, parameters)
    return json.loads(text) if text else []
