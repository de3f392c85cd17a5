"""Benchmark: incoming SMS stored durably per second by the webhook listener.

Run from the repository root:

    .venv/bin/python bench/bench_listener.py [--requests 3000] [--concurrency 10 50]

The server runs in this process, in one event loop as in the TUI, on a fresh
SQLite file in a temporary folder. Load comes from a child process on 127.0.0.1
that keeps N connections busy with signed Twilio incoming-SMS requests, each with
a new MessageSid, until it has sent ``--requests`` or ``--max-seconds`` passed.
Each 200 is sent only after the message's batch committed.

Two endpoints of the same server are compared: the Twilio route (content type,
size and signature checks, form parsing, contact matching) and a bare route that
hands the same IncomingSms to the same inbound service with no checks. The ratio
full/bare shows the listener's own cost. While the full route runs, a task
measures the event loop's lag (how late a 5 ms sleep wakes up), which is what the
TUI would feel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from pydantic import SecretStr
from sqlalchemy import func, insert, select

from logsteer_tui.config import Settings
from logsteer_tui.db.models import Contact, Message
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.contacts import derived_columns
from logsteer_tui.services.listener import TWILIO_SMS_PATH
from logsteer_tui.services.webhooks import IncomingSms, twilio

PUBLIC_URL = "https://sms.example.com"
AUTH_TOKEN = "bench-auth-token"
BARE_PATH = "/bench/bare"
NOOP_PATH = "/bench/noop"
LAG_INTERVAL_SECONDS = 0.005
# Contacts seeded before the runs, so every request matches one, as most replies do.
SENDERS = 5000


# The load generator, run as a child process.


def sender_number(index: int) -> str:
    """Return the sender of request ``index``, one of the SENDERS seeded contacts."""
    return f"+3859100{index % SENDERS:05d}"


def signed_requests(path: str, count: int, prefix: str) -> list[tuple[str, str]]:
    """Build ``count`` form bodies with their X-Twilio-Signature, before timing."""
    requests = []
    for index in range(count):
        params = {
            "MessageSid": f"SM{prefix}{index:08d}",
            "AccountSid": "ACbench",
            "From": sender_number(index),
            "To": "+385910009999",
            "Body": "Is my order on its way?",
            "NumMedia": "0",
        }
        signature = twilio.compute_signature(
            AUTH_TOKEN, PUBLIC_URL + path, list(params.items())
        )
        requests.append((urlencode(params), signature))
    return requests


async def generate_load(arguments: argparse.Namespace) -> dict[str, Any]:
    requests = signed_requests(arguments.path, arguments.requests, arguments.prefix)
    url = f"http://127.0.0.1:{arguments.port}{arguments.path}"
    statuses: dict[int, int] = {}
    next_index = 0
    deadline = time.monotonic() + arguments.max_seconds

    async def worker(session: ClientSession) -> None:
        nonlocal next_index
        while next_index < len(requests) and time.monotonic() < deadline:
            body, signature = requests[next_index]
            next_index += 1
            headers = {
                "Content-Type": twilio.FORM_CONTENT_TYPE,
                "X-Twilio-Signature": signature,
            }
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

    connector = TCPConnector(limit=arguments.concurrency)
    timeout = ClientTimeout(total=30)
    async with ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(arguments.concurrency)))
        elapsed = time.perf_counter() - started
    ok = statuses.get(200, 0)
    return {"ok": ok, "statuses": statuses, "seconds": elapsed, "rate": ok / elapsed}


# The server and the measurement, in this process.


class LagMonitor:
    """Measures how late the event loop wakes a task that sleeps 5 ms."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_INTERVAL_SECONDS)
            self.lags.append(time.perf_counter() - before - LAG_INTERVAL_SECONDS)

    def start(self) -> None:
        self.lags.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def p99_ms(self) -> float:
        if len(self.lags) < 2:
            return 0.0
        return statistics.quantiles(self.lags, n=100)[98] * 1000


def bare_handler(runtime: Runtime) -> Any:
    async def handle(request: web.Request) -> web.Response:
        params = dict(parse_qsl((await request.read()).decode()))
        await runtime.inbound.receive(
            IncomingSms(
                provider="twilio",
                provider_message_id=params["MessageSid"],
                sender=params["From"],
                recipient=params["To"],
                body=params["Body"],
            )
        )
        return web.Response(text=twilio.EMPTY_TWIML, content_type="text/xml")

    return handle


