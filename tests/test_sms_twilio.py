"""SmsService through TwilioProvider against the fake Twilio API on 127.0.0.1."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fakes.twilio_api import FakeTwilio
from sqlalchemy import select

from logsteer_tui.config import Settings, load_settings
from logsteer_tui.db.models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    MessageStatus,
)
from logsteer_tui.errors import ConfigError
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.sms import SmsNotAllowedError, SmsService, TwilioProvider
from logsteer_tui.services.sms.providers import status_callback_url

PUBLIC_URL = "https://logsteer.test"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(timeout_sleep_seconds=1.0) as server:
        yield server


def twilio_settings(paths: AppPaths, fake: FakeTwilio, **twilio: Any) -> Settings:
    values: dict[str, Any] = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "from_number": "+15005550006",
        "api_base_url": fake.base_url,
        "timeout_seconds": 0.3,
        "max_attempts": 3,
        "retry_backoff_seconds": 0.01,
    }
    values.update(twilio)
    return load_settings(
        paths.config_file,
        sms={"provider": "twilio"},
        twilio=values,
        listener={"public_url": PUBLIC_URL},
    )


@pytest.fixture
async def twilio(paths: AppPaths, fake: FakeTwilio) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(twilio_settings(paths, fake), paths)
    await runtime.start(background=False)
    yield runtime
    await runtime.stop()


async def make_contact(runtime: Runtime, **values: object) -> Contact:
    fields: dict[str, object] = {"first_name": "Ana", "mobile_1": "+385910000001"}
    fields.update(values)
    return await runtime.contacts.create(fields)


async def test_send_posts_documented_form(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    message = await twilio.sms.send(contact.id, "Hi {{ first_name }}")
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.authorized
    assert request.path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    assert request.form == {
        "To": "+385910000001",
        "From": "+15005550006",
        "Body": "Hi Ana",
        "StatusCallback": f"{PUBLIC_URL}/webhooks/twilio/status",
    }
    assert message.status is MessageStatus.SENT
    assert message.provider == "twilio"
    assert message.provider_message_id == fake.created[0]["sid"]
    assert message.from_address == "+15005550006"


async def test_sends_share_one_connection(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    await twilio.sms.send(contact.id, "First")
    await twilio.sms.send(contact.id, "Second")
    assert len(fake.requests) == 2
    assert fake.requests[0].peer
    assert fake.requests[0].peer == fake.requests[1].peer


async def test_messaging_service_replaces_from(
    paths: AppPaths, fake: FakeTwilio
) -> None:
    settings = twilio_settings(paths, fake, messaging_service_sid="MG" + "1" * 32)
    settings.listener.public_url = ""
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        contact = await make_contact(runtime)
        message = await runtime.sms.send(contact.id, "Hello")
    finally:
        await runtime.stop()
    form = fake.requests[0].form
    assert form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in form
    assert "StatusCallback" not in form
    assert message.status is MessageStatus.SENT


def test_status_callback_url_needs_public_url(settings: Settings) -> None:
    assert status_callback_url(settings.listener) is None
    settings.listener.public_url = "https://logsteer.test/"
    assert status_callback_url(settings.listener) == (
        "https://logsteer.test/webhooks/twilio/status"
    )


async def test_server_errors_retried_then_sent(
    twilio: Runtime, fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("500", "503")
    with caplog.at_level(logging.WARNING, logger="logsteer_tui"):
        message = await twilio.sms.send(contact.id, "Hello")
    assert message.status is MessageStatus.SENT
    assert len(fake.requests) == 3
    retries = [record for record in caplog.records if "retrying" in record.message]
    assert len(retries) == 2
    assert fake.auth_token not in caplog.text


async def test_retries_stop_at_max_attempts(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("500", "500", "500", "500")
    message = await twilio.sms.send(contact.id, "Hello")
    assert len(fake.requests) == 3
    assert message.status is MessageStatus.ERROR
    assert message.error_code == "20500"
    assert message.error_text is not None
    assert "after 3 attempts" in message.error_text


async def test_timeout_retried(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("timeout")
    message = await twilio.sms.send(contact.id, "Hello")
    assert len(fake.requests) == 2
    assert message.status is MessageStatus.SENT


async def test_timeouts_end_in_error(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("timeout", "timeout", "timeout")
    message = await twilio.sms.send(contact.id, "Hello")
    assert message.status is MessageStatus.ERROR
    assert message.error_code == "timeout"


async def test_connection_refused_retried(paths: AppPaths, fake: FakeTwilio) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = twilio_settings(
        paths, fake, api_base_url=f"http://127.0.0.1:{closed_port}"
    )
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        contact = await make_contact(runtime)
        message = await runtime.sms.send(contact.id, "Hello")
    finally:
        await runtime.stop()
    assert message.status is MessageStatus.ERROR
    assert message.error_code == "connection"
    assert message.error_text is not None
    assert "after 3 attempts" in message.error_text


async def test_retry_after_honoured(
    twilio: Runtime, fake: FakeTwilio, paths: AppPaths
) -> None:
    waits: list[float] = []

    async def record_wait(seconds: float) -> None:
        waits.append(seconds)

    provider = TwilioProvider(twilio_settings(paths, fake).twilio, sleep=record_wait)
    service = SmsService(twilio.sessions, twilio.hub, twilio.settings, provider)
    contact = await make_contact(twilio)
    fake.retry_after = "7"
    fake.fail_next("429", "429")
    message = await service.send(contact.id, "Hello")
    assert message.status is MessageStatus.SENT
    assert waits == [7.0, 7.0]


async def test_backoff_doubles_without_retry_after(
    twilio: Runtime, fake: FakeTwilio, paths: AppPaths
) -> None:
    waits: list[float] = []

    async def record_wait(seconds: float) -> None:
        waits.append(seconds)

    twilio_config = twilio_settings(
        paths, fake, max_attempts=4, retry_backoff_seconds=0.5
    ).twilio
    provider = TwilioProvider(twilio_config, sleep=record_wait)
    service = SmsService(twilio.sessions, twilio.hub, twilio.settings, provider)
    contact = await make_contact(twilio)
    fake.fail_next("429", "500", "503")
    message = await service.send(contact.id, "Hello")
    assert message.status is MessageStatus.SENT
    assert waits == [0.5, 1.0, 2.0]


async def test_invalid_number_not_retried(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("21211")
    message = await twilio.sms.send(contact.id, "Hello")
    assert len(fake.requests) == 1
    assert message.status is MessageStatus.ERROR
    assert message.error_code == "21211"
    assert message.error_text is not None
    assert "Invalid 'To' Phone Number" in message.error_text


async def test_wrong_token_not_retried(paths: AppPaths, fake: FakeTwilio) -> None:
    runtime = Runtime.create(twilio_settings(paths, fake, auth_token="wrong"), paths)
    await runtime.start(background=False)
    try:
        contact = await make_contact(runtime)
        message = await runtime.sms.send(contact.id, "Hello")
    finally:
        await runtime.stop()
    assert len(fake.requests) == 1
    assert not fake.requests[0].authorized
    assert message.status is MessageStatus.ERROR
    assert message.error_code == "20003"
    assert message.error_text is not None
    assert "auth_token" in message.error_text


async def test_carrier_opt_out_sets_flag(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("21610")
    message = await twilio.sms.send(contact.id, "Hello")
    assert message.status is MessageStatus.ERROR
    assert message.error_code == "21610"
    stored = await twilio.contacts.get(contact.id)
    assert stored.do_not_send_sms is True
    async with twilio.sessions() as session:
        events = list((await session.scalars(select(ConsentEvent))).all())
    assert len(events) == 1
    assert events[0].action is ConsentAction.OPT_OUT
    assert events[0].source is ConsentSource.PROVIDER_ERROR
    assert "21610" in events[0].reason
    assert events[0].message_id == message.id


async def test_after_opt_out_nothing_sent(twilio: Runtime, fake: FakeTwilio) -> None:
    contact = await make_contact(twilio)
    fake.fail_next("21610")
    await twilio.sms.send(contact.id, "Hello")
    with pytest.raises(SmsNotAllowedError):
        await twilio.sms.send(contact.id, "Hello again")
    assert len(fake.requests) == 1


async def test_refusals_make_no_request(twilio: Runtime, fake: FakeTwilio) -> None:
    opted_out = await make_contact(twilio, do_not_send_sms=True)
    no_mobile = await make_contact(twilio, mobile_1=None)
    for contact in (opted_out, no_mobile):
        with pytest.raises(SmsNotAllowedError):
            await twilio.sms.send(contact.id, "Hello")
    assert fake.requests == []


async def test_missing_credentials_rejected_before_storing(
    paths: AppPaths, fake: FakeTwilio
) -> None:
    runtime = Runtime.create(twilio_settings(paths, fake, account_sid=""), paths)
    await runtime.start(background=False)
    try:
        contact = await make_contact(runtime)
        with pytest.raises(ConfigError, match="account_sid"):
            await runtime.sms.send(contact.id, "Hello")
        assert await runtime.messages.list() == []
    finally:
        await runtime.stop()
    assert fake.requests == []


async def test_fake_understood_by_twilio_library(fake: FakeTwilio) -> None:
    # The official client (a test dependency) must read the fake's replies.
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    client = Client(fake.account_sid, fake.auth_token)
    client.api.base_url = fake.base_url

    def create(to: str) -> Any:
        return client.messages.create(to=to, from_="+15005550006", body="Hello")

    created = await asyncio.to_thread(create, "+385910000001")
    assert created.sid == fake.created[0]["sid"]
    assert created.status == "queued"
    fake.fail_next("21610")
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(create, "+385910000001")
    assert caught.value.code == 21610
    assert caught.value.status == 400
