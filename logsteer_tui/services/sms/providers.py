"""SMS providers: one small interface, a development provider and Twilio.

A provider hands one message to whatever delivers it and returns the provider's
message id, or raises ProviderError with the provider's error code and text. The
outbox (outbox.py) owns the database and calls providers only after the message
is stored as pending.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from logsteer_tui.config import ListenerSettings, Settings, TwilioSettings
from logsteer_tui.db.types import utc_now
from logsteer_tui.paths import AppPaths

log = logging.getLogger(__name__)

OPTED_OUT_CODE = "21610"
"""Twilio's error for a recipient who replied STOP to this sender at the carrier."""

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"

# A Retry-After longer than this is cut short, so one wait lasts a minute at most.
MAX_RETRY_AFTER_SECONDS = 60.0

# Hints appended to Twilio's own error text, saying what to fix.
TWILIO_ERROR_HINTS = {
    "20003": "check [twilio] account_sid and auth_token",
    "20429": "Twilio is limiting requests; try again in a minute",
    "21211": "check the contact's Mobile 1",
    "21212": "check [twilio] from_number",
    "21606": "check [twilio] from_number; it must be able to send SMS",
    "21608": "a trial account can send only to verified numbers",
    OPTED_OUT_CODE: "the recipient replied STOP; they must reply START to opt in",
}


@dataclass(frozen=True)
class OutgoingSms:
    """One message for a provider; ``message_id`` is our id, for logs."""

    message_id: int
    to: str
    body: str


@dataclass(frozen=True)
class ProviderReply:
    provider_message_id: str
    provider_status: str
    """The provider's own word for the message's state, such as "queued"."""


