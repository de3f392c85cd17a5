"""SMS Gateway for Android (sms-gate.app): signed JSON webhooks from a phone.

The app posts one JSON object per event, ``{"event": "sms:received", "id": ...,
"payload": {...}}``, with two headers: X-Timestamp (Unix seconds) and X-Signature,
the hex HMAC-SHA256 of the raw body followed by the timestamp, keyed by the signing
key set in the app under Settings, Webhooks. This follows the project's webhook
guide (docs.sms-gate.app, features/webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from logsteer_tui.db.models import MessageStatus
from logsteer_tui.services.webhooks import IncomingSms, StatusReport, WebhookRejected

PROVIDER = "sms_gateway"
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
JSON_CONTENT_TYPE = "application/json"

STATUS_EVENTS = {
    "sms:sent": MessageStatus.SENT,
    "sms:delivered": MessageStatus.DELIVERED,
    "sms:failed": MessageStatus.FAILED,
}


def compute_signature(signing_key: str, body: bytes, timestamp: str) -> str:
    """Return the X-Signature value the app sends for ``body`` at ``timestamp``."""
    return hmac.new(
        signing_key.encode("utf-8"), body + timestamp.encode("ascii"), hashlib.sha256
    ).hexdigest()


def check_signature(
    signing_key: str,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float,
    max_clock_skew_seconds: int,
) -> None:
    """Raise WebhookRejected (403) unless the request is signed and recent.

    A timestamp further than ``max_clock_skew_seconds`` from ``now`` is rejected,
    so a recorded request cannot be replayed later.
    """
    if not timestamp.isdigit():
        raise WebhookRejected(403, f"missing or invalid {TIMESTAMP_HEADER} header")
    if abs(now - int(timestamp)) > max_clock_skew_seconds:
        raise WebhookRejected(
            403,
            f"{TIMESTAMP_HEADER} {timestamp} is more than {max_clock_skew_seconds} s "
            "from this machine's clock; check the clocks of the phone and this machine",
        )
    expected = compute_signature(signing_key, body, timestamp)
    if not hmac.compare_digest(
        expected.encode("ascii"), signature.strip().lower().encode("ascii", "replace")
    ):
        raise WebhookRejected(403, f"invalid {SIGNATURE_HEADER} header")


def parse_event(body: bytes, device_number: str) -> IncomingSms | StatusReport | None:
    """Read one webhook body; return None for events that store nothing (pings).

    Incoming SMS are keyed by the event ``id``, because the app's documentation
    says ``payload.messageId`` of a received SMS is derived from its content and
    may repeat. Raises WebhookRejected (400) on a body that is not such an event.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(400, "the body is not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("payload"), dict):
        raise WebhookRejected(400, "the body has no payload object")
    event = _text(document, "event")
    payload: dict[str, Any] = document["payload"]
    if event == "sms:received":
        return IncomingSms(
            provider=PROVIDER,
            provider_message_id=_text(document, "id"),
            sender=_text(payload, "phoneNumber"),
            recipient=device_number,
            body=_text(payload, "message", required=False),
            received_at=_timestamp(payload.get("receivedAt")),
        )
    if event in STATUS_EVENTS:
        reason = _text(payload, "reason", required=False) or None
        return StatusReport(
            provider=PROVIDER,
            provider_message_id=_text(payload, "messageId"),
            status=STATUS_EVENTS[event],
            provider_status=event,
            error_text=reason,
        )
    return None


def _text(document: dict[str, Any], key: str, required: bool = True) -> str:
    value = document.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise WebhookRejected(400, f"the body has no text field {key!r}")
    return value


def _timestamp(value: object) -> datetime | None:
    """Parse the app's ISO 8601 time; a time without an offset is not guessed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
