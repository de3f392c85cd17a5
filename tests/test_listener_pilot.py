"""Pilot tests: webhooks reaching the running TUI, and the review screen."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from conftest import TERMINAL_SIZE
from pilot import settle
from pydantic import SecretStr
from textual.widgets import DataTable, OptionList, TabbedContent
from twilio.request_validator import RequestValidator

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import Settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.confirm import ConfirmScreen
from logsteer_tui.screens.contact import ContactScreen
from logsteer_tui.screens.review import ReviewScreen
from logsteer_tui.services.webhooks import IncomingSms

PUBLIC_URL = "https://sms.example.com"
AUTH_TOKEN = "pilot-auth-token"


def listening_runtime(settings: Settings, paths: AppPaths) -> Runtime:
    settings.listener.port = 0
    settings.listener.public_url = PUBLIC_URL
    settings.twilio.auth_token = SecretStr(AUTH_TOKEN)
    return Runtime.create(settings, paths)


async def post_sms(runtime: Runtime, sender: str, body: str) -> httpx.Response:
    path = "/webhooks/twilio/sms"
    params = {
        "MessageSid": "SMpilot0001",
        "AccountSid": "AC0001",
        "From": sender,
        "To": "+385910009999",
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_URL + path, params
    )
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{runtime.listener.port}"
    ) as client:
        return await client.post(
            path,
            content=urlencode(params),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )


def option_texts(options: OptionList) -> list[str]:
    return [
        str(options.get_option_at_index(index).prompt)
        for index in range(options.option_count)
    ]


def notifications(app: LogsteerApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_incoming_sms_reaches_open_contact(
    settings: Settings, paths: AppPaths
) -> None:
    runtime = listening_runtime(settings, paths)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert runtime.listener.state.running is True
        ana = await runtime.contacts.create(
            {"first_name": "Ana", "last_name": "Horvat", "mobile_1": "091 000 0001"}
        )
        app.push_screen(ContactScreen(runtime, ana.id))
        await settle(pilot, lambda: isinstance(app.screen, ContactScreen))
        app.screen.query_one("#contact-tabs", TabbedContent).active = "sms"
        sms_log = app.screen.query_one("#log-sms", OptionList)

        response = await post_sms(runtime, "+385910000001", "Where is my parcel?")
        assert response.status_code == 200

        await settle(
            pilot,
            lambda: any(
                "Where is my parcel?" in text for text in option_texts(sms_log)
            ),
        )
        await settle(
            pilot,
            lambda: any("Ana Horvat" in text for text in notifications(app)),
        )


async def test_review_screen_links_contact(settings: Settings, paths: AppPaths) -> None:
    runtime = listening_runtime(settings, paths)
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        first = await runtime.contacts.create(
            {"first_name": "Ana", "mobile_1": "+385910000002"}
        )
        await runtime.contacts.create({"first_name": "Ivo", "mobile_1": "0910000002"})
        stored = await runtime.inbound.receive(
            IncomingSms("twilio", "SMreview1", "+385910000002", "+385", "STOP")
        )
        assert stored.needs_review is True

        await pilot.press("f7")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        review = app.screen
        table = review.query_one("#review-messages", DataTable)
        candidates = review.query_one("#review-candidates", OptionList)
        await settle(pilot, lambda: table.row_count == 1)
        await settle(pilot, lambda: candidates.option_count == 2)
        assert any("Ana" in text for text in option_texts(candidates))

        await pilot.press("enter")
        assert candidates.has_focus
        ana_index = next(
            index
            for index, text in enumerate(option_texts(candidates))
            if "Ana" in text
        )
        candidates.highlighted = ana_index
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: table.row_count == 0)

        contact = await runtime.contacts.get(first.id)
        assert contact.do_not_send_sms is True
        assert contact.last_sms_received_body == "STOP"
        assert any("opted them out" in text for text in notifications(app))
