"""The per-contact check shared by the preview and the run engine."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Template
from jinja2 import nodes as jinja_nodes
from sqlalchemy import ColumnElement

from logsteer_tui.db.models import Contact, DeliveryStatus
from logsteer_tui.services.sms import SmsBodyError, SmsPreview, SmsService, count_sms
from logsteer_tui.services.sms.encoding import transliterate as to_gsm7
from logsteer_tui.services.templates import TemplateError, TemplateRenderer

DO_NOT_SEND = "do_not_send_sms"
NO_MOBILE = "no_mobile_1"
CONTACT_DELETED = "contact_deleted"
TEMPLATE_FAILED = "template"
BAD_BODY = "body"
CANCELLED = "cancelled"
CANCELLED_REASON = "The schedule was cancelled before this contact's turn."
CONTACT_DELETED_REASON = "The contact was deleted before the send."

REASON_LABELS = {
    DO_NOT_SEND: "Do not send SMS",
    NO_MOBILE: "no Mobile 1",
    CONTACT_DELETED: "contact deleted",
    TEMPLATE_FAILED: "template error",
    BAD_BODY: "empty or too long",
    CANCELLED: "cancelled",
}
"""Short labels of the codes in delivery.error_code, for counts by reason."""


Target = ColumnElement[bool] | Sequence[int]
"""Whom a schedule sends to: a condition on contacts, or contact ids in order."""


def page_of(
    target: Target, last_id: int, size: int
) -> tuple[ColumnElement[bool], int | None]:
    """Return the condition for the next ``size`` contacts after ``last_id``.

    An id list is cut into chunks, so no statement binds more ids than one
    batch, whatever the number of marked contacts. The second value is the
    last id of the chunk, where the next page starts even when every contact
    in it was deleted. It is None for a condition.
    """
    if isinstance(target, ColumnElement):
        return target & (Contact.id > last_id), None
    start = bisect.bisect_right(target, last_id)
    chunk = list(target[start : start + size])
    if not chunk:
        return Contact.id.in_([]), None
    return Contact.id.in_(chunk), chunk[-1]


class CachingRenderer(TemplateRenderer):
    """The plain-text renderer, parsing and compiling each template text once.

    A run renders one text for thousands of contacts, and compiling it is most
    of the cost of a render. Results and errors are those of TemplateRenderer.
    """

    def __init__(self) -> None:
        super().__init__(html=False)
        self._trees: dict[str, jinja_nodes.Template] = {}
        self._compiled: dict[int, Template] = {}
        self._names_of: dict[int, frozenset[str]] = {}
        environment = self._environment
        compile_tree = environment.from_string

        def from_string(source: Any, *args: Any, **kwargs: Any) -> Template:
            if args or kwargs or not isinstance(source, jinja_nodes.Template):
                return compile_tree(source, *args, **kwargs)
            compiled = self._compiled.get(id(source))
            if compiled is None:
                compiled = compile_tree(source)
                self._compiled[id(source)] = compiled
            return compiled

        environment.from_string = from_string  # type: ignore[method-assign]

    def parse(self, template: str) -> jinja_nodes.Template:
        # The cached tree also keys the compiled template by its id.
        tree = self._trees.get(template)
        if tree is None:
            tree = super().parse(template)
            self._trees[template] = tree
        return tree

    def _names(self, tree: jinja_nodes.Template) -> frozenset[str]:
        names = self._names_of.get(id(tree))
        if names is None:
            names = super()._names(tree)
            self._names_of[id(tree)] = names
        return names


@dataclass(frozen=True)
class Verdict:
    """Whether one contact gets the SMS; ``status`` is None when it may go."""

    status: DeliveryStatus | None
    code: str = ""
    reason: str = ""
    preview: SmsPreview | None = None


def judge_contact(
    sms: SmsService,
    contact: Contact | None,
    body: str,
    transliterate: bool | None,
    renderer: TemplateRenderer | None = None,
) -> Verdict:
    """Check consent and Mobile 1, then render ``body`` for ``contact``.

    A contact that must not or cannot get an SMS is skipped. A template that
    fails for this contact, or a text that is empty or too long, fails it alone.
    The contact's addresses and orders must be loaded; with a ``renderer``,
    only when ``body`` reads an address or order field.
    """
    if contact is None:
        return Verdict(
            DeliveryStatus.SKIPPED,
            CONTACT_DELETED,
            CONTACT_DELETED_REASON,
        )
    refusal = sms.refusal(contact)
    if refusal is not None:
        code = DO_NOT_SEND if contact.do_not_send_sms else NO_MOBILE
        return Verdict(DeliveryStatus.SKIPPED, code, refusal)
    try:
        preview = (
            sms.preview(contact, body, transliterate)
            if renderer is None
            else _render(sms, renderer, contact, body, transliterate)
        )
        sms.check_body(preview)
    except TemplateError as error:
        return Verdict(DeliveryStatus.FAILED, TEMPLATE_FAILED, error.message)
    except SmsBodyError as error:
        return Verdict(DeliveryStatus.FAILED, BAD_BODY, error.message)
    return Verdict(None, preview=preview)


def _render(
    sms: SmsService,
    renderer: TemplateRenderer,
    contact: Contact,
    body: str,
    transliterate: bool | None,
) -> SmsPreview:
    """Do what SmsService.preview does, with ``renderer``."""
    if transliterate is None:
        transliterate = sms.transliterate_by_default
    used = renderer.fields_used(body)
    fields = sms.fields(contact, only=used)
    if not used.issubset(fields):
        # An unknown name: the error lists every field the contact offers.
        fields = sms.fields(contact)
    text = renderer.render(body, fields)
    if transliterate:
        text = to_gsm7(text)
    return SmsPreview(text, count_sms(text), transliterate)
