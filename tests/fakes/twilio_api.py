"""A fake of Twilio's Messages REST API (2010-04-01) over real HTTP on 127.0.0.1.

It checks HTTP Basic auth, reads the form fields of a create-message request,
answers with Twilio's JSON message or error bodies, and records every request.
Tests queue failures with ``fail_next``: a 500, a 429 (with Retry-After), a
timeout (the handler sleeps past the client's timeout), or a Twilio error such
as 21610 (recipient opted out) or 21211 (invalid To number).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any, Literal

from aiohttp import web

from logsteer_tui.db.types import utc_now

Failure = Literal["500", "503", "429", "timeout", "21610", "21211", "21606"]

# Twilio's HTTP status and message for each error code the fake can send.
TWILIO_ERRORS: dict[str, tuple[int, str]] = {
    "20003": (401, "Authenticate"),
    "21211": (400, "Invalid 'To' Phone Number"),
    "21602": (400, "Message body is required."),
    "21604": (400, "A 'To' phone number is required."),
    "21606": (
        400,
        "The 'From' phone number provided is not a valid message-capable "
        "Twilio phone number for this destination/account.",
    ),
    "21610": (400, "Attempt to send to unsubscribed recipient"),
    "20429": (429, "Too Many Requests"),
}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake saw it."""

    method: str
    path: str
    account_sid: str
    form: dict[str, str]
    authorized: bool
    peer: str = ""
    """The client's address and port, which stay the same on a kept connection."""


@dataclass
class FakeTwilio:
    """The server; start it with ``async with FakeTwilio(...) as fake``."""

    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    timeout_sleep_seconds: float = 2.0
    retry_after: str | None = None
    """The Retry-After header sent with a 429; None sends none."""

    requests: list[ReceivedRequest] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    """The message resources created, in order."""

    _failures: list[Failure] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next requests with these failures, one each, in order."""
        self._failures.extend(failures)

    async def __aenter__(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post(
            "/2010-04-01/Accounts/{account_sid}/Messages.json", self._create_message
        )
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _create_message(self, request: web.Request) -> web.Response:
        account_sid = request.match_info["account_sid"]
        form = {key: str(value) for key, value in (await request.post()).items()}
        authorized = self._authorized(request, account_sid)
        peer = request.transport.get_extra_info("peername") if request.transport else ""
        self.requests.append(
            ReceivedRequest(
                request.method, request.path, account_sid, form, authorized, str(peer)
            )
        )
        if not authorized:
            return error_response("20003")
        if self._failures:
            return await self._failure(self._failures.pop(0))
        for required, code in (("To", "21604"), ("Body", "21602")):
            if not form.get(required):
                return error_response(code)
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return error_response("21606")
        if not form["To"].startswith("+"):
            return error_response("21211")
        resource = self._message_resource(account_sid, form)
        self.created.append(resource)
        return web.json_response(resource, status=201)

    def _authorized(self, request: web.Request, account_sid: str) -> bool:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        header = request.headers.get("Authorization", "")
        return (
            account_sid == self.account_sid
            and header == "Basic " + base64.b64encode(expected).decode()
        )

    async def _failure(self, failure: Failure) -> web.Response:
        if failure == "timeout":
            await asyncio.sleep(self.timeout_sleep_seconds)
            return web.json_response({}, status=504)
        if failure in ("500", "503"):
            status = int(failure)
            return web.json_response(
                {"code": 20500, "message": "Internal Server Error", "status": status},
                status=status,
            )
        if failure == "429":
            response = error_response("20429")
            if self.retry_after is not None:
                response.headers["Retry-After"] = self.retry_after
            return response
        return error_response(failure)

    def _message_resource(
        self, account_sid: str, form: dict[str, str]
    ) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(utc_now())
        service_sid = form.get("MessagingServiceSid")
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": service_sid,
            "num_media": "0",
            "num_segments": "0" if service_sid else "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service_sid else "queued",
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }


def error_response(code: str) -> web.Response:
    """Twilio's error body for ``code``: code, message, more_info and status."""
    status, message = TWILIO_ERRORS[code]
    return web.json_response(
        {
            "code": int(code),
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )
