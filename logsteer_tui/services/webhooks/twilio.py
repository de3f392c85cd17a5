"""Twilio's webhooks: X-Twilio-Signature, incoming SMS and status callbacks.

Twilio signs each request with the account's Auth Token: the signature is the
base64 HMAC-SHA1 of the full URL it called (query string included) followed by
every POST parameter, sorted by name, as name and value written together. Its own
validator (twilio-python 9.x, ``twilio.request_validator``) accepts the URL both
with and without the port, because Twilio's signing is not consistent about it,
and so does ``check_signature`` here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from logsteer_tui.db.models import MessageStatus
from logsteer_tui.services.webhooks import IncomingSms, StatusReport, WebhookRejected

PROVIDER = "twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# An empty TwiML document: Twilio sends no reply to the incoming SMS.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Twilio's MessageStatus values for outgoing messages. "receiving" and "received"
# belong to incoming messages and are left out. So is "partially_delivered",
# because it does not tell whether the whole message arrived.
STATUSES = {
    "accepted": MessageStatus.SENDING,
    "scheduled": MessageStatus.SENDING,
    "queued": MessageStatus.SENDING,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}

Params = Sequence[tuple[str, str]]


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Decode an application/x-www-form-urlencoded body into (name, value) pairs.

    Raises WebhookRejected (400) when the body is not UTF-8 or not a form.
    """
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(
            400, "the form body is not valid UTF-8 form data"
        ) from None


def compute_signature(auth_token: str, url: str, params: Params) -> str:
    """Return the X-Twilio-Signature value Twilio sends for ``url`` and ``params``.

    Repeated parameters are signed value by value, in sorted order, as Twilio does.
    """
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(set(values[name]))
    )
    digest = hmac.new(
        auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> Iterable[str]:
    """Yield ``url`` without its port and with the scheme's default port written."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets in the network location
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    yield urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    yield urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))


def check_signature(auth_token: str, url: str, params: Params, signature: str) -> bool:
    """Check that ``signature`` is Twilio's signature of ``url`` and ``params``."""
    if not auth_token or not signature:
        return False
    candidates = {url, *url_variants(url)}
    received = signature.strip().encode("ascii", "replace")
    return any(
        hmac.compare_digest(
            compute_signature(auth_token, candidate, params).encode("ascii"), received
        )
        for candidate in candidates
    )


def _first(params: Params, *names: str) -> str | None:
    for expected in names:
        for name, value in params:
            if name == expected:
                return value
    return None


def _required(params: Params, *names: str) -> str:
    value = _first(params, *names)
    if not value:
        raise WebhookRejected(400, f"the form has no {names[0]} field")
    return value


def parse_incoming(params: Params) -> IncomingSms:
    """Read an incoming-SMS webhook (MessageSid, From, To, Body, ...).

    Raises WebhookRejected (400) when MessageSid or From is missing.
    """
    # NOTE: media (NumMedia, MediaUrl0, ...) is not stored, only the text body.
    return IncomingSms(
        provider=PROVIDER,
        provider_message_id=_required(params, "MessageSid", "SmsMessageSid", "SmsSid"),
        sender=_required(params, "From"),
        recipient=_first(params, "To") or "",
        body=_first(params, "Body") or "",
    )


def parse_status(params: Params) -> StatusReport | None:
    """Read a status callback (MessageSid, MessageStatus, ErrorCode).

    Returns None for a status that does not move an outgoing message, such as
    "receiving". Raises WebhookRejected (400) when MessageSid or MessageStatus is
    missing.
    """
    sid = _required(params, "MessageSid", "SmsSid")
    provider_status = _required(params, "MessageStatus", "SmsStatus").lower()
    status = STATUSES.get(provider_status)
    if status is None:
        return None
    error_code = _first(params, "ErrorCode") or None
    error_text = _first(params, "ErrorMessage") or None
    if error_text is None and error_code is not None:
        error_text = f"Twilio error {error_code}"
    if error_text is None and provider_status == "canceled":
        error_text = "canceled before sending"
    return StatusReport(
        provider=PROVIDER,
        provider_message_id=sid,
        status=status,
        provider_status=provider_status,
        error_code=error_code,
        error_text=error_text,
    )
