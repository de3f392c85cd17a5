"""SQLAlchemy models of the product's data.

All times are aware UTC datetimes (see UTCDateTime). The ``last_*`` columns on a
contact are kept up to date by the message service whenever a message is stored,
so the browser and segments can sort and filter on them without a subquery.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from logsteer_tui.db.types import UTCDateTime, utc_now


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class ContactSource(enum.StrEnum):
    MANUAL = "manual"
    IMPORT = "import"
    INBOUND_SMS = "inbound_sms"
    DEMO = "demo"


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class MessageType(enum.StrEnum):
    PROMOTIONAL = "promotional"
    SALES = "sales"
    TRANSACTIONAL = "transactional"


class MessageStatus(enum.StrEnum):
    """The stage of a message; FINAL_STATUSES lists the ones that never move back."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    ERROR = "error"
    RECEIVED = "received"


FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.ERROR,
        MessageStatus.RECEIVED,
    }
)


def enum_column(kind: type[enum.StrEnum], length: int = 20) -> Any:
    """Build a string column storing the enum's value, with no database enum type."""
    return Enum(
        kind,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Contact(Base):
    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_sort_name", "sort_name", "id"),
        Index("ix_contact_email", "email"),
        Index("ix_contact_mobile_1", "mobile_1"),
        Index("ix_contact_last_message_at", "last_message_at", "id"),
        Index("ix_contact_created_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    mobile_1: Mapped[str | None] = mapped_column(String(20))
    phone_1: Mapped[str | None] = mapped_column(String(20))
    mobile_2: Mapped[str | None] = mapped_column(String(20))
    phone_2: Mapped[str | None] = mapped_column(String(20))
    company: Mapped[str] = mapped_column(String(200), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Extra fields from an import, usable in templates by their column name."""

    do_not_send_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_send_email: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[ContactSource] = mapped_column(
        enum_column(ContactSource), default=ContactSource.MANUAL
    )
    listmonk_subscriber_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    sort_name: Mapped[str] = mapped_column(String(202), default="")
    """Folded "last first" for sorting by name."""

    search_text: Mapped[str] = mapped_column(Text, default="")
    """Folded name, email and phone numbers; see services.text.fold."""

    last_message_at: Mapped[datetime | None] = mapped_column()
    last_sms_sent_at: Mapped[datetime | None] = mapped_column()
    last_sms_sent_body: Mapped[str | None] = mapped_column(Text)
    last_sms_received_at: Mapped[datetime | None] = mapped_column()
    last_sms_received_body: Mapped[str | None] = mapped_column(Text)
    last_email_sent_at: Mapped[datetime | None] = mapped_column()

    addresses: Mapped[list[Address]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="Address.id"
    )
    notes: Mapped[list[Note]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="Note.id"
    )
    orders: Mapped[list[Order]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="Order.id"
    )

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Address(Base):
    __tablename__ = "address"
    __table_args__ = (Index("ix_address_contact_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(40), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    """ISO 3166 alpha-2 code."""

    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    contact: Mapped[Contact] = relationship(back_populates="addresses")


class Note(Base):
    __tablename__ = "note"
    __table_args__ = (Index("ix_note_contact_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    contact: Mapped[Contact] = relationship(back_populates="notes")


class Order(Base):
    __tablename__ = "customer_order"
    __table_args__ = (Index("ix_customer_order_contact_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE")
    )
    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="new")
    total_cents: Mapped[int] = mapped_column(Integer, default=0)
    """The order total in the currency's minor unit, so sums stay exact."""

    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    ordered_at: Mapped[datetime] = mapped_column(default=utc_now)

    contact: Mapped[Contact] = relationship(back_populates="orders")


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint(
            "provider", "provider_message_id", name="uq_message_provider_id"
        ),
        Index("ix_message_contact_created", "contact_id", "created_at"),
        Index("ix_message_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL")
    )
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    type: Mapped[MessageType | None] = mapped_column(enum_column(MessageType))
    """Promotional, sales or transactional; empty for incoming messages."""

    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus))
    from_address: Mapped[str] = mapped_column(String(254), default="")
    to_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(Text)
    """The template the body was rendered from, as typed."""

    parts: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))
    provider: Mapped[str | None] = mapped_column(String(40))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_text: Mapped[str | None] = mapped_column(Text)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    """An incoming message whose sender matched several contacts."""

    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column()

    contact: Mapped[Contact | None] = relationship()