async def noop_handler(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text=twilio.EMPTY_TWIML, content_type="text/xml")


async def run_load(
    port: int,
    path: str,
    concurrency: int,
    arguments: argparse.Namespace,
    run: str = "",
) -> dict[str, Any]:
    prefix = f"{run}{path.strip('/').replace('/', '')}{concurrency}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "load",
        f"--port={port}",
        f"--path={path}",
        f"--concurrency={concurrency}",
        f"--requests={arguments.requests}",
        f"--max-seconds={arguments.max_seconds}",
        f"--prefix={prefix}",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        output, _ = await asyncio.wait_for(
            process.communicate(), arguments.max_seconds + 60
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"the load generator exited with {process.returncode}")
    result: dict[str, Any] = json.loads(output)
    return result


async def seed_contacts(runtime: Runtime) -> None:
    rows = []
    for index in range(SENDERS):
        fields = {"first_name": f"Customer {index}", "mobile_1": sender_number(index)}
        rows.append({**fields, **derived_columns(fields), "attributes": {}})
    async with runtime.sessions() as session, session.begin():
        await session.execute(insert(Contact), rows)


async def stored_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def serve_and_measure(arguments: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="logsteer-bench-") as folder:
        root = Path(folder)
        paths = AppPaths(root / "config", root / "data", root / "log")
        settings = Settings(database_url=f"sqlite:///{root / 'bench.sqlite'}")
        settings.listener.public_url = PUBLIC_URL
        settings.twilio.auth_token = SecretStr(AUTH_TOKEN)
        runtime = Runtime.create(settings, paths)
        await runtime.start(background=False)
        await runtime.inbound.start()
        await seed_contacts(runtime)
        app = runtime.listener.build_app()
        app.router.add_post(BARE_PATH, bare_handler(runtime))
        app.router.add_post(NOOP_PATH, noop_handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = int(runner.addresses[0][1])
        monitor = LagMonitor()
        failed = False
        try:
            warm_up = argparse.Namespace(**{**vars(arguments), "requests": 300})
            await run_load(port, BARE_PATH, 10, warm_up, "warm")
            await run_load(port, TWILIO_SMS_PATH, 10, warm_up, "warm")
            for concurrency in arguments.concurrency:
                before = await stored_count(runtime)
                bare_runs, full_runs, lags = [], [], []
                for round_number in range(arguments.rounds):
                    run = f"r{round_number}"
                    bare_runs.append(
                        await run_load(port, BARE_PATH, concurrency, arguments, run)
                    )
                    monitor.start()
                    full_runs.append(
                        await run_load(
                            port, TWILIO_SMS_PATH, concurrency, arguments, run
                        )
                    )
                    await monitor.stop()
                    lags.append(monitor.p99_ms())
                stored = await stored_count(runtime) - before
                answered = sum(result["ok"] for result in bare_runs + full_runs)
                full = max(result["rate"] for result in full_runs)
                bare = max(result["rate"] for result in bare_runs)
                print(
                    f"concurrency {concurrency:>3}: full {full:7.0f}/s  "
                    f"bare {bare:7.0f}/s  ratio {full / bare:4.2f}  "
                    f"loop lag p99 {max(lags):5.1f} ms  "
                    f"stored {stored} of {answered} answered 200"
                )
                statuses = [result["statuses"] for result in bare_runs + full_runs]
                if stored != answered or any(set(item) != {"200"} for item in statuses):
                    print(f"  failed: statuses {statuses}")
                    failed = True
        finally:
            await runner.cleanup()
            await runtime.stop()
    return 1 if failed else 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="serve", choices=["serve", "load"])
    parser.add_argument("--requests", type=int, default=3000, help="per run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="runs of each endpoint per concurrency; the best rate of each is shown",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[10, 50],
        help="concurrent connections of the load generator, one run each",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="time limit of each run"
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    if arguments.mode == "load":
        arguments.concurrency = arguments.concurrency[0]
        print(json.dumps(asyncio.run(generate_load(arguments))))
        return 0
    return asyncio.run(serve_and_measure(arguments))


if __name__ == "__main__":
    sys.exit(main())
