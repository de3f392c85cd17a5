"""Realistic Croatian demo data: contacts with addresses, notes, orders and messages.

Every generator is a pure function of a seeded ``random.Random`` and a fixed "now",
so one seed always gives the same data relative to that moment. Rows are written
with executemany in batches, and each contact's ``last_*`` columns are computed in
Python from its generated messages, with the rules of
services.messages.update_contact_last_columns.

NOTE: the phone numbers are random numbers in real Croatian and Slovenian ranges,
so they may belong to real people. The emails use reserved example domains. Send
from a demo database only through the development SMS provider.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.db.models import (
    Address,
    Base,
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    ContactSource,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
    MessageType,
    Note,
    Order,
)
from logsteer_tui.services.contacts import derived_columns
from logsteer_tui.services.demo_words import (
    COMPANIES,
    COMPANY_DOMAINS,
    CONTACT_AGE,
    CROATIAN_CITIES,
    CROATIAN_MOBILE_PREFIXES,
    CROATIAN_STREETS,
    EMAIL_DOMAINS,
    EMAIL_ERRORS,
    EMAIL_TEXTS,
    FEMALE_NAMES,
    INBOUND_SMS_BODIES,
    LAST_NAMES,
    MALE_NAMES,
    MESSAGE_TYPE_WEIGHTS,
    NOTES,
    ORDER_STATUSES,
    OUTGOING_STATUS_WEIGHTS,
    SLOVENIAN_CITY,
    SLOVENIAN_FIRST_NAMES,
    SLOVENIAN_LAST_NAMES,
    SLOVENIAN_MOBILE_PREFIXES,
    SLOVENIAN_STREETS,
    SMS_BODIES,
    SMS_ERRORS,
    UNSUBSCRIBED_ERROR,
    City,
)
from logsteer_tui.services.messages import SENT_STATUSES
from logsteer_tui.services.text import fold

if TYPE_CHECKING:
    from logsteer_tui.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DEMO_CONTACTS = 200
DEMO_MESSAGES_PER_CONTACT = 5
BATCH_CONTACTS = 2000
SENDER_NUMBER = "+385915550100"
SENDER_EMAIL = "info@logsteer.example"


@dataclass(frozen=True)
class DemoSummary:
    """How many rows one run added, and how long it took."""

    contacts: int = 0
    addresses: int = 0
    notes: int = 0
    orders: int = 0
    messages: int = 0
    status_events: int = 0
    consent_events: int = 0
    seconds: float = 0.0

    def plus(self, other: DemoSummary) -> DemoSummary:
        return DemoSummary(
            contacts=self.contacts + other.contacts,
            addresses=self.addresses + other.addresses,
            notes=self.notes + other.notes,
            orders=self.orders + other.orders,
            messages=self.messages + other.messages,
            status_events=self.status_events + other.status_events,
            consent_events=self.consent_events + other.consent_events,
            seconds=self.seconds + other.seconds,
        )


@dataclass
class MessageDraft:
    row: dict[str, Any]
    history: list[tuple[MessageStatus, datetime, str | None]]
    """Every status the message went through, oldest first, with its error code."""


@dataclass
class ConsentDraft:
    row: dict[str, Any]
    message_index: int | None
    """Index into the contact's messages of the message that caused the change."""


@dataclass
class ContactDraft:
    """One generated contact with its rows, before any of them has an id."""

    contact: dict[str, Any]
    addresses: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    messages: list[MessageDraft] = field(default_factory=list)
    consent: list[ConsentDraft] = field(default_factory=list)


@functools.lru_cache(maxsize=4096)
def email_local_part(first: str, last: str) -> str:
    """Build "ana.simic" from "Ana" and "Šimić". It is cached, as names repeat."""
    return f"{fold(first)}.{fold(last)}".replace(" ", "")


