"""The webhook listener over real HTTP on 127.0.0.1, with a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from twilio.request_validator import RequestValidator

from logsteer_tui.config import Settings
from logsteer_tui.db.models import (
    Channel,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
)
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services import inbound as inbound_module
from logsteer_tui.services.events import Event, ListenerStateChanged
from logsteer_tui.services.webhooks import sms_gateway

PUBLIC_URL = "https://sms.example.com"
AUTH_TOKEN = "twilio-test-token-0123456789"
SIGNING_KEY = "gateway-test-key"
FORM = "application/x-www-form-urlencoded"


def configure(settings: Settings, port: int = 0) -> Settings:
    settings.listener.port = port
    settings.listener.public_url = PUBLIC_URL
    settings.twilio.auth_token = SecretStr(AUTH_TOKEN)
    settings.sms_gateway.signing_key = SecretStr(SIGNING_KEY)
    settings.sms_gateway.device_number = "+385910009999"
    return settings


@pytest.fixture
async def served(settings: Settings, paths: AppPaths) -> AsyncIterator[Runtime]:
    """A started runtime whose listener runs on a free port of 127.0.0.1."""
    runtime = Runtime.create(configure(settings), paths)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture
async def client(served: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    assert served.listener.port
    base_url = f"http://127.0.0.1:{served.listener.port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield client


def twilio_headers(path: str, params: dict[str, str]) -> dict[str, str]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_URL + path, params
    )
    return {"X-Twilio-Signature": signature, "Content-Type": FORM}


def incoming(sid: str = "SM0001", sender: str = "+385910000001", body: str = "Hi"):
    return {
        "MessageSid": sid,
        "AccountSid": "AC0001",
        "From": sender,
        "To": "+385910009999",
        "Body": body,
        "NumMedia": "0",
    }


async def post_twilio(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> httpx.Response:
    return await client.post(
        path, content=urlencode(params), headers=twilio_headers(path, params)
    )


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def messages(runtime: Runtime) -> list[Message]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(Message).order_by(Message.id))).all())


async def test_health_returns_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["twilio"] is True


async def test_signed_sms_stored(served: Runtime, client: httpx.AsyncClient) -> None:
    response = await post_twilio(client, "/webhooks/twilio/sms", incoming())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    [message] = await messages(served)
    assert message.provider == "twilio"
    assert message.provider_message_id == "SM0001"
    assert message.direction is Direction.IN
    assert message.channel is Channel.SMS
    assert message.status is MessageStatus.RECEIVED
    assert message.body == "Hi"


async def test_signature_with_query_string(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    path = "/webhooks/twilio/sms?account=main&x=1"
    response = await post_twilio(client, path, incoming())
    assert response.status_code == 200
    assert await count(served, Message) == 1


async def test_signature_with_default_port(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    params = incoming()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://sms.example.com:443/webhooks/twilio/sms", params
    )
    response = await client.post(
        "/webhooks/twilio/sms",
        content=urlencode(params),
        headers={"X-Twilio-Signature": signature, "Content-Type": FORM},
    )
    assert response.status_code == 200


async def test_wrong_signature_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    params = incoming()
    headers = twilio_headers("/webhooks/twilio/sms", params)
    params["Body"] = "changed after signing"
    response = await client.post(
        "/webhooks/twilio/sms", content=urlencode(params), headers=headers
    )
    assert response.status_code == 403
    assert await count(served, Message) == 0


async def test_query_string_is_signed(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    params = incoming()
    headers = twilio_headers("/webhooks/twilio/sms", params)
    response = await client.post(
        "/webhooks/twilio/sms?extra=1", content=urlencode(params), headers=headers
    )
    assert response.status_code == 403
    assert await count(served, Message) == 0


async def test_missing_signature_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/webhooks/twilio/sms",
        content=urlencode(incoming()),
        headers={"Content-Type": FORM},
    )
    assert response.status_code == 403
    assert await count(served, Message) == 0


async def test_host_header_not_trusted(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    params = incoming()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://attacker.example/webhooks/twilio/sms", params
    )
    response = await client.post(
        "/webhooks/twilio/sms",
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": FORM,
            "Host": "attacker.example",
        },
    )
    assert response.status_code == 403


async def test_no_auth_token_rejects_all(settings: Settings, paths: AppPaths) -> None:
    configure(settings).twilio.auth_token = SecretStr("")
    settings.twilio.account_sid = "AC" + "0" * 32
    runtime = Runtime.create(settings, paths)
    states: list[Event] = []
    runtime.hub.subscribe(states.append)
    await runtime.start()
    try:
        base_url = f"http://127.0.0.1:{runtime.listener.port}"
        async with httpx.AsyncClient(base_url=base_url) as client:
            for path in ("/webhooks/twilio/sms", "/webhooks/twilio/status"):
                response = await post_twilio(client, path, incoming())
                assert response.status_code == 503
                assert "auth_token" in response.json()["error"]
        assert await count(runtime, Message) == 0
        assert runtime.listener.state.running is True
        assert "[twilio] auth_token" in runtime.listener.state.error
        assert isinstance(states[-1], ListenerStateChanged)
    finally:
        await runtime.stop()


async def test_no_twilio_setup_no_warning(settings: Settings, paths: AppPaths) -> None:
    configure(settings).twilio.auth_token = SecretStr("")
    runtime = Runtime.create(settings, paths)
    await runtime.start()
    try:
        assert runtime.listener.state.running is True
        assert runtime.listener.state.error == ""
    finally:
        await runtime.stop()


async def test_oversized_body_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    params = incoming(body="x" * (served.settings.listener.max_body_bytes + 10))
    response = await post_twilio(client, "/webhooks/twilio/sms", params)
    assert response.status_code == 413
    assert await count(served, Message) == 0


async def test_wrong_content_type_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    params = incoming()
    headers = twilio_headers("/webhooks/twilio/sms", params)
    headers["Content-Type"] = "application/json"
    response = await client.post(
        "/webhooks/twilio/sms", content=json.dumps(params), headers=headers
    )
    assert response.status_code == 415
    assert await count(served, Message) == 0


async def test_malformed_form_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    for body in (b"\xff\xfe=\x00", b"From=%2B385910000001&Body=no+sid"):
        response = await client.post(
            "/webhooks/twilio/sms",
            content=body,
            headers={"X-Twilio-Signature": "x", "Content-Type": FORM},
        )
        assert response.status_code in (400, 403), body
    params = {"From": "+385910000001", "Body": "no sid"}
    response = await post_twilio(client, "/webhooks/twilio/sms", params)
    assert response.status_code == 400
    assert await count(served, Message) == 0


async def test_retry_stored_once(served: Runtime, client: httpx.AsyncClient) -> None:
    first = await post_twilio(client, "/webhooks/twilio/sms", incoming(body="STOP"))
    second = await post_twilio(client, "/webhooks/twilio/sms", incoming(body="STOP"))
    assert first.status_code == 200
    assert second.status_code == 200
    assert await count(served, Message) == 1
    assert await count(served, Contact) == 1


async def test_concurrent_duplicates_one_row(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    requests = [
        post_twilio(client, "/webhooks/twilio/sms", incoming(sid=f"SM{index % 3}"))
        for index in range(30)
    ]
    responses = await asyncio.gather(*requests)
    assert [response.status_code for response in responses] == [200] * 30
    assert await count(served, Message) == 3
    assert await count(served, Contact) == 1


async def outgoing(runtime: Runtime, sid: str) -> int:
    contact = await runtime.contacts.create({"mobile_1": "+385910000001"})
    async with runtime.sessions() as session, session.begin():
        message = Message(
            contact_id=contact.id,
            channel=Channel.SMS,
            direction=Direction.OUT,
            status=MessageStatus.SENDING,
            to_address="+385910000001",
            body="Your order has shipped",
            provider="twilio",
            provider_message_id=sid,
        )
        session.add(message)
    return message.id


def status(sid: str, value: str, error_code: str = "") -> dict[str, str]:
    params = {"MessageSid": sid, "AccountSid": "AC0001", "MessageStatus": value}
    if error_code:
        params["ErrorCode"] = error_code
    return params


async def message_status(runtime: Runtime, message_id: int) -> Message:
    async with runtime.sessions() as session:
        message = await session.get(Message, message_id)
    assert message is not None
    return message


async def history(runtime: Runtime, message_id: int) -> list[str]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(MessageStatusEvent.status)
            .where(MessageStatusEvent.message_id == message_id)
            .order_by(MessageStatusEvent.id)
        )
        return [str(row) for row in rows]


async def test_status_callbacks_in_order(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    message_id = await outgoing(served, "SMout1")
    for value in ("queued", "sent", "delivered"):
        response = await post_twilio(
            client, "/webhooks/twilio/status", status("SMout1", value)
        )
        assert response.status_code == 200
    message = await message_status(served, message_id)
    assert message.status is MessageStatus.DELIVERED
    assert message.sent_at is not None
    assert await history(served, message_id) == ["sending", "sent", "delivered"]


async def test_status_callbacks_out_of_order(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    message_id = await outgoing(served, "SMout2")
    for value in ("delivered", "sent", "sent", "queued"):
        response = await post_twilio(
            client, "/webhooks/twilio/status", status("SMout2", value)
        )
        assert response.status_code == 200
    message = await message_status(served, message_id)
    assert message.status is MessageStatus.DELIVERED
    assert sorted(await history(served, message_id)) == [
        "delivered",
        "sending",
        "sent",
    ]


async def test_undelivered_keeps_error_code(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    message_id = await outgoing(served, "SMout3")
    await post_twilio(
        client, "/webhooks/twilio/status", status("SMout3", "undelivered", "30003")
    )
    message = await message_status(served, message_id)
    assert message.status is MessageStatus.UNDELIVERED
    assert message.error_code == "30003"


async def test_status_unknown_sid_ignored(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    response = await post_twilio(
        client, "/webhooks/twilio/status", status("SMnobody", "delivered")
    )
    assert response.status_code == 200
    assert await count(served, Message) == 0
    assert await count(served, MessageStatusEvent) == 0


async def test_taken_port_reported(settings: Settings, paths: AppPaths) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        runtime = Runtime.create(configure(settings, taken.getsockname()[1]), paths)
        states: list[Event] = []
        runtime.hub.subscribe(states.append)
        await runtime.start()
        try:
            state = runtime.listener.state
            assert state.running is False
            assert "Cannot listen on" in state.error
            assert "the port is in use" in state.error
            assert "[listener] port" in state.error
            assert states == [state]
            contact = await runtime.contacts.create({"first_name": "Ana"})
            assert contact.id > 0
        finally:
            await runtime.stop()


def gateway_request(event: dict[str, object], key: str = SIGNING_KEY):
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Signature": sms_gateway.compute_signature(key, body, timestamp),
    }
    return body, headers


def gateway_sms(event_id: str = "evt-1", body: str = "Hello") -> dict[str, object]:
    return {
        "deviceId": "device-1",
        "event": "sms:received",
        "id": event_id,
        "webhookId": "hook-1",
        "payload": {
            "messageId": "abc123",
            "message": body,
            "phoneNumber": "+385910000001",
            "simNumber": 1,
            "receivedAt": "2026-12-04T15:46:11.000+01:00",
        },
    }


async def test_gateway_signed_sms_stored(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    body, headers = gateway_request(gateway_sms())
    response = await client.post("/webhooks/sms-gateway", content=body, headers=headers)
    assert response.status_code == 200
    [message] = await messages(served)
    assert message.provider == "sms_gateway"
    assert message.provider_message_id == "evt-1"
    assert message.to_address == "+385910009999"
    assert message.created_at.isoformat() == "2026-12-04T14:46:11+00:00"


async def test_gateway_wrong_key_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    body, headers = gateway_request(gateway_sms(), key="another key")
    response = await client.post("/webhooks/sms-gateway", content=body, headers=headers)
    assert response.status_code == 403
    assert await count(served, Message) == 0


async def test_gateway_old_timestamp_rejected(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    body = json.dumps(gateway_sms()).encode()
    timestamp = str(int(time.time()) - 3600)
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Signature": sms_gateway.compute_signature(SIGNING_KEY, body, timestamp),
    }
    response = await client.post("/webhooks/sms-gateway", content=body, headers=headers)
    assert response.status_code == 403
    assert await count(served, Message) == 0


async def test_gateway_status_moves_message(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    contact = await served.contacts.create({"mobile_1": "+385910000002"})
    async with served.sessions() as session, session.begin():
        message = Message(
            contact_id=contact.id,
            channel=Channel.SMS,
            direction=Direction.OUT,
            status=MessageStatus.SENT,
            to_address="+385910000002",
            body="Reminder",
            provider="sms_gateway",
            provider_message_id="out-7",
        )
        session.add(message)
    event = {
        "event": "sms:failed",
        "id": "evt-9",
        "payload": {"messageId": "out-7", "reason": "RESULT_ERROR_NO_SERVICE"},
    }
    body, headers = gateway_request(event)
    response = await client.post("/webhooks/sms-gateway", content=body, headers=headers)
    assert response.status_code == 200
    stored = await message_status(served, message.id)
    assert stored.status is MessageStatus.FAILED
    assert stored.error_text == "RESULT_ERROR_NO_SERVICE"


async def test_gateway_ping_stores_nothing(
    served: Runtime, client: httpx.AsyncClient
) -> None:
    body, headers = gateway_request({"event": "system:ping", "id": "p", "payload": {}})
    response = await client.post("/webhooks/sms-gateway", content=body, headers=headers)
    assert response.status_code == 200
    assert await count(served, Message) == 0


async def test_rejection_logged_without_secrets(
    served: Runtime, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    params = incoming()
    headers = twilio_headers("/webhooks/twilio/sms", params)
    params["Body"] = "tampered"
    with caplog.at_level("WARNING", logger="logsteer_tui.services.listener"):
        await client.post(
            "/webhooks/twilio/sms?key=secret-query",
            content=urlencode(params),
            headers=headers,
        )
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1
    assert "403" in lines[0]
    assert AUTH_TOKEN not in lines[0]
    assert headers["X-Twilio-Signature"] not in lines[0]
    assert "secret-query" not in lines[0]


async def test_disabled_listener_binds_nothing(
    settings: Settings, paths: AppPaths
) -> None:
    configure(settings).listener.enabled = False
    runtime = Runtime.create(settings, paths)
    await runtime.start()
    try:
        assert runtime.listener.port is None
        assert runtime.listener.state.running is False
        assert "[listener] enabled" in runtime.listener.state.error
    finally:
        await runtime.stop()


async def test_stop_reports_listener_down(settings: Settings, paths: AppPaths) -> None:
    runtime = Runtime.create(configure(settings), paths)
    await runtime.start()
    port = runtime.listener.port
    await runtime.stop()
    assert runtime.listener.state.running is False
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port or 0))


async def test_second_start_keeps_port(served: Runtime) -> None:
    port = served.listener.port
    await served.listener.start()
    assert served.listener.port == port
    assert served.listener.state.running is True


async def test_database_error_answers_500(
    served: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_store(*args: object) -> None:
        raise OperationalError("INSERT INTO message", {}, OSError("disk I/O error"))

    monkeypatch.setattr(inbound_module, "store_incoming", failing_store)
    response = await post_twilio(client, "/webhooks/twilio/sms", incoming())
    assert response.status_code == 500
    assert "disk" not in response.text
    assert await count(served, Message) == 0

    monkeypatch.undo()
    retry = await post_twilio(client, "/webhooks/twilio/sms", incoming())
    assert retry.status_code == 200
    assert await count(served, Message) == 1
