"""The SQL that stores one batch of incoming SMS, a few set-based statements.

These functions are synchronous and take a sync Session, so the same code runs in
the inbound writer's own thread on SQLite (one thread hop per batch) and through
``AsyncSession.run_sync`` on PostgreSQL. They never commit, so the
caller's transaction contains the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from logsteer_tui.config import ConsentSettings
from logsteer_tui.db.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    ContactSource,
    Direction,
    Message,
    MessageStatus,
)
from logsteer_tui.db.types import UTCDateTime, utc_now
from logsteer_tui.services.contacts import derived_columns
from logsteer_tui.services.webhooks import IncomingSms

log = logging.getLogger(__name__)

# More contacts than this sharing one Mobile 1 are not offered for review.
MAX_CANDIDATES = 20

# The tables themselves, for executemany statements with one parameter set per row:
# SQLAlchemy then reuses one compiled statement and sends multi-row INSERTs.
CONTACT_TABLE = cast(Table, Contact.__table__)
MESSAGE_TABLE = cast(Table, Message.__table__)


def keyword_of(body: str) -> str:
    """Fold a message for keyword matching: trimmed, casefolded, one "." dropped."""
    word = body.strip()
    if word.endswith("."):
        word = word[:-1].rstrip()
    return word.casefold()


@dataclass(frozen=True)
class ConsentKeywords:
    """The whole-message replies that opt a sender out of SMS, or back in."""

    opt_out: frozenset[str]
    opt_in: frozenset[str]

    @classmethod
    def from_settings(cls, consent: ConsentSettings) -> ConsentKeywords:
        return cls(
            opt_out=frozenset(keyword_of(word) for word in consent.opt_out_keywords),
            opt_in=frozenset(keyword_of(word) for word in consent.opt_in_keywords),
        )

    def action_for(self, body: str) -> ConsentAction | None:
        """Return the consent change ``body`` requests, or None for other messages."""
        word = keyword_of(body)
        if word in self.opt_out:
            return ConsentAction.OPT_OUT
        if word in self.opt_in:
            return ConsentAction.OPT_IN
        return None


@dataclass
class IncomingRow:
    """One incoming SMS of a batch, and what storing it did."""

    sms: IncomingSms
    sender: str | None
    """The sender in E.164, or None when it is no valid phone number."""

    matches: list[Any] = field(default_factory=list)
    """Contacts whose Mobile 1 is the sender, as (id, first_name, ...) rows."""

    message_id: int | None = None
    """The new message's id; None when the provider id was stored before."""

    contact_id: int | None = None
    contact_name: str = ""
    contact_created: bool = False
    consent_change: ConsentAction | None = None
    stored_at: datetime = field(default_factory=utc_now)
    """The time used when the provider gives none, fixed once per row."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.sms.provider, self.sms.provider_message_id)

    @property
    def needs_review(self) -> bool:
        return len(self.matches) > 1

    @property
    def received_at(self) -> datetime:
        return self.sms.received_at or self.stored_at


def store_incoming(
    session: Session, rows: Sequence[IncomingRow], keywords: ConsentKeywords
) -> None:
    """Store a batch of incoming SMS in the session's transaction.

    In order: read the contacts of every sender, insert the messages (a repeated
    provider id inserts nothing), create contacts for new senders, apply STOP
    and START replies in arrival order, then move each contact's last-received
    columns. Fills in each row's outcome.
    """
    found = contacts_by_mobile(session, {row.sender for row in rows if row.sender})
    for row in rows:
        row.matches = found.get(row.sender, []) if row.sender else []
        if len(row.matches) == 1:
            row.contact_id = row.matches[0].id
            row.contact_name = full_name(row.matches[0])
    insert_messages(session, rows)
    stored = [row for row in rows if row.message_id is not None]
    create_contacts(session, stored)
    apply_replies(session, stored, keywords)
    update_last_received(session, stored)


def _insert_for(session: Session) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def contacts_by_mobile(session: Session, mobiles: set[str]) -> dict[str, list[Any]]:
    """Return the contacts whose Mobile 1 is one of ``mobiles``, by number."""
    if not mobiles:
        return {}
    result = session.execute(
        select(
            Contact.id,
            Contact.mobile_1,
            Contact.first_name,
            Contact.last_name,
            Contact.do_not_send_sms,
        )
        .where(Contact.mobile_1.in_(mobiles))
        .order_by(Contact.id)
    )
    found: dict[str, list[Any]] = {}
    for row in result:
        matches = found.setdefault(row.mobile_1, [])
        if len(matches) <= MAX_CANDIDATES:
            matches.append(row)
    return found


def insert_messages(session: Session, rows: Sequence[IncomingRow]) -> None:
    """Insert one message per new provider id and set ``message_id`` on its row.

    Rows whose provider id exists already, in the table or earlier in the batch,
    keep ``message_id`` None. ON CONFLICT DO NOTHING on uq_message_provider_id
    decides, so two deliveries of one message never both insert.
    """
    first_rows: dict[tuple[str, str], IncomingRow] = {}
    for row in rows:
        first_rows.setdefault(row.key, row)
    now = utc_now()
    values = [
        {
            "contact_id": row.contact_id,
            "channel": Channel.SMS,
            "direction": Direction.IN,
            "status": MessageStatus.RECEIVED,
            "from_address": row.sender or row.sms.sender,
            "to_address": row.sms.recipient,
            "body": row.sms.body,
            "provider": row.sms.provider,
            "provider_message_id": row.sms.provider_message_id,
            "needs_review": row.needs_review,
            "created_at": row.received_at,
            "updated_at": now,
        }
        for row in first_rows.values()
    ]
    table = MESSAGE_TABLE
    result = session.execute(
        _insert_for(session)(table)
        .on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])
        .returning(table.c.id, table.c.provider, table.c.provider_message_id),
        values,
    )
    for message_id, provider, provider_message_id in result:
        first_rows[(provider, provider_message_id)].message_id = message_id


def create_contacts(session: Session, rows: Sequence[IncomingRow]) -> None:
    """Create one contact per new valid sender and link its messages to it."""
    new_senders = {row.sender for row in rows if row.sender and not row.matches}
    if not new_senders:
        return
    now = utc_now()
    values = []
    for mobile in sorted(new_senders):
        fields = {"mobile_1": mobile}
        values.append(
            {
                **fields,
                **derived_columns(fields),
                "source": ContactSource.INBOUND_SMS,
                "attributes": {},
                "do_not_send_sms": False,
                "do_not_send_email": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    contacts = CONTACT_TABLE
    result = session.execute(
        _insert_for(session)(contacts).returning(contacts.c.id, contacts.c.mobile_1),
        values,
    )
    created = {mobile: contact_id for contact_id, mobile in result}

    for mobile, contact_id in created.items():
        log.info("Created contact %d for the new sender %s", contact_id, mobile)
    links = []
    for row in rows:
        if row.sender in created and not row.matches:
            row.contact_id = created[row.sender]
            row.contact_created = True
            links.append({"message": row.message_id, "contact": row.contact_id})

    messages = MESSAGE_TABLE
    session.execute(
        update(messages)
        .where(messages.c.id == bindparam("message"))
        .values(contact_id=bindparam("contact")),
        links,
    )


def apply_replies(
    session: Session, rows: Sequence[IncomingRow], keywords: ConsentKeywords
) -> None:
    """Set or clear Do not send SMS for STOP and START replies, in arrival order.

    Each change adds a consent event naming the message; a reply that changes
    nothing, such as a second STOP, adds none.
    """
    flags: dict[int, bool] = {}
    for row in rows:
        for match in row.matches:
            flags.setdefault(match.id, match.do_not_send_sms)
    changed: dict[int, bool] = {}
    for row in rows:
        action = keywords.action_for(row.sms.body)
        if row.contact_id is None or row.message_id is None or action is None:
            continue
        wanted = action is ConsentAction.OPT_OUT
        if flags.get(row.contact_id, False) == wanted:
            continue
        flags[row.contact_id] = changed[row.contact_id] = wanted
        row.consent_change = action
        add_consent_event(session, row.contact_id, action, row.message_id)
        log.info("Contact %d sent %s by SMS reply", row.contact_id, action.value)
    if changed:
        contacts = CONTACT_TABLE
        session.execute(
            update(contacts)
            .where(contacts.c.id == bindparam("contact"))
            .values(do_not_send_sms=bindparam("flag"), updated_at=utc_now()),
            [{"contact": key, "flag": value} for key, value in changed.items()],
        )


def update_last_received(session: Session, rows: Sequence[IncomingRow]) -> None:
    """Move each contact's last-message and last-received columns forward.

    The same rules as services.messages.update_contact_last_columns, written as
    two executemany statements so a batch costs two round trips, not two a row.
    """
    newest: dict[int, IncomingRow] = {}
    for row in rows:
        if row.contact_id is None:
            continue
        current = newest.get(row.contact_id)
        if current is None or current.received_at <= row.received_at:
            newest[row.contact_id] = row
    if not newest:
        return
    params = [
        {"contact": contact_id, "at": row.received_at, "body": row.sms.body}
        for contact_id, row in newest.items()
    ]
    contacts = CONTACT_TABLE
    at = bindparam("at", type_=UTCDateTime())
    session.execute(
        update(contacts)
        .where(
            contacts.c.id == bindparam("contact"),
            or_(contacts.c.last_message_at.is_(None), contacts.c.last_message_at < at),
        )
        .values(last_message_at=at),
        params,
    )
    session.execute(
        update(contacts)
        .where(
            contacts.c.id == bindparam("contact"),
            or_(
                contacts.c.last_sms_received_at.is_(None),
                contacts.c.last_sms_received_at <= at,
            ),
        )
        .values(last_sms_received_at=at, last_sms_received_body=bindparam("body")),
        params,
    )


def add_consent_event(
    session: Session | Any, contact_id: int, action: ConsentAction, message_id: int
) -> None:
    """Record an SMS reply's consent change; ``session`` may be sync or async."""
    session.add(
        ConsentEvent(
            contact_id=contact_id,
            channel=Channel.SMS,
            action=action,
            source=ConsentSource.SMS_REPLY,
            reason="opt-out keyword in an SMS reply"
            if action is ConsentAction.OPT_OUT
            else "opt-in keyword in an SMS reply",
            message_id=message_id,
        )
    )


def full_name(row: Any) -> str:
    return " ".join(part for part in (row.first_name, row.last_name) if part)
