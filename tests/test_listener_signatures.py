"""Webhook signatures and bodies, checked against Twilio's own validator."""

from __future__ import annotations

import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from logsteer_tui.db.models import MessageStatus
from logsteer_tui.services.webhooks import WebhookRejected, sms_gateway, twilio

TOKEN = "12345678901234567890123456789012"


@pytest.mark.parametrize(
    "url",
    [
        "https://sms.example.com/webhooks/twilio/sms",
        "https://sms.example.com/webhooks/twilio/sms?a=1&b=two%20words",
        "https://sms.example.com:443/webhooks/twilio/sms",
        "http://127.0.0.1:8765/webhooks/twilio/sms",
    ],
)
def test_signature_matches_twilio(url: str) -> None:
    params = [("Body", "Hi ž"), ("From", "+385910000001"), ("MessageSid", "SM1")]
    expected = RequestValidator(TOKEN).compute_signature(url, dict(params))
    assert twilio.compute_signature(TOKEN, url, params) == expected
    assert twilio.check_signature(TOKEN, url, params, expected)


def test_repeated_params_match_twilio() -> None:
    url = "https://sms.example.com/webhooks/twilio/sms"
    params = [("MediaUrl", "b"), ("MediaUrl", "a"), ("From", "+385910000001")]
    expected = RequestValidator(TOKEN).compute_signature(url, MultiDict(params))
    assert twilio.compute_signature(TOKEN, url, params) == expected


def test_port_variants_accepted() -> None:
    params = [("MessageSid", "SM1")]
    with_port = RequestValidator(TOKEN).compute_signature(
        "https://sms.example.com:443/hook", dict(params)
    )
    without_port = RequestValidator(TOKEN).compute_signature(
        "https://sms.example.com/hook", dict(params)
    )
    assert twilio.check_signature(
        TOKEN, "https://sms.example.com/hook", params, with_port
    )
    assert twilio.check_signature(
        TOKEN, "https://sms.example.com:443/hook", params, without_port
    )


def test_wrong_token_or_empty_rejected() -> None:
    url = "https://sms.example.com/hook"
    params = [("MessageSid", "SM1")]
    signature = RequestValidator("another").compute_signature(url, dict(params))
    assert not twilio.check_signature(TOKEN, url, params, signature)
    assert not twilio.check_signature("", url, params, signature)
    assert not twilio.check_signature(TOKEN, url, params, "")
    assert not twilio.check_signature(TOKEN, url, params, "ünïcode")


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("queued", MessageStatus.SENDING),
        ("sent", MessageStatus.SENT),
        ("delivered", MessageStatus.DELIVERED),
        ("undelivered", MessageStatus.UNDELIVERED),
        ("failed", MessageStatus.FAILED),
        ("canceled", MessageStatus.FAILED),
    ],
)
def test_twilio_statuses_mapped(value: str, status: MessageStatus) -> None:
    report = twilio.parse_status([("MessageSid", "SM1"), ("MessageStatus", value)])
    assert report is not None
    assert report.status is status


def test_twilio_receiving_ignored() -> None:
    params = [("MessageSid", "SM1"), ("MessageStatus", "receiving")]
    assert twilio.parse_status(params) is None


def test_twilio_error_code_kept() -> None:
    params = [
        ("MessageSid", "SM1"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ]
    report = twilio.parse_status(params)
    assert report is not None
    assert report.error_code == "30003"
    assert report.error_text == "Twilio error 30003"


@pytest.mark.parametrize("body", [b"a=1&b", b"\xff=1", b"Body"])
def test_malformed_form_rejected(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        twilio.parse_form(body)
    assert caught.value.status == 400


def test_gateway_signature_and_skew() -> None:
    body = b'{"event":"system:ping","id":"x","payload":{}}'
    signature = sms_gateway.compute_signature("key", body, "1741912196")
    sms_gateway.check_signature("key", body, "1741912196", signature, 1741912200, 300)
    with pytest.raises(WebhookRejected):
        sms_gateway.check_signature(
            "key", body, "1741912196", signature, 1741912196 + 301, 300
        )
    with pytest.raises(WebhookRejected):
        sms_gateway.check_signature(
            "key", body + b" ", "1741912196", signature, 1741912200, 300
        )
    with pytest.raises(WebhookRejected):
        sms_gateway.check_signature("key", body, "", signature, 1741912200, 300)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"event":"sms:received"}',
        b'{"payload":{}}',
        b'{"event":"sms:received","id":"e1","payload":{"message":"no sender"}}',
    ],
)
def test_gateway_malformed_rejected(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        sms_gateway.parse_event(body, "")
    assert caught.value.status == 400
