"""Provider webhooks turned into provider-neutral records.

Each provider module checks its own signature and parses its own body into an
IncomingSms or a StatusReport; the inbound service stores those, whoever sent them.
A request that cannot be trusted or read raises WebhookRejected with the HTTP
status to respond with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from logsteer_tui.db.models import MessageStatus
from logsteer_tui.errors import LogsteerError


class WebhookRejected(LogsteerError):
    """A webhook request was rejected; ``status`` is the HTTP status to respond with.

    The message is safe to log: it never contains a secret or a signature.
    """

    title = "Webhook rejected"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IncomingSms:
    """An SMS a provider received for us, before it is matched to a contact."""

    provider: str
    provider_message_id: str
    """The provider's id of this message; a retried webhook repeats it."""

    sender: str
    """The sender's number as the provider wrote it, not yet normalised."""

    recipient: str
    body: str
    received_at: datetime | None = None


@dataclass(frozen=True)
class StatusReport:
    """A provider's report that an outgoing message reached a new status."""

    provider: str
    provider_message_id: str
    status: MessageStatus
    provider_status: str
    """The provider's own word for the status, such as "undelivered"."""

    error_code: str | None = None
    error_text: str | None = None
