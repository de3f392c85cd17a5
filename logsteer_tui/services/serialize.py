"""The documented JSON form of contacts and messages, used by the command line.

Field names and meanings are stable; new fields may be added. Times are ISO 8601
with a UTC offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logsteer_tui.db.models import Contact, Message


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def contact_summary(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "mobile_1": contact.mobile_1,
        "phone_1": contact.phone_1,
        "mobile_2": contact.mobile_2,
        "phone_2": contact.phone_2,
        "company": contact.company,
        "do_not_send_sms": contact.do_not_send_sms,
        "do_not_send_email": contact.do_not_send_email,
        "source": contact.source.value,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
        "last_message_at": iso(contact.last_message_at),
    }


def contact_detail(contact: Contact) -> dict[str, Any]:
    """The summary plus addresses, notes, orders and extra attributes."""
    data = contact_summary(contact)
    data["attributes"] = dict(contact.attributes or {})
    data["addresses"] = [
        {
            "id": address.id,
            "label": address.label,
            "street": address.street,
            "city": address.city,
            "postal_code": address.postal_code,
            "country": address.country,
        }
        for address in contact.addresses
    ]
    data["notes"] = [
        {"id": note.id, "body": note.body, "created_at": iso(note.created_at)}
        for note in contact.notes
    ]
    data["orders"] = [
        {
            "id": order.id,
            "number": order.number,
            "status": order.status,
            "total": f"{order.total_cents / 100:.2f}",
            "currency": order.currency,
            "ordered_at": iso(order.ordered_at),
        }
        for order in contact.orders
    ]
    return data


def message_data(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "contact_id": message.contact_id,
        "channel": message.channel.value,
        "direction": message.direction.value,
        "type": message.type.value if message.type else None,
        "status": message.status.value,
        "from": message.from_address,
        "to": message.to_address,
        "subject": message.subject,
        "body": message.body,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "error_code": message.error_code,
        "error_text": message.error_text,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
    }