def weighted_pool(weights: Mapping[T, int]) -> tuple[T, ...]:
    """Repeat each key by its weight, so ``rng.choice`` draws by weight quickly."""
    return tuple(key for key, weight in weights.items() for _ in range(weight))


def allocate_message_counts(
    rng: random.Random, contacts: int, messages: int
) -> list[int]:
    """Split ``messages`` over ``contacts`` unevenly, as real histories are.

    The counts follow an exponential distribution and add up to exactly
    ``messages``. Some contacts get none: 11 % at 5 messages a contact and 6 %
    at 10, measured over 100,000 contacts.
    """
    if contacts <= 0:
        return []
    weights = [rng.expovariate(1.0) for _ in range(contacts)]
    scale = messages / sum(weights)
    counts = [math.floor(weight * scale) for weight in weights]
    for _ in range(messages - sum(counts)):
        counts[rng.randrange(contacts)] += 1
    return counts


class DemoGenerator:
    """Generates contact drafts, keeping emails and mobiles unique across them."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.used_emails: set[str] = set()
        self.used_mobiles: set[str] = set()
        self.next_order_number = 1
        self.next_provider_serial = 1
        self._city_pool = weighted_pool({city: city.weight for city in CROATIAN_CITIES})
        self._type_pool = weighted_pool(MESSAGE_TYPE_WEIGHTS)
        self._status_pool = weighted_pool(OUTGOING_STATUS_WEIGHTS)

    def contact(self, message_count: int) -> ContactDraft:
        rng = self.rng
        slovenian = rng.random() < 0.04
        if slovenian:
            first = rng.choice(SLOVENIAN_FIRST_NAMES)
            last = rng.choice(SLOVENIAN_LAST_NAMES)
            city = SLOVENIAN_CITY
        else:
            first = rng.choice(MALE_NAMES if rng.random() < 0.5 else FEMALE_NAMES)
            last = rng.choice(LAST_NAMES)
            city = rng.choice(self._city_pool)
        company = rng.choice(COMPANIES) if rng.random() < 0.2 else ""
        created_at = self.now - rng.random() * CONTACT_AGE

        values: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "email": self._email(first, last, company) if rng.random() < 0.9 else None,
            "mobile_1": self._mobile(slovenian) if rng.random() < 0.94 else None,
            "phone_1": self._landline(city) if rng.random() < 0.35 else None,
            "mobile_2": self._mobile(slovenian) if rng.random() < 0.08 else None,
            "phone_2": self._landline(city) if rng.random() < 0.05 else None,
            "company": company,
        }
        if message_count and not values["email"] and not values["mobile_1"]:
            values["email"] = self._email(first, last, company)

        row = {
            **values,
            **derived_columns(values),
            "attributes": self._attributes(),
            "do_not_send_sms": False,
            "do_not_send_email": False,
            "source": ContactSource.DEMO,
            "listmonk_subscriber_id": None,
            "created_at": created_at,
            "updated_at": created_at + rng.random() * (self.now - created_at),
        }

        draft = ContactDraft(contact=row)
        draft.addresses = self._addresses(city, slovenian, created_at)
        if rng.random() < 0.45:
            draft.notes = self._notes(created_at)
        draft.orders = self._orders(created_at)
        draft.messages = self._messages(row, draft.orders, message_count)
        self._add_consent(draft)
        set_last_columns(row, draft.messages)
        return draft

    def _email(self, first: str, last: str, company: str) -> str:
        domain = COMPANY_DOMAINS[company] if company else self.rng.choice(EMAIL_DOMAINS)
        local = email_local_part(first, last)
        email = f"{local}@{domain}"
        number = 1
        while email in self.used_emails:
            number += 1
            email = f"{local}{number}@{domain}"
        self.used_emails.add(email)
        return email

    def _mobile(self, slovenian: bool) -> str:
        rng = self.rng
        for _ in range(1000):
            if slovenian:
                number = rng.choice(SLOVENIAN_MOBILE_PREFIXES) + str(
                    rng.randrange(100_000, 1_000_000)
                )
            else:
                number = rng.choice(CROATIAN_MOBILE_PREFIXES) + str(
                    rng.randrange(1_000_000, 10_000_000)
                )
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number
        raise RuntimeError("no unused mobile number found in 1000 draws")

    def _landline(self, city: City) -> str:
        low = 2 * 10 ** (city.subscriber_digits - 1)
        high = 6 * 10 ** (city.subscriber_digits - 1)
        return city.landline_prefix + str(self.rng.randrange(low, high))

    def _attributes(self) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < 0.7:
            return {}
        return {
            "loyalty_tier": rng.choice(("bronze", "silver", "gold")),
            "customer_number": f"K-{rng.randrange(10_000, 99_999)}",
        }

    def _addresses(
        self, city: City, slovenian: bool, created_at: datetime
    ) -> list[dict[str, Any]]:
        rng = self.rng
        streets = SLOVENIAN_STREETS if slovenian else CROATIAN_STREETS
        home = {
            "label": "home",
            "street": f"{rng.choice(streets)} {rng.randrange(1, 180)}",
            "city": city.name,
            "postal_code": city.postal_code,
            "country": city.country,
            "created_at": created_at,
        }
        if rng.random() > 0.15:
            return [home]
        work_city = CROATIAN_CITIES[0] if not slovenian else SLOVENIAN_CITY
        work = {
            **home,
            "label": "work",
            "street": f"{rng.choice(streets)} {rng.randrange(1, 180)}",
            "city": work_city.name,
            "postal_code": work_city.postal_code,
        }
        return [home, work]

    def _notes(self, created_at: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        return [
            {
                "body": rng.choice(NOTES),
                "created_at": created_at + rng.random() * (self.now - created_at),
            }
            for _ in range(rng.choice((1, 1, 1, 2)))
        ]

    def _orders(self, created_at: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        orders: list[dict[str, Any]] = []
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
            ordered_at = created_at + rng.random() * (self.now - created_at)
            orders.append(
                {
                    "number": f"LS-{ordered_at.year}-{self.next_order_number:06d}",
                    "status": rng.choice(ORDER_STATUSES),
                    "total_cents": rng.randrange(499, 150_000),
                    "currency": "EUR",
                    "ordered_at": ordered_at,
                }
            )
            self.next_order_number += 1
        orders.sort(key=lambda order: order["ordered_at"])
        return orders

    def _messages(
        self,
        contact: dict[str, Any],
        orders: Sequence[dict[str, Any]],
        count: int,
    ) -> list[MessageDraft]:
        if not contact["mobile_1"] and not contact["email"]:
            return []
        created_at: datetime = contact["created_at"]
        span = self.now - created_at
        times = sorted(created_at + self.rng.random() * span for _ in range(count))
        drafts = [self._message(contact, orders, at) for at in times]
        # A send still waiting for its provider is, realistically, a recent email.
        # No SMS is left pending: the start-up sweep of every later command would
        # mark it as an interrupted send (SmsService.recover_interrupted).
        last = drafts[-1] if drafts else None
        if last and last.row["direction"] is Direction.OUT:
            # Drawn for an SMS too, so the rest of the demo is what the seed gave.
            pending = self.rng.random() < 0.12
            if pending and last.row["channel"] is Channel.EMAIL:
                make_pending(last, self.now - timedelta(minutes=3))
        return drafts

    def _message(
        self, contact: dict[str, Any], orders: Sequence[dict[str, Any]], at: datetime
    ) -> MessageDraft:
        rng = self.rng
        if not contact["email"]:
            channel = Channel.SMS
        elif not contact["mobile_1"]:
            channel = Channel.EMAIL
        else:
            channel = Channel.SMS if rng.random() < 0.7 else Channel.EMAIL
        incoming = rng.random() < (0.2 if channel is Channel.SMS else 0.05)
        # A message can only mention an order placed before it.
        placed = [order for order in orders if order["ordered_at"] <= at]
        words = {
            "first": contact["first_name"],
            "last": contact["last_name"],
            "order": rng.choice(placed)["number"] if placed else "",
        }
        if incoming:
            return self._incoming(contact, channel, at, words)
        return self._outgoing(contact, channel, at, words)

    def _incoming(
        self,
        contact: dict[str, Any],
        channel: Channel,
        at: datetime,
        words: dict[str, str],
    ) -> MessageDraft:
        rng = self.rng
        if channel is Channel.SMS:
            body = rng.choice(INBOUND_SMS_BODIES)
            subject = None
            sender, recipient = contact["mobile_1"], SENDER_NUMBER
            provider, provider_id = "twilio", self._twilio_sid()
        else:
            if words["order"]:
                subject = "Re: Potvrda narudžbe {order}".format(**words)
                question = "kada mogu očekivati dostavu?"
            else:
                subject = "Upit o ponudi"
                question = "zanima me ponuda iz vašeg kataloga."
            body = f"Poštovani,\n\n{question}\n\n{words['first']}"
            sender, recipient = contact["email"], SENDER_EMAIL
            provider, provider_id = None, None
        row = message_row(
            contact_id=None,
            channel=channel,
            direction=Direction.IN,
            message_type=None,
            status=MessageStatus.RECEIVED,
            sender=sender,
            recipient=recipient,
            subject=subject,
            body=body,
            created_at=at,
        )
        row["provider"] = provider
        row["provider_message_id"] = provider_id
        return MessageDraft(row, [(MessageStatus.RECEIVED, at, None)])

    def _outgoing(
        self,
        contact: dict[str, Any],
        channel: Channel,
        at: datetime,
        words: dict[str, str],
    ) -> MessageDraft:
        rng = self.rng
        message_type = rng.choice(self._type_pool)
        if message_type is MessageType.TRANSACTIONAL and not words["order"]:
            message_type = MessageType.PROMOTIONAL  # nothing to confirm yet
        status = rng.choice(self._status_pool)
        if channel is Channel.SMS:
            body = rng.choice(SMS_BODIES[message_type]).format(**words)
            subject = None
            sender, recipient = SENDER_NUMBER, contact["mobile_1"]
            errors = SMS_ERRORS
        else:
            subject_template, body_template = EMAIL_TEXTS[message_type]
            subject = subject_template.format(**words)
            body = body_template.format(**words)
            sender, recipient = SENDER_EMAIL, contact["email"]
            errors = EMAIL_ERRORS
        row = message_row(
            contact_id=None,
            channel=channel,
            direction=Direction.OUT,
            message_type=message_type,
            status=status,
            sender=sender,
            recipient=recipient,
            subject=subject,
            body=body,
            created_at=at,
        )
        error = rng.choice(errors[status]) if status in errors else None
        return self._deliver(row, status, error)

    def _deliver(
        self,
        row: dict[str, Any],
        status: MessageStatus,
        error: tuple[str, str] | None,
    ) -> MessageDraft:
        """Fill the provider fields and history of an outgoing message."""
        rng = self.rng
        at: datetime = row["created_at"]
        sms = row["channel"] is Channel.SMS
        row["provider"] = "twilio" if sms else "smtp"
        history: list[tuple[MessageStatus, datetime, str | None]] = [
            (MessageStatus.PENDING, at, None)
        ]
        if error is not None:
            row["error_code"], row["error_text"] = error
        if status is MessageStatus.ERROR:
            history.append((status, at + timedelta(seconds=40), row["error_code"]))
            row["updated_at"] = history[-1][1]
            return MessageDraft(row, history)
        sent_at = at + timedelta(seconds=rng.uniform(0.3, 4.0))
        row["sent_at"] = sent_at
        row["provider_message_id"] = (
            self._twilio_sid()
            if sms
            else f"<{self._twilio_sid()[2:]}@mail.logsteer.example>"
        )
        history.append((MessageStatus.SENT, sent_at, None))
        if status is not MessageStatus.SENT:
            final_at = sent_at + timedelta(seconds=rng.uniform(2.0, 90.0))
            history.append((status, final_at, row["error_code"]))
        row["updated_at"] = history[-1][1]
        return MessageDraft(row, history)

    def _twilio_sid(self) -> str:
        """Return a unique id shaped like a Twilio message SID: "SM" and 32 hex digits.

        The leading serial makes inserts into the unique provider id index append
        to its end instead of landing at random places.
        """
        serial = self.next_provider_serial
        self.next_provider_serial += 1
        return f"SM{serial:010x}{self.rng.getrandbits(88):022x}"

    def _add_consent(self, draft: ContactDraft) -> None:
        """Set a Do not send flag on a few contacts, with the event that set it."""
        rng = self.rng
        row = draft.contact
        if row["mobile_1"] and rng.random() < 0.05:
            self._opt_out_sms(draft)
        if row["email"] and rng.random() < 0.03:
            row["do_not_send_email"] = True
            at = row["created_at"] + rng.random() * (self.now - row["created_at"])
            source = rng.choice((ConsentSource.LISTMONK, ConsentSource.OPERATOR))
            reason = (
                "unsubscribed in Listmonk"
                if source is ConsentSource.LISTMONK
                else "asked by phone to stop emails"
            )
            draft.consent.append(
                ConsentDraft(
                    consent_row(
                        Channel.EMAIL, ConsentAction.OPT_OUT, source, reason, at
                    ),
                    None,
                )
            )

    def _opt_out_sms(self, draft: ContactDraft) -> None:
        rng = self.rng
        row = draft.contact
        # The message that caused the opt-out takes the place of the newest one,
        # so the contact keeps the number of messages it was given.
        replaced = draft.messages.pop() if draft.messages else None
        latest = max(
            (message.row["created_at"] for message in draft.messages),
            default=row["created_at"],
        )
        at = latest + (self.now - latest) * rng.uniform(0.1, 0.9)
        row["do_not_send_sms"] = True
        choice = rng.random() if replaced is not None else 1.0
        if choice < 0.6:
            stop = message_row(
                contact_id=None,
                channel=Channel.SMS,
                direction=Direction.IN,
                message_type=None,
                status=MessageStatus.RECEIVED,
                sender=row["mobile_1"],
                recipient=SENDER_NUMBER,
                subject=None,
                body=rng.choice(("STOP", "stop", "Stop ")),
                created_at=at,
            )
            stop["provider"] = "twilio"
            stop["provider_message_id"] = self._twilio_sid()
            draft.messages.append(
                MessageDraft(stop, [(MessageStatus.RECEIVED, at, None)])
            )
            event = consent_row(
                Channel.SMS,
                ConsentAction.OPT_OUT,
                ConsentSource.SMS_REPLY,
                "replied STOP",
                at,
            )
            draft.consent.append(ConsentDraft(event, len(draft.messages) - 1))
        elif choice < 0.8:
            failed = message_row(
                contact_id=None,
                channel=Channel.SMS,
                direction=Direction.OUT,
                message_type=MessageType.PROMOTIONAL,
                status=MessageStatus.FAILED,
                sender=SENDER_NUMBER,
                recipient=row["mobile_1"],
                subject=None,
                body=SMS_BODIES[MessageType.PROMOTIONAL][0],
                created_at=at,
            )
            message = self._deliver(failed, MessageStatus.FAILED, UNSUBSCRIBED_ERROR)
            draft.messages.append(message)
            event = consent_row(
                Channel.SMS,
                ConsentAction.OPT_OUT,
                ConsentSource.PROVIDER_ERROR,
                f"provider error {UNSUBSCRIBED_ERROR[0]}: {UNSUBSCRIBED_ERROR[1]}",
                at,
            )
            draft.consent.append(ConsentDraft(event, len(draft.messages) - 1))
        else:
            if replaced is not None:
                draft.messages.append(replaced)
            event = consent_row(
                Channel.SMS,
                ConsentAction.OPT_OUT,
                ConsentSource.OPERATOR,
                "changed by an operator",
                at,
            )
            draft.consent.append(ConsentDraft(event, None))


def message_row(
    *,
    contact_id: int | None,
    channel: Channel,
    direction: Direction,
    message_type: MessageType | None,
    status: MessageStatus,
    sender: str,
    recipient: str,
    subject: str | None,
    body: str,
    created_at: datetime,
) -> dict[str, Any]:
    """Build a message row with every column set, so executemany sends one shape."""
    sms = channel is Channel.SMS
    ascii_only = body.isascii()
    if sms:
        # An estimate: GSM-7 also covers a few accented letters, such as é.
        encoding = "GSM-7" if ascii_only else "UCS-2"
        single, multi = (160, 153) if ascii_only else (70, 67)
        parts = 1 if len(body) <= single else math.ceil(len(body) / multi)
    return {
        "contact_id": contact_id,
        "channel": channel,
        "direction": direction,
        "type": message_type,
        "status": status,
        "from_address": sender,
        "to_address": recipient,
        "subject": subject,
        "body": body,
        "html_body": None if sms else "<p>" + body.replace("\n\n", "</p><p>") + "</p>",
        "template": None,
        "parts": parts if sms else None,
        "encoding": encoding if sms else None,
        "provider": None,
        "provider_message_id": None,
        "error_code": None,
        "error_text": None,
        "needs_review": False,
        "created_at": created_at,
        "updated_at": created_at,
        "sent_at": None,
    }


def make_pending(draft: MessageDraft, at: datetime) -> None:
    """Turn an outgoing message into one just written and not yet handed over."""
    row = draft.row
    row.update(
        status=MessageStatus.PENDING,
        created_at=at,
        updated_at=at,
        sent_at=None,
        provider_message_id=None,
        error_code=None,
        error_text=None,
    )
    draft.history = [(MessageStatus.PENDING, at, None)]


def consent_row(
    channel: Channel,
    action: ConsentAction,
    source: ConsentSource,
    reason: str,
    at: datetime,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "action": action,
        "source": source,
        "reason": reason,
        "created_at": at,
    }


def set_last_columns(contact: dict[str, Any], messages: Sequence[MessageDraft]) -> None:
    """Set the contact's ``last_*`` columns from its messages.

    This mirrors services.messages.update_contact_last_columns: a message counts
    at its sent time, or its creation time when it was never sent, and outgoing
    messages count as sent only in the sent or delivered status.
    """
    last_message_at = None
    sms_sent: tuple[datetime, str] | None = None
    sms_received: tuple[datetime, str] | None = None
    email_sent_at = None
    for draft in messages:
        row = draft.row
        at: datetime = row["sent_at"] or row["created_at"]
        if last_message_at is None or at > last_message_at:
            last_message_at = at
        sms = row["channel"] is Channel.SMS
        outgoing = row["direction"] is Direction.OUT
        sent = outgoing and row["status"] in SENT_STATUSES
        if sms and not outgoing and (sms_received is None or at >= sms_received[0]):
            sms_received = (at, row["body"])
        elif sms and sent and (sms_sent is None or at >= sms_sent[0]):
            sms_sent = (at, row["body"])
        elif not sms and sent and (email_sent_at is None or at > email_sent_at):
            email_sent_at = at
    contact["last_message_at"] = last_message_at
    contact["last_sms_sent_at"], contact["last_sms_sent_body"] = sms_sent or (
        None,
        None,
    )
    contact["last_sms_received_at"], contact["last_sms_received_body"] = (
        sms_received or (None, None)
    )
    contact["last_email_sent_at"] = email_sent_at


@dataclass
class NextIds:
    """The next free contact and message ids.

    Ids are assigned in Python, because RETURNING the ids of a large executemany
    in parameter order grew quadratically with SQLAlchemy 2.1.9 on SQLite (about
    two minutes for 10,000 contacts). NOTE: a contact or message that another
    process inserts during a run can take an id first and make a batch fail.
    """

    contact: int
    message: int

    @classmethod
    async def read(cls, session: AsyncSession) -> NextIds:
        contact = await session.scalar(select(func.max(Contact.id)))
        message = await session.scalar(select(func.max(Message.id)))
        return cls(contact=(contact or 0) + 1, message=(message or 0) + 1)


async def insert_rows(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows`` into ``table`` with one Core executemany.

    This uses the table's Core insert, because the ORM's bulk insert splits the
    executemany wherever the set of None values changes from row to row.
    """
    await session.execute(insert(table), rows)