class MessageStatusEvent(Base):
    """One status change of a message, as reported by its provider or the outbox."""

    __tablename__ = "message_status_event"
    __table_args__ = (
        UniqueConstraint("message_id", "status", name="uq_message_status_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE")
    )
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus))
    error_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ConsentAction(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


class ConsentSource(enum.StrEnum):
    OPERATOR = "operator"
    SMS_REPLY = "sms_reply"
    PROVIDER_ERROR = "provider_error"
    IMPORT = "import"
    LISTMONK = "listmonk"


class ConsentEvent(Base):
    """A record of who or what set or cleared a Do not send flag, when and why."""

    __tablename__ = "consent_event"
    __table_args__ = (Index("ix_consent_event_contact_id", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    action: Mapped[ConsentAction] = mapped_column(enum_column(ConsentAction))
    source: Mapped[ConsentSource] = mapped_column(enum_column(ConsentSource))
    reason: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Segment(Base):
    """A saved filter over contacts, evaluated afresh each time it is used.

    ``definition`` is the JSON tree documented in docs/segments.md and checked by
    services.segments.parse_definition before it is stored.
    """

    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


# Segment conditions on orders and messages run one EXISTS or count subquery per
# contact, and these indexes turn each into a search on the contact's own rows.
Index("ix_customer_order_contact_total", Order.contact_id, Order.total_cents)
Index("ix_customer_order_contact_date", Order.contact_id, Order.ordered_at)
Index(
    "ix_message_contact_channel",
    Message.contact_id,
    Message.channel,
    Message.direction,
    Message.status,
)
# The segment view sorts by the last SMS dates.
Index("ix_contact_last_sms_sent_at", Contact.last_sms_sent_at, Contact.id)
Index("ix_contact_last_sms_received_at", Contact.last_sms_received_at, Contact.id)
# A name filter with "no SMS received lately" reads this index alone, and the
# contact rows only for the matches: about half the time of a table scan.
Index(
    "ix_contact_sort_name_received",
    Contact.sort_name,
    Contact.last_sms_received_at,
)


class Template(Base):
    """A saved message text, a Jinja2 template rendered per contact."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ScheduleStatus(enum.StrEnum):
    """The stage of a schedule. The scheduler wakes active schedules only.

    ``failed`` is a schedule that can never send again, because its segment was
    deleted. The note of its last run gives the reason.
    """

    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"
    MISSED = "missed"
    FAILED = "failed"


class ScheduleRunStatus(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    MISSED = "missed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class DeliveryStatus(enum.StrEnum):
    """The state of one contact in one run.

    ``sending`` means a message row exists and the provider may have it, so such a
    delivery is never sent again without a check. ``interrupted`` marks one whose
    sender died and whose provider cannot be asked whether it arrived.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Schedule(Base):
    """A message planned for a segment or a fixed list of contacts.

    ``rule`` is empty for a single send, or a recurrence such as "daily", "weekly
    mon,thu" or "cron 0 9 * * 1-5" (services.schedules.recurrence). Times of day
    are read in ``timezone``. When ``contact_ids`` is set the schedule sends to
    those contacts; otherwise to whoever the segment matches at send time.
    """

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    message_type: Mapped[MessageType] = mapped_column(enum_column(MessageType))
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segment.id", ondelete="SET NULL")
    )
    segment_name: Mapped[str] = mapped_column(String(100), default="")
    """The segment's name when the schedule was made, shown if it is deleted."""

    contact_ids: Mapped[list[int] | None] = mapped_column(JSON)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("template.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    transliterate: Mapped[bool | None] = mapped_column(Boolean)
    """None takes the ``[sms] transliterate`` setting at send time."""

    starts_at: Mapped[datetime] = mapped_column()
    rule: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    grace_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    """How late a missed run may still start; later ones are marked missed."""

    status: Mapped[ScheduleStatus] = mapped_column(
        enum_column(ScheduleStatus), default=ScheduleStatus.ACTIVE
    )
    next_run_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ScheduleRun(Base):
    """One firing of a schedule; (schedule, planned time) is unique across processes."""

    __tablename__ = "schedule_run"
    __table_args__ = (
        UniqueConstraint("schedule_id", "planned_at", name="uq_schedule_run_planned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedule.id", ondelete="CASCADE")
    )
    planned_at: Mapped[datetime] = mapped_column()
    status: Mapped[ScheduleRunStatus] = mapped_column(enum_column(ScheduleRunStatus))
    populated: Mapped[bool] = mapped_column(Boolean, default=False)
    """True once a delivery row exists for every contact of the segment."""

    total: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Delivery(Base):
    """One contact in one run; the unique (run, contact) pair forbids a double send."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("run_id", "contact_id", name="uq_delivery_run_contact"),
        Index("ix_delivery_run_status", "run_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_run.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL")
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    """The reason the contact was skipped or failed, in words an operator can act on."""

    error_code: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    """The SchedulerWorker that moved the delivery to sending."""

    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class SchedulerWorker(Base):
    """A process that sends scheduled messages, alive while its heartbeat is fresh."""

    __tablename__ = "scheduler_worker"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utc_now)


Index("ix_schedule_status_next_run", Schedule.status, Schedule.next_run_at)
Index("ix_schedule_run_schedule", ScheduleRun.schedule_id, ScheduleRun.planned_at)
