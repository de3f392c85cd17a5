"""The per-contact check shared by the preview and the run engine."""

from __future__ import annotations

from dataclasses import dataclass

from logsteer_tui.db.models import Contact, DeliveryStatus
from logsteer_tui.services.sms import SmsBodyError, SmsPreview, SmsService
from logsteer_tui.services.templates import TemplateError

DO_NOT_SEND = "do_not_send_sms"
NO_MOBILE = "no_mobile_1"
CONTACT_DELETED = "contact_deleted"
TEMPLATE_FAILED = "template"
BAD_BODY = "body"
CANCELLED = "cancelled"

REASON_LABELS = {
    DO_NOT_SEND: "Do not send SMS",
    NO_MOBILE: "no Mobile 1",
    CONTACT_DELETED: "contact deleted",
    TEMPLATE_FAILED: "template error",
    BAD_BODY: "empty or too long",
    CANCELLED: "cancelled",
}
"""Short labels of the codes in delivery.error_code, for counts by reason."""


@dataclass(frozen=True)
class Verdict:
    """Whether one contact gets the SMS; ``status`` is None when it may go."""

    status: DeliveryStatus | None
    code: str = ""
    reason: str = ""
    preview: SmsPreview | None = None


def judge_contact(
    sms: SmsService, contact: Contact | None, body: str, transliterate: bool | None
) -> Verdict:
    """Check consent and Mobile 1, then render ``body`` for ``contact``.

    A contact that must not or cannot get an SMS is skipped; a template that
    fails for this contact, or a text that is empty or too long, fails it alone.
    The contact's addresses and orders must be loaded.
    """
    if contact is None:
        return Verdict(
            DeliveryStatus.SKIPPED,
            CONTACT_DELETED,
            "The contact was deleted before the send.",
        )
    refusal = sms.refusal(contact)
    if refusal is not None:
        code = DO_NOT_SEND if contact.do_not_send_sms else NO_MOBILE
        return Verdict(DeliveryStatus.SKIPPED, code, refusal)
    try:
        preview = sms.preview(contact, body, transliterate)
        sms.check_body(preview)
    except TemplateError as error:
        return Verdict(DeliveryStatus.FAILED, TEMPLATE_FAILED, error.message)
    except SmsBodyError as error:
        return Verdict(DeliveryStatus.FAILED, BAD_BODY, error.message)
    return Verdict(None, preview=preview)