RowWriter = Callable[[AsyncSession, Table, list[dict[str, Any]]], Awaitable[None]]
"""Inserts rows, each with every column of the table set, like insert_rows."""


TABLE_ORDER: tuple[type[Base], ...] = (
    Contact,
    Address,
    Note,
    Order,
    Message,
    MessageStatusEvent,
    ConsentEvent,
)
"""The tables in an order that inserts every row after the rows it refers to."""


def rows_by_model(
    drafts: Sequence[ContactDraft], next_ids: NextIds
) -> dict[type[Base], list[dict[str, Any]]]:
    """Give the drafts their ids and collect their rows, table by table."""
    rows: dict[type[Base], list[dict[str, Any]]] = {model: [] for model in TABLE_ORDER}
    for draft in drafts:
        contact_id = next_ids.contact
        next_ids.contact += 1
        draft.contact["id"] = contact_id
        rows[Contact].append(draft.contact)

        for model, children in (
            (Address, draft.addresses),
            (Note, draft.notes),
            (Order, draft.orders),
        ):
            for child in children:
                child["contact_id"] = contact_id
                rows[model].append(child)

        first_message_id = next_ids.message
        for message in draft.messages:
            message_id = next_ids.message
            next_ids.message += 1
            message.row["id"] = message_id
            message.row["contact_id"] = contact_id
            rows[Message].append(message.row)
            rows[MessageStatusEvent].extend(
                {
                    "message_id": message_id,
                    "status": status,
                    "error_code": error_code,
                    "created_at": at,
                }
                for status, at, error_code in message.history
            )

        for consent in draft.consent:
            index = consent.message_index
            cause = None if index is None else first_message_id + index
            rows[ConsentEvent].append(
                {**consent.row, "contact_id": contact_id, "message_id": cause}
            )
    return rows


async def insert_drafts(
    session: AsyncSession,
    drafts: Sequence[ContactDraft],
    next_ids: NextIds,
    write_rows: RowWriter = insert_rows,
) -> DemoSummary:
    """Insert the drafts with one executemany per table. Call inside a transaction."""
    rows = rows_by_model(drafts, next_ids)
    for model in TABLE_ORDER:
        if rows[model]:
            table = Base.metadata.tables[model.__tablename__]
            await write_rows(session, table, rows[model])
    return DemoSummary(
        contacts=len(rows[Contact]),
        addresses=len(rows[Address]),
        notes=len(rows[Note]),
        orders=len(rows[Order]),
        messages=len(rows[Message]),
        status_events=len(rows[MessageStatusEvent]),
        consent_events=len(rows[ConsentEvent]),
    )


async def advance_id_sequences(session: AsyncSession) -> None:
    """Move PostgreSQL's id sequences past the ids assigned in Python."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    for table in ("contact", "message"):
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )


async def prepare_generator(session: AsyncSession, rng: random.Random) -> DemoGenerator:
    """Create a generator that avoids the emails, mobiles and ids already stored."""
    now = datetime.now(UTC).replace(microsecond=0)
    generator = DemoGenerator(rng, now)
    if await session.scalar(select(func.count()).select_from(Contact)):
        generator.used_emails.update(
            email
            for email in await session.scalars(select(Contact.email))
            if email is not None
        )
        generator.used_mobiles.update(
            mobile
            for mobile in await session.scalars(select(Contact.mobile_1))
            if mobile is not None
        )
    orders = await session.scalar(select(func.max(Order.id)))
    generator.next_order_number = (orders or 0) + 1
    # Every message takes at most one serial, so serials above the newest message
    # id were never used by an earlier run.
    messages = await session.scalar(select(func.max(Message.id)))
    generator.next_provider_serial = (messages or 0) + 1
    return generator


@contextmanager
def paused_garbage_collection() -> Iterator[None]:
    """Pause automatic garbage collection while many small dicts are created.

    Each automatic collection walks every row of the batches in memory: with it,
    generating 20,000 contacts took 5.5 s instead of 3.5 s on a 2-core machine.
    The caller collects once per batch instead, so cycles made by the database
    layer are still freed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def write_demo_rows(
    sessions: async_sessionmaker[AsyncSession],
    generator: DemoGenerator,
    message_counts: Sequence[int],
    batch_contacts: int = BATCH_CONTACTS,
    on_progress: Callable[[int], None] | None = None,
    write_rows: RowWriter = insert_rows,
) -> DemoSummary:
    """Generate one contact per entry of ``message_counts`` and insert them.

    Each batch is committed on its own. The next batch is generated in a thread
    while the database writes the current one, because the sqlite3 module
    releases the GIL while SQLite runs a statement. ``on_progress`` is called with
    the number of contacts written after each batch.
    """

    def generate(start: int) -> list[ContactDraft]:
        batch = message_counts[start : start + batch_contacts]
        return [generator.contact(count) for count in batch]

    summary = DemoSummary()
    async with sessions() as session:
        next_ids = await NextIds.read(session)
    upcoming: asyncio.Task[list[ContactDraft]] | None = None
    try:
        with paused_garbage_collection():
            for start in range(0, len(message_counts), batch_contacts):
                if upcoming is None:
                    upcoming = asyncio.create_task(asyncio.to_thread(generate, start))
                drafts = await upcoming
                upcoming = None
                following = start + batch_contacts
                if following < len(message_counts):
                    upcoming = asyncio.create_task(
                        asyncio.to_thread(generate, following)
                    )
                async with sessions() as session, session.begin():
                    written = await insert_drafts(session, drafts, next_ids, write_rows)
                    summary = summary.plus(written)
                gc.collect()
                if on_progress is not None:
                    on_progress(summary.contacts)
    finally:
        if upcoming is not None:
            upcoming.cancel()
        # Committed batches keep their ids even when a later batch failed.
        async with sessions() as session, session.begin():
            await advance_id_sequences(session)
    return summary


async def generate_demo_data(
    runtime: Runtime,
    contacts: int = DEFAULT_DEMO_CONTACTS,
    seed: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Add ``contacts`` demo contacts with their rows, committing every batch.

    ``on_progress`` is called with the number of contacts written after each batch.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    counts = allocate_message_counts(
        rng, contacts, contacts * DEMO_MESSAGES_PER_CONTACT
    )
    async with runtime.sessions() as session:
        generator = await prepare_generator(session, rng)
    summary = await write_demo_rows(
        runtime.sessions, generator, counts, on_progress=on_progress
    )
    seconds = time.perf_counter() - started
    log.info(
        "Generated %d demo contacts and %d messages in %.1f s",
        summary.contacts,
        summary.messages,
        seconds,
    )
    return dataclasses.replace(summary, seconds=seconds)


async def count_contacts(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)


async def ensure_demo_data(runtime: Runtime) -> bool:
    """Fill the database with the default demo data if it has no contacts.

    Returns whether it added any.
    """
    if await count_contacts(runtime):
        return False
    await generate_demo_data(runtime)
    return True
