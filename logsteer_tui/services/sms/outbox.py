"""The SMS outbox: render, check consent, store as pending, hand to the provider.

Every message is committed as pending before the provider is called, and its
status moves on in a second transaction once the provider replies. A process that
dies in between leaves the pending row behind. On the next start
``recover_interrupted`` marks such rows as errors rather than resending them,
because the provider may have accepted the message before the crash, and a blind
resend would send it twice. The operator checks the provider's log and sends
again if needed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta, tzinfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from logsteer_tui.config import Settings
from logsteer_tui.db.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    Delivery,
    Direction,
    Message,
    MessageStatus,
    MessageType,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import ConfigError, LogsteerError, NotFoundError
from logsteer_tui.services.events import ContactChanged, EventHub, MessageStored
from logsteer_tui.services.messages import record_status
from logsteer_tui.services.sms.encoding import (
    SmsCount,
    SmsEncoding,
    count_sms,
    transliterate,
)
from logsteer_tui.services.sms.providers import (
    OPTED_OUT_CODE,
    OutgoingSms,
    ProviderError,
    ProviderReply,
    SmsProvider,
)
from logsteer_tui.services.templates import TemplateRenderer, contact_fields

DO_NOT_SEND_SMS_REASON = (
    "Do not send SMS is set, so no SMS is sent. Clear it on the contact "
    "only if they asked to get SMS again."
)

log = logging.getLogger(__name__)

INTERRUPTED_CODE = "interrupted"
INTERRUPTED_TEXT = (
    "interrupted before the provider answered; check the provider before resending"
)

# Pending rows younger than this may still be in a send of another process.
MIN_INTERRUPTED_AGE = timedelta(minutes=5)


class SmsNotAllowedError(LogsteerError):
    """The contact must not or cannot get an SMS; nothing was stored or sent."""

    title = "SMS not sent"

    def __init__(self, contact: Contact, reason: str) -> None:
        self.contact_id = contact.id
        self.reason = reason
        name = contact.full_name or "(no name)"
        super().__init__(f"Contact {contact.id} {name}: {reason}")


class SmsBodyError(LogsteerError):
    """The text to send is empty or too long; nothing was stored or sent."""

    title = "Invalid SMS text"


@dataclass(frozen=True)
class SmsPreview:
    """The text exactly as it would be sent, with its size."""

    body: str
    count: SmsCount
    transliterated: bool


class SmsService:
    """Sends one SMS to one contact now, through the configured provider."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: EventHub,
        settings: Settings,
        provider: SmsProvider,
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self.provider = provider
        self.max_parts = settings.sms.max_parts
        self.transliterate_by_default = settings.sms.transliterate
        self.zone: tzinfo = settings.general.zone
        self._renderer = TemplateRenderer(html=False)

    def fields(
        self, contact: Contact, only: Collection[str] | None = None
    ) -> dict[str, str | None]:
        """Return the template fields of ``contact``; None marks an empty one.

        ``only`` limits the fixed fields built, as in contact_fields.
        """
        return contact_fields(contact, self.zone, only)

    def refusal(self, contact: Contact) -> str | None:
        """Return why ``contact`` must get no SMS, or None when it may get one."""
        if contact.do_not_send_sms:
            return DO_NOT_SEND_SMS_REASON
        if not contact.mobile_1:
            return "Mobile 1 is empty, so there is no number to send to. Add one."
        return None

    def check_contact(self, contact: Contact) -> None:
        """Raise SmsNotAllowedError when ``contact`` must not or cannot get an SMS."""
        reason = self.refusal(contact)
        if reason is not None:
            raise SmsNotAllowedError(contact, reason)

    def preview(
        self, contact: Contact, template: str, transliterated: bool | None = None
    ) -> SmsPreview:
        """Render ``template`` for ``contact`` and count the result.

        ``transliterated`` None takes the ``[sms] transliterate`` default. Raises
        TemplateError when the template cannot be rendered for this contact.
        """
        if transliterated is None:
            transliterated = self.transliterate_by_default
        body = self._renderer.render(template, self.fields(contact))
        if transliterated:
            body = transliterate(body)
        return SmsPreview(body, count_sms(body), transliterated)

    def check_body(self, preview: SmsPreview) -> None:
        """Raise SmsBodyError when the rendered text is empty or over the limit."""
        if not preview.body.strip():
            raise SmsBodyError("The SMS text is empty. Write the message first.")
        count = preview.count
        if count.parts > self.max_parts:
            hint = ""
            if count.encoding is SmsEncoding.UCS2 and not preview.transliterated:
                hint = " or turn on transliteration to stay in GSM-7"
            raise SmsBodyError(
                f"The SMS text takes {count.parts} parts ({count.units} "
                f"{count.encoding.value} units), more than the maximum of "
                f"{self.max_parts} parts set by [sms] max_parts. Shorten it{hint}."
            )

    async def load_contact(self, contact_id: int) -> Contact:
        """Return the contact with the addresses and orders its fields need."""
        query = (
            select(Contact)
            .where(Contact.id == contact_id)
            .options(selectinload(Contact.addresses), selectinload(Contact.orders))
        )
        async with self._sessions() as session:
            contact = await session.scalar(query)
        if contact is None:
            raise NotFoundError(
                f"Contact {contact_id} not found; list contacts with "
                "`logsteer contacts list`."
            )
        return contact

    async def send(
        self,
        contact_id: int,
        template: str,
        message_type: MessageType = MessageType.TRANSACTIONAL,
        transliterated: bool | None = None,
    ) -> Message:
        """Send ``template`` rendered for the contact, and return the stored message.

        Raises before anything is stored: SmsNotAllowedError for a contact with Do
        not send SMS or no Mobile 1, TemplateError, SmsBodyError, or ConfigError
        when the provider is not set up. A provider failure is not raised: the
        returned message has status error with the provider's code and text.
        """
        contact = await self.load_contact(contact_id)
        self.check_contact(contact)
        preview = self.preview(contact, template, transliterated)
        self.check_body(preview)
        problem = self.provider.configuration_problem()
        if problem is not None:
            raise ConfigError(problem)
        message = await self._store_pending(contact_id, template, message_type, preview)
        try:
            reply = await self.provider.send(
                OutgoingSms(message.id, message.to_address, message.body)
            )
        except ProviderError as error:
            return await self._store_failure(message, error)
        return await self._store_success(message, reply)

    async def _store_pending(
        self,
        contact_id: int,
        template: str,
        message_type: MessageType,
        preview: SmsPreview,
    ) -> Message:
        async with self._sessions() as session, session.begin():
            # Checked again under the row lock, so a STOP stored meanwhile wins.
            contact = await session.get(Contact, contact_id, with_for_update=True)
            if contact is None:
                raise NotFoundError(f"Contact {contact_id} was deleted; nothing sent.")
            self.check_contact(contact)
            assert contact.mobile_1 is not None  # check_contact ensures it
            message = Message(
                contact_id=contact_id,
                channel=Channel.SMS,
                direction=Direction.OUT,
                type=message_type,
                status=MessageStatus.PENDING,
                from_address=self.provider.sender,
                to_address=contact.mobile_1,
                body=preview.body,
                template=template,
                parts=preview.count.parts,
                encoding=preview.count.encoding.value,
                provider=self.provider.name,
            )
            session.add(message)
            await session.flush()
            await record_status(session, message, MessageStatus.PENDING)
        log.info(
            "Stored SMS %s to contact %s as pending (%s, %d parts)",
            message.id,
            contact_id,
            message.encoding,
            preview.count.parts,
        )
        self._publish(message)
        return message

    async def _store_success(self, message: Message, reply: ProviderReply) -> Message:
        async with self._sessions() as session, session.begin():
            stored = await self._get_message(session, message.id)
            stored.provider_message_id = reply.provider_message_id
            await record_status(session, stored, MessageStatus.SENT)
        log.info(
            "%s accepted SMS %s as %s (%s)",
            self.provider.name,
            stored.id,
            reply.provider_message_id,
            reply.provider_status,
        )
        self._publish(stored)
        if stored.contact_id is not None:
            self._hub.publish(ContactChanged(stored.contact_id))
        return stored

    async def _store_failure(self, message: Message, error: ProviderError) -> Message:
        opted_out = False
        async with self._sessions() as session, session.begin():
            stored = await self._get_message(session, message.id)
            await record_status(
                session,
                stored,
                MessageStatus.ERROR,
                error_code=error.code,
                error_text=error.text,
            )
            if error.code == OPTED_OUT_CODE and stored.contact_id is not None:
                opted_out = await self.record_carrier_opt_out(session, stored, error)
        log.warning(
            "%s rejected SMS %s to contact %s: %s",
            self.provider.name,
            stored.id,
            stored.contact_id,
            error,
        )
        self._publish(stored)
        if opted_out and stored.contact_id is not None:
            self._hub.publish(ContactChanged(stored.contact_id))
        return stored

    async def record_carrier_opt_out(
        self, session: AsyncSession, message: Message, error: ProviderError
    ) -> bool:
        """Set Do not send SMS on the contact of ``message`` after a carrier opt-out.

        Call it when ``error`` is the provider's opted-out error for ``message``.
        It locks the contact, sets the flag and adds a consent event naming the
        provider and the error code in ``session``, which the caller commits.
        Returns True if it set the flag, False if the message has no contact,
        the contact is gone or the flag was already set.
        """
        if message.contact_id is None:
            return False
        contact = await session.get(Contact, message.contact_id, with_for_update=True)
        if contact is None or contact.do_not_send_sms:
            return False
        contact.do_not_send_sms = True
        contact.updated_at = utc_now()
        session.add(
            ConsentEvent(
                contact_id=contact.id,
                channel=Channel.SMS,
                action=ConsentAction.OPT_OUT,
                source=ConsentSource.PROVIDER_ERROR,
                reason=(
                    f"{self.provider.name} error {error.code}: the recipient opted "
                    "out at the carrier by replying STOP"
                ),
                message_id=message.id,
            )
        )
        log.warning(
            "Set Do not send SMS on contact %s after %s error %s",
            contact.id,
            self.provider.name,
            error.code,
        )
        return True

    async def close(self) -> None:
        """Close the provider's connections; call once, when the app stops."""
        await self.provider.aclose()

    async def recover_interrupted(self) -> int:
        """Mark outgoing SMS left pending by a crashed process as errors.

        It touches only rows older than the longest send could last, so a send
        running in another process is left alone. Messages of a scheduled run are
        left to the scheduler, which recovers its deliveries with leases. Returns
        how many were marked.
        """
        age = max(
            MIN_INTERRUPTED_AGE,
            timedelta(seconds=self.provider.longest_send_seconds() + 60),
        )
        query = select(Message).where(
            Message.channel == Channel.SMS,
            Message.direction == Direction.OUT,
            Message.status == MessageStatus.PENDING,
            Message.created_at < utc_now() - age,
            ~exists().where(Delivery.message_id == Message.id),
        )
        async with self._sessions() as session, session.begin():
            messages = list((await session.scalars(query)).all())
            for message in messages:
                await record_status(
                    session,
                    message,
                    MessageStatus.ERROR,
                    error_code=INTERRUPTED_CODE,
                    error_text=INTERRUPTED_TEXT,
                )
        if messages:
            log.warning(
                "Marked %d SMS left pending by an interrupted send as errors: %s",
                len(messages),
                ", ".join(str(message.id) for message in messages),
            )
        for message in messages:
            self._publish(message)
        return len(messages)

    async def _get_message(self, session: AsyncSession, message_id: int) -> Message:
        message = await session.get(Message, message_id, with_for_update=True)
        if message is None:
            raise NotFoundError(
                f"SMS {message_id} disappeared while it was sent; check the "
                f"{self.provider.name} log for it."
            )
        return message

    def _publish(self, message: Message) -> None:
        self._hub.publish(
            MessageStored(
                message_id=message.id,
                contact_id=message.contact_id,
                direction=message.direction.value,
                status=message.status.value,
            )
        )
