"""The catalogue of fields a segment condition can name, with their types.

A field is a contact column, a column of a contact's related rows (addresses,
notes, orders, consent events), where a condition means "any such row", or an
aggregate over related rows (a count or a sum).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from logsteer_tui.db.models import (
    Address,
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    ContactSource,
    Direction,
    Message,
    MessageStatus,
    MessageType,
    Note,
    Order,
)
from logsteer_tui.services.segments.operators import (
    OPERATORS_BY_TYPE,
    Operator,
    ValueType,
)


class FieldKind(enum.Enum):
    CONTACT = "contact"
    """A column of the contact row itself."""

    RELATED = "related"
    """A column of related rows: the condition holds when any row matches."""

    COUNT = "count"
    SUM = "sum"


class TextMode(enum.Enum):
    """The comparison of a text column with a folded value."""

    FOLDED = "folded"
    """The column already contains services.text.fold output."""

    FOLD_IN_SQL = "fold_in_sql"
    """The column is folded in SQL by db.folding.FoldedText, as fold folds."""

    PHONE = "phone"
    """An E.164 number; the value is read as a phone number."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    category: str
    value_type: ValueType
    kind: FieldKind
    column: Any
    """The compared column; for COUNT, the related table's contact_id."""

    model: Any = None
    """The related model for RELATED, COUNT and SUM fields."""

    filters: tuple[ColumnElement[bool], ...] = ()
    """Conditions on the related rows, such as the channel of counted messages."""

    text_mode: TextMode = TextMode.FOLD_IN_SQL
    choices: tuple[str, ...] = ()
    nullable: bool = False
    """Whether a CONTACT column may be NULL, so is_empty and is_not_empty apply."""

    operators: tuple[Operator, ...] = field(default=())
    currency_column: Any = None
    """The related rows' currency, for money fields that take a "currency" key."""

    def __post_init__(self) -> None:
        if self.operators:
            return
        operators = OPERATORS_BY_TYPE[self.value_type]
        if self.nullable and self.value_type in (ValueType.NUMBER, ValueType.CHOICE):
            operators = (*operators, Operator.IS_EMPTY, Operator.IS_NOT_EMPTY)
        object.__setattr__(self, "operators", operators)


def _contact_text(
    name: str, label: str, mode: TextMode = TextMode.FOLD_IN_SQL
) -> FieldSpec:
    return FieldSpec(
        name,
        label,
        "Contact",
        ValueType.TEXT,
        FieldKind.CONTACT,
        getattr(Contact, name),
        text_mode=mode,
    )


def _contact_date(name: str, label: str, category: str = "Contact") -> FieldSpec:
    return FieldSpec(
        name, label, category, ValueType.DATE, FieldKind.CONTACT, getattr(Contact, name)
    )