class ProviderError(Exception):
    """A provider did not accept a message.

    ``code`` is the provider's error code ("21211") or one of ours ("timeout",
    "connection", "config", "HTTP 503"). ``transient`` errors may succeed when
    tried again; ``retry_after`` is the wait the provider asked for, in seconds.
    """

    def __init__(
        self,
        code: str,
        text: str,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.transient = transient
        self.retry_after = retry_after


class SmsProvider(Protocol):
    """The interface through which the outbox hands a message to a provider."""

    name: str
    """Stored in message.provider; provider message ids are unique per name."""

    @property
    def sender(self) -> str:
        """The From of messages: a number, a service id or a label."""
        ...

    def configuration_problem(self) -> str | None:
        """Why this provider cannot send with its settings, or None when it can."""
        ...

    def longest_send_seconds(self) -> float:
        """Return an upper bound, in seconds, on one send() with its retries."""
        ...

    async def send(self, sms: OutgoingSms) -> ProviderReply: ...

    async def aclose(self) -> None:
        """Release connections kept between sends."""
        ...


class DevProvider:
    """Records each message as a JSON line in a local file and reports it sent."""

    name = "dev"
    sender = "logsteer-dev"

    def __init__(self, outbox_file: Path) -> None:
        self.outbox_file = outbox_file

    def configuration_problem(self) -> str | None:
        return None

    def longest_send_seconds(self) -> float:
        return 5.0

    async def send(self, sms: OutgoingSms) -> ProviderReply:
        provider_message_id = "DEV" + secrets.token_hex(16)
        record = {
            "id": provider_message_id,
            "message_id": sms.message_id,
            "from": self.sender,
            "to": sms.to,
            "body": sms.body,
            "created_at": utc_now().isoformat(),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as error:
            raise ProviderError(
                "dev_outbox",
                f"Cannot write the development outbox {self.outbox_file}: {error}. "
                "Check that the folder is writable.",
            ) from error
        log.info("Development provider recorded message %s", sms.message_id)
        return ProviderReply(provider_message_id, "sent")

    async def aclose(self) -> None:
        """Keep nothing open: each send appends to the file and closes it."""

    def _append(self, line: str) -> None:
        self.outbox_file.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox_file.open("a", encoding="utf-8") as file:
            file.write(line)


Sleep = Callable[[float], Awaitable[None]]


class TwilioProvider:
    """Sends through Twilio's Messages REST API (version 2010-04-01) with httpx.

    Timeouts, connection errors, 429 and 5xx replies are retried up to
    ``max_attempts`` times with exponential backoff (a 429's Retry-After wins);
    other errors are final.
    """

    name = "twilio"

    def __init__(
        self,
        settings: TwilioSettings,
        status_callback_url: str | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self.status_callback_url = status_callback_url
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None

    @property
    def sender(self) -> str:
        return self._settings.messaging_service_sid or self._settings.from_number

    def _http_client(self) -> httpx.AsyncClient:
        # One client for every send keeps the TLS connection to Twilio open. A
        # new client per message capped a bulk run near 40 messages a second.
        if self._client is None:
            settings = self._settings
            self._client = httpx.AsyncClient(
                auth=(settings.account_sid, settings.auth_token.get_secret_value()),
                timeout=settings.timeout_seconds,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def messages_url(self) -> str:
        base = self._settings.api_base_url.rstrip("/")
        return f"{base}/2010-04-01/Accounts/{self._settings.account_sid}/Messages.json"

    def configuration_problem(self) -> str | None:
        settings = self._settings
        missing = []
        if not settings.account_sid:
            missing.append("account_sid")
        if not settings.auth_token.get_secret_value():
            missing.append("auth_token")
        if not (settings.from_number or settings.messaging_service_sid):
            missing.append("from_number or messaging_service_sid")
        if missing:
            return (
                f"Twilio is the SMS provider but [twilio] {', '.join(missing)} "
                "is not set. Set it in the config file, or set [sms] provider = "
                '"dev" to record messages locally.'
            )
        if not settings.api_base_url.startswith(("https://", "http://")):
            return (
                f"[twilio] api_base_url {settings.api_base_url!r} is not an HTTP "
                "address; use https://api.twilio.com."
            )
        return None

    def longest_send_seconds(self) -> float:
        settings = self._settings
        waits = sum(
            max(settings.retry_backoff_seconds * 2.0**attempt, MAX_RETRY_AFTER_SECONDS)
            for attempt in range(settings.max_attempts - 1)
        )
        # httpx applies the timeout to each of connect, write, read and pool.
        return float(settings.max_attempts * settings.timeout_seconds * 4 + waits)

    def form_fields(self, sms: OutgoingSms) -> dict[str, str]:
        """Build the form of a create-message request for ``sms``."""
        form = {"To": sms.to, "Body": sms.body}
        if self._settings.messaging_service_sid:
            form["MessagingServiceSid"] = self._settings.messaging_service_sid
        else:
            form["From"] = self._settings.from_number
        if self.status_callback_url:
            form["StatusCallback"] = self.status_callback_url
        return form

    async def send(self, sms: OutgoingSms) -> ProviderReply:
        problem = self.configuration_problem()
        if problem:
            raise ProviderError("config", problem)
        settings = self._settings
        client = self._http_client()
        for attempt in range(1, settings.max_attempts + 1):
            try:
                return await self._attempt(client, sms)
            except ProviderError as error:
                if not error.transient or attempt == settings.max_attempts:
                    raise _final(error, attempt) from None
                delay = self._delay(attempt, error)
                log.warning(
                    "Twilio send of message %s failed on attempt %d of %d "
                    "(%s); retrying in %.2f s",
                    sms.message_id,
                    attempt,
                    settings.max_attempts,
                    error,
                    delay,
                )
                await self._sleep(delay)
        raise AssertionError("the retry loop returns or raises")  # pragma: no cover

    def _delay(self, attempt: int, error: ProviderError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
        return float(self._settings.retry_backoff_seconds * 2 ** (attempt - 1))

    async def _attempt(
        self, client: httpx.AsyncClient, sms: OutgoingSms
    ) -> ProviderReply:
        # NOTE: Twilio's Messages API takes no idempotency key, so a retry after a
        # read timeout can send a message twice if Twilio did receive the first.
        try:
            response = await client.post(self.messages_url, data=self.form_fields(sms))
        except httpx.TimeoutException:
            raise ProviderError(
                "timeout",
                f"Twilio did not answer within {self._settings.timeout_seconds} s",
                transient=True,
            ) from None
        except httpx.TransportError as error:
            raise ProviderError(
                "connection",
                f"Cannot reach {self._settings.api_base_url}: {error or type(error)}",
                transient=True,
            ) from None
        return parse_reply(response)


def parse_reply(response: httpx.Response) -> ProviderReply:
    """Read Twilio's reply to a create-message request.

    Raises ProviderError with Twilio's code and message for an error reply, or for
    a created message whose status is already failed.
    """
    data = _json_object(response)
    if response.is_success:
        sid = data.get("sid")
        if not isinstance(sid, str) or not sid:
            raise ProviderError(
                "invalid_reply",
                f"Twilio answered {response.status_code} with no message sid",
            )
        status = str(data.get("status") or "")
        if status in {"failed", "undelivered", "canceled"}:
            code = str(data.get("error_code") or status)
            text = str(data.get("error_message") or f"Twilio marked it {status}")
            raise ProviderError(code, _with_hint(code, text))
        return ProviderReply(sid, status)
    status_code = response.status_code
    code = str(data.get("code") or f"HTTP {status_code}")
    text = str(data.get("message") or response.reason_phrase or "no message")
    transient = status_code == 429 or status_code >= 500
    retry_after = _retry_after(response) if status_code == 429 else None
    raise ProviderError(code, _with_hint(code, text), transient, retry_after)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    # Only the delay-seconds form is read; an HTTP date falls back to the backoff.
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _with_hint(code: str, text: str) -> str:
    hint = TWILIO_ERROR_HINTS.get(code)
    return f"{text} ({hint})" if hint else text


def _final(error: ProviderError, attempts: int) -> ProviderError:
    if not error.transient or attempts == 1:
        return error
    return ProviderError(
        error.code, f"{error.text}, after {attempts} attempts", transient=True
    )


def status_callback_url(listener: ListenerSettings) -> str | None:
    """Return the StatusCallback URL, or None when no public URL is set."""
    if not listener.public_url:
        return None
    return listener.public_url.rstrip("/") + STATUS_CALLBACK_PATH


def build_provider(settings: Settings, paths: AppPaths) -> SmsProvider:
    """Build the provider named by ``[sms] provider``."""
    if settings.sms.provider == "twilio":
        return TwilioProvider(settings.twilio, status_callback_url(settings.listener))
    return DevProvider(paths.dev_outbox_file)
