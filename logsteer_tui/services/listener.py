"""The webhook listener: an aiohttp server inside the app's own event loop.

Routes: ``GET /health``; ``POST /webhooks/twilio/sms`` and
``/webhooks/twilio/status`` for Twilio; ``POST /webhooks/sms-gateway`` for SMS
Gateway for Android. The listener never prints, because aiohttp's access log and
signal handling are off. A port that is taken is reported through a
ListenerStateChanged event and the log instead of an exception, so the rest of the
app keeps working.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from logsteer_tui.config import Settings
from logsteer_tui.errors import DatabaseError
from logsteer_tui.services.events import EventHub, ListenerStateChanged
from logsteer_tui.services.inbound import InboundService
from logsteer_tui.services.webhooks import (
    IncomingSms,
    StatusReport,
    WebhookRejected,
    sms_gateway,
    twilio,
)

log = logging.getLogger(__name__)

TWILIO_SMS_PATH = "/webhooks/twilio/sms"
TWILIO_STATUS_PATH = "/webhooks/twilio/status"
SMS_GATEWAY_PATH = "/webhooks/sms-gateway"

# Seconds that stop() gives requests in flight before closing their connections.
SHUTDOWN_TIMEOUT_SECONDS = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RejectionLog:
    """Logs one line per rejected request, at most ``limit`` lines a minute.

    A flood of bad requests cannot fill the log file: lines over the limit are
    counted, and the count is logged when the next minute begins.
    """

    def __init__(self, limit: int = 30, window_seconds: float = 60.0) -> None:
        self._limit = limit
        self._window = window_seconds
        self._window_start = 0.0
        self._lines = 0
        self._suppressed = 0

    def rejected(self, request: web.Request, status: int, reason: str) -> None:
        now = time.monotonic()
        if now - self._window_start >= self._window:
            if self._suppressed:
                log.warning(
                    "%d more rejected webhook requests were not logged",
                    self._suppressed,
                )
            self._window_start, self._lines, self._suppressed = now, 0, 0
        if self._lines >= self._limit:
            self._suppressed += 1
            return
        self._lines += 1
        # The path is logged without its query string, which may carry a key.
        log.warning(
            "Rejected %s %s from %s with %d: %s",
            request.method,
            request.path,
            request.remote,
            status,
            reason,
        )


class WebhookListener:
    """Receives provider webhooks and hands them to the inbound service.

    ``start()`` binds ``[listener] host`` and ``port`` (port 0 picks a free one,
    read back from ``port`` afterwards). The current state is in ``state`` and
    each change is published on the hub.
    """

    def __init__(
        self, settings: Settings, inbound: InboundService, hub: EventHub
    ) -> None:
        self._settings = settings
        self._inbound = inbound
        self._hub = hub
        self._runner: web.AppRunner | None = None
        self._rejections = RejectionLog()
        self.port: int | None = None
        self.state = ListenerStateChanged(False, self.configured_address)

    @property
    def configured_address(self) -> str:
        listener = self._settings.listener
        return f"{listener.host}:{listener.port}"

    @property
    def address(self) -> str:
        """host:port as bound, or as configured before the listener runs."""
        if self.port is None:
            return self.configured_address
        return f"{self._settings.listener.host}:{self.port}"

    def _publish(self, running: bool, error: str = "") -> None:
        self.state = ListenerStateChanged(running, self.address, error)
        self._hub.publish(self.state)

    def configuration_problems(self) -> list[str]:
        """Settings that make some webhooks fail, each with the fix."""
        problems = []
        if not self._settings.twilio.auth_token.get_secret_value():
            problems.append(
                "Twilio webhooks are rejected: set [twilio] auth_token "
                "(LOGSTEER_TWILIO__AUTH_TOKEN)"
            )
        return problems

    async def start(self) -> None:
        """Start the inbound writer and bind the server, logging a bind error."""
        await self._inbound.start()
        if self._runner is not None:
            return
        if not self._settings.listener.enabled:
            log.info("The webhook listener is off ([listener] enabled = false)")
            self.state = ListenerStateChanged(
                False, self.address, "[listener] enabled is false", disabled=True
            )
            self._hub.publish(self.state)
            return

        runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
        await runner.setup()
        listener = self._settings.listener
        site = web.TCPSite(runner, listener.host, listener.port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            if error.errno == errno.EADDRINUSE:
                # asyncio's message repeats the address; the short form fits the
                # status bar at 80 columns.
                reason = "the port is in use"
            else:
                reason = error.strerror or str(error)
            message = (
                f"Cannot listen on {self.configured_address}: {reason}. "
                "Stop the program using that port or set another [listener] port."
            )
            log.error("%s", message)
            self._publish(False, message)
            return

        self._runner = runner
        self.port = int(runner.addresses[0][1])
        problems = self.configuration_problems()
        for problem in problems:
            log.warning("%s", problem)
        log.info("The webhook listener is up on %s", self.address)
        # The status bar warns only once Twilio is in use or being set up, so the
        # default development set-up shows no Twilio warning.
        twilio = self._settings.twilio
        if self._settings.sms.provider != "twilio" and not twilio.account_sid:
            problems = []
        self._publish(True, "; ".join(problems))

    async def stop(self) -> None:
        """Close the server, finish queued writes, and stop the inbound writer."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("The webhook listener on %s stopped", self.address)
            self._publish(False)
        await self._inbound.stop()

    def build_app(self) -> web.Application:
        """Build the aiohttp application with every route, for start() and bench/."""
        app = web.Application(
            client_max_size=self._settings.listener.max_body_bytes,
            middlewares=[self._reject_middleware],
        )
        app.router.add_get("/health", self._health)
        app.router.add_post(TWILIO_SMS_PATH, self._twilio_sms)
        app.router.add_post(TWILIO_STATUS_PATH, self._twilio_status)
        app.router.add_post(SMS_GATEWAY_PATH, self._sms_gateway)
        return app

    @web.middleware
    async def _reject_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except WebhookRejected as rejected:
            self._rejections.rejected(request, rejected.status, rejected.message)
            return web.json_response(
                {"error": rejected.message}, status=rejected.status
            )
        except web.HTTPException as http_error:
            if http_error.status >= 400:
                self._rejections.rejected(request, http_error.status, http_error.reason)
            raise
        except DatabaseError:
            # The inbound writer logged the cause, which the caller is not shown.
            # The provider retries on 5xx, and the retry is stored once.
            return web.json_response(
                {"error": "storing the webhook failed; retry later"}, status=500
            )

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ok",
                "twilio": bool(self._settings.twilio.auth_token.get_secret_value()),
                "sms_gateway": bool(
                    self._settings.sms_gateway.signing_key.get_secret_value()
                ),
            }
        )

    async def read_body(self, request: web.Request, content_type: str) -> bytes:
        """Return the raw body, checking its content type and size first.

        Raises WebhookRejected with 415 or 413.
        """
        if request.content_type != content_type:
            raise WebhookRejected(
                415,
                f"content type {request.content_type!r} is not accepted; "
                f"expected {content_type}",
            )
        limit = self._settings.listener.max_body_bytes
        too_large = WebhookRejected(
            413, f"the body is larger than [listener] max_body_bytes = {limit}"
        )
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None

    def twilio_url(self, request: web.Request) -> str:
        """The URL Twilio called: [listener] public_url, then the path and query.

        The Host header is not used, because a proxy or a client may set it to
        anything. With no public_url, the listener's own address is used.
        """
        base = self._settings.listener.public_url.rstrip("/")
        if not base:
            base = f"http://{self.address}"
        return base + request.raw_path

    async def _read_twilio(self, request: web.Request) -> list[tuple[str, str]]:
        token = self._settings.twilio.auth_token.get_secret_value()
        if not token:
            raise WebhookRejected(
                503, "[twilio] auth_token is not set, so no request can be verified"
            )
        body = await self.read_body(request, twilio.FORM_CONTENT_TYPE)
        params = twilio.parse_form(body)
        signature = request.headers.get(twilio.SIGNATURE_HEADER, "")
        if not signature:
            raise WebhookRejected(403, f"missing {twilio.SIGNATURE_HEADER} header")
        if not twilio.check_signature(
            token, self.twilio_url(request), params, signature
        ):
            raise WebhookRejected(
                403,
                # The query string is left out because it may carry a key.
                f"invalid {twilio.SIGNATURE_HEADER} for "
                f"{self.twilio_url(request).split('?')[0]}; check [twilio] auth_token "
                "and [listener] public_url",
            )
        return params

    async def _twilio_sms(self, request: web.Request) -> web.Response:
        params = await self._read_twilio(request)
        await self._inbound.receive(twilio.parse_incoming(params))
        return web.Response(text=twilio.EMPTY_TWIML, content_type="text/xml")

    async def _twilio_status(self, request: web.Request) -> web.Response:
        params = await self._read_twilio(request)
        report = twilio.parse_status(params)
        if report is not None:
            await self._inbound.report_status(report)
        return web.Response(status=200)

    async def _sms_gateway(self, request: web.Request) -> web.Response:
        gateway = self._settings.sms_gateway
        key = gateway.signing_key.get_secret_value()
        if not key:
            raise WebhookRejected(
                503,
                "[sms_gateway] signing_key is not set, so no request can be verified",
            )
        body = await self.read_body(request, sms_gateway.JSON_CONTENT_TYPE)
        sms_gateway.check_signature(
            key,
            body,
            request.headers.get(sms_gateway.TIMESTAMP_HEADER, ""),
            request.headers.get(sms_gateway.SIGNATURE_HEADER, ""),
            now=time.time(),
            max_clock_skew_seconds=gateway.max_clock_skew_seconds,
        )
        record = sms_gateway.parse_event(body, gateway.device_number)
        if isinstance(record, IncomingSms):
            await self._inbound.receive(record)
        elif isinstance(record, StatusReport):
            await self._inbound.report_status(record)
        return web.json_response({"status": "ok"})