def _values(kind: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


def _contact_fields() -> list[FieldSpec]:
    return [
        FieldSpec(
            "name",
            "Name (last first)",
            "Contact",
            ValueType.TEXT,
            FieldKind.CONTACT,
            Contact.sort_name,
            text_mode=TextMode.FOLDED,
        ),
        _contact_text("first_name", "First name"),
        _contact_text("last_name", "Last name"),
        _contact_text("email", "Email"),
        _contact_text("mobile_1", "Mobile 1", TextMode.PHONE),
        _contact_text("phone_1", "Phone 1", TextMode.PHONE),
        _contact_text("mobile_2", "Mobile 2", TextMode.PHONE),
        _contact_text("phone_2", "Phone 2", TextMode.PHONE),
        _contact_text("company", "Company"),
        FieldSpec(
            "do_not_send_sms",
            "Do not send SMS",
            "Contact",
            ValueType.FLAG,
            FieldKind.CONTACT,
            Contact.do_not_send_sms,
        ),
        FieldSpec(
            "do_not_send_email",
            "Do not send Email",
            "Contact",
            ValueType.FLAG,
            FieldKind.CONTACT,
            Contact.do_not_send_email,
        ),
        FieldSpec(
            "source",
            "Source",
            "Contact",
            ValueType.CHOICE,
            FieldKind.CONTACT,
            Contact.source,
            choices=_values(ContactSource),
        ),
        FieldSpec(
            "listmonk_subscriber_id",
            "Listmonk subscriber id",
            "Contact",
            ValueType.NUMBER,
            FieldKind.CONTACT,
            Contact.listmonk_subscriber_id,
            nullable=True,
        ),
        _contact_date("created_at", "Created"),
        _contact_date("updated_at", "Updated"),
    ]


def _related_text(
    name: str, label: str, category: str, model: Any, column: Any
) -> FieldSpec:
    return FieldSpec(
        name, label, category, ValueType.TEXT, FieldKind.RELATED, column, model
    )


def _address_and_note_fields() -> list[FieldSpec]:
    return [
        _related_text("address.city", "City", "Address", Address, Address.city),
        _related_text(
            "address.postal_code",
            "Postal code",
            "Address",
            Address,
            Address.postal_code,
        ),
        _related_text(
            "address.country", "Country code", "Address", Address, Address.country
        ),
        _related_text("address.street", "Street", "Address", Address, Address.street),
        _related_text("note.text", "Note text", "Notes", Note, Note.body),
        FieldSpec(
            "note.created_at",
            "Note date",
            "Notes",
            ValueType.DATE,
            FieldKind.RELATED,
            Note.created_at,
            Note,
        ),
    ]


def _order_fields() -> list[FieldSpec]:
    return [
        _related_text("order.status", "Order status", "Orders", Order, Order.status),
        _related_text(
            "order.currency", "Order currency", "Orders", Order, Order.currency
        ),
        FieldSpec(
            "order.total",
            "Order total",
            "Orders",
            ValueType.MONEY,
            FieldKind.RELATED,
            Order.total_cents,
            Order,
            currency_column=Order.currency,
        ),
        FieldSpec(
            "order.date",
            "Order date",
            "Orders",
            ValueType.DATE,
            FieldKind.RELATED,
            Order.ordered_at,
            Order,
        ),
        FieldSpec(
            "order.count",
            "Number of orders",
            "Orders",
            ValueType.COUNT,
            FieldKind.COUNT,
            Order.contact_id,
            Order,
        ),
        # Without a currency the sum is taken in each currency apart, so totals
        # in different currencies are never added (compiler._sum_per_currency).
        FieldSpec(
            "order.sum",
            "Sum of order totals",
            "Orders",
            ValueType.MONEY,
            FieldKind.SUM,
            Order.total_cents,
            Order,
            currency_column=Order.currency,
        ),
    ]


def _message_fields() -> list[FieldSpec]:
    fields = [
        _contact_date("last_sms_sent_at", "Last sent SMS date", "Messages"),
        _last_sms_text("last_sms_sent_body", "Last sent SMS text"),
        _contact_date("last_sms_received_at", "Last received SMS date", "Messages"),
        _last_sms_text("last_sms_received_body", "Last received SMS text"),
        _contact_date("last_email_sent_at", "Last sent email date", "Messages"),
        _contact_date("last_message_at", "Last message date", "Messages"),
        _message_count("messages.count", "Number of messages", ()),
    ]
    groups: list[tuple[str, Any, type[enum.StrEnum]]] = [
        ("channel", Message.channel, Channel),
        ("direction", Message.direction, Direction),
        ("type", Message.type, MessageType),
        ("status", Message.status, MessageStatus),
    ]
    for group, column, kind in groups:
        for member in kind:
            fields.append(
                _message_count(
                    f"messages.count.{group}.{member.value}",
                    f"Number of messages, {group} {member.value}",
                    (column == member,),
                )
            )
    return fields


def _last_sms_text(name: str, label: str) -> FieldSpec:
    return FieldSpec(
        name,
        label,
        "Messages",
        ValueType.TEXT,
        FieldKind.CONTACT,
        getattr(Contact, name),
    )


def _message_count(
    name: str, label: str, filters: tuple[ColumnElement[bool], ...]
) -> FieldSpec:
    return FieldSpec(
        name,
        label,
        "Messages",
        ValueType.COUNT,
        FieldKind.COUNT,
        Message.contact_id,
        Message,
        filters,
    )


CHANNEL_LABELS = {Channel.SMS: "SMS", Channel.EMAIL: "Email"}


def _consent_fields() -> list[FieldSpec]:
    fields = []
    for channel in Channel:
        for action, words in (
            (ConsentAction.OPT_OUT, "opted out"),
            (ConsentAction.OPT_IN, "opted in"),
        ):
            fields.append(
                FieldSpec(
                    f"consent.{channel.value}_{action.value}_at",
                    f"{CHANNEL_LABELS[channel]} {words} date",
                    "Consent",
                    ValueType.DATE,
                    FieldKind.RELATED,
                    ConsentEvent.created_at,
                    ConsentEvent,
                    (ConsentEvent.channel == channel, ConsentEvent.action == action),
                )
            )
    fields.append(
        FieldSpec(
            "consent.source",
            "Consent change source",
            "Consent",
            ValueType.CHOICE,
            FieldKind.RELATED,
            ConsentEvent.source,
            ConsentEvent,
            choices=_values(ConsentSource),
        )
    )
    return fields


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        *_contact_fields(),
        *_address_and_note_fields(),
        *_order_fields(),
        *_message_fields(),
        *_consent_fields(),
    )
}
