"""Benchmark: a scheduled SMS run against a local fake provider, with no rate limit.

Run from the repository root:

    .venv/bin/python bench/bench_schedules.py [--recipients 10000] [--concurrency 16]

A child process serves a minimal fake of Twilio's create-message endpoint with
aiohttp on 127.0.0.1. This process sends through BenchProvider, one shared
httpx.AsyncClient posting Twilio's form, in two ways, each posting the same
requests with the same number in flight:

- bare: a plain loop of BenchProvider.send with no database at all, once
  before the run and once after it;
- run: a schedule run on a fresh SQLite file, through the whole engine
  (segment evaluation, one delivery row per contact, claims, consent checks,
  rendering, message rows and status history).

The ratio of the run to the mean of the two bare loops is the engine's own
cost. Peak memory is the peak of Python
allocations (tracemalloc) during a run, measured in separate runs for two
segment sizes, so a streaming engine shows the same peak for both.

TwilioProvider itself is not used: it opens a new httpx.AsyncClient, with its
TLS context, for every message, which caps it near 40 messages per second on
the machine measured and would hide the engine's cost in both loops alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from sqlalchemy import insert

from logsteer_tui.config import ListenerSettings, Settings
from logsteer_tui.db.models import Contact
from logsteer_tui.db.types import utc_now
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime, freeze_startup_heap
from logsteer_tui.services.schedules import ScheduleRequest
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.services.sms.providers import (
    OutgoingSms,
    ProviderError,
    ProviderReply,
)

ACCOUNT_SID = "AC" + "0" * 32
BODY = "Hi {{ first_name }}, your order is on its way."


# The fake provider, run as a child process.


async def serve_fake(port_file: Path) -> None:
    counter = 0

    async def create_message(request: web.Request) -> web.Response:
        nonlocal counter
        form = await request.post()
        counter += 1
        return web.json_response(
            {"sid": f"SM{counter:032d}", "status": "queued", "to": form.get("To")},
            status=201,
        )

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create_message)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await asyncio.to_thread(
        port_file.write_text, str(runner.addresses[0][1]), encoding="utf-8"
    )
    await asyncio.Event().wait()


async def start_fake(folder: Path) -> tuple[asyncio.subprocess.Process, str]:
    port_file = folder / "port"
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-fake", str(port_file)
    )
    for _ in range(200):
        if port_file.exists() and port_file.read_text(encoding="utf-8"):
            return process, f"http://127.0.0.1:{port_file.read_text(encoding='utf-8')}"
        await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError("the fake provider did not start within 10 seconds")


# The measurements.


class BenchProvider:
    """Posts Twilio's create-message form with one shared httpx client."""

    name = "bench"
    sender = "+15005550006"

    def __init__(self, base_url: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency)
        self.client = httpx.AsyncClient(
            base_url=base_url, auth=(ACCOUNT_SID, "bench-token"), limits=limits
        )
        self.url = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    def configuration_problem(self) -> str | None:
        return None

    def longest_send_seconds(self) -> float:
        return 10.0

    async def send(self, sms: OutgoingSms) -> ProviderReply:
        response = await self.client.post(
            self.url, data={"To": sms.to, "From": self.sender, "Body": sms.body}
        )
        if response.status_code != 201:
            raise ProviderError(f"HTTP {response.status_code}", response.text)
        data = response.json()
        return ProviderReply(data["sid"], data["status"])

    async def aclose(self) -> None:
        await self.client.aclose()


class LoopLag:
    """Samples how late a 5 ms sleep wakes up, until stopped."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.delays: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _sample(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.delays.append(time.perf_counter() - started - self.interval)

    def summary_ms(self) -> dict[str, float]:
        ordered = sorted(self.delays) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return {"p99": round(p99 * 1000, 1), "max": round(ordered[-1] * 1000, 1)}


def settings_for(folder: Path, database: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / database}",
        listener=ListenerSettings(enabled=False),
    )


async def bare_loop(
    provider: BenchProvider, count: int, concurrency: int
) -> tuple[float, float]:
    """Send ``count`` messages; return the seconds taken and the CPU seconds."""
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            await provider.send(
                OutgoingSms(index, f"+38591{index:07d}", f"Hi Ana{index}, ...")
            )

    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, time.process_time() - cpu


async def scheduled_run(
    settings: Settings,
    paths: AppPaths,
    provider: BenchProvider,
    count: int,
    concurrency: int,
    trace: bool,
    batch_size: int = 0,
) -> dict[str, Any]:
    runtime = Runtime.create(settings, paths)
    runtime.sms.provider = provider
    await runtime.start(background=False)
    try:
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                insert(Contact),
                [
                    {
                        "first_name": f"Ana{index}",
                        "mobile_1": f"+38591{index:07d}",
                        "sort_name": f"ana{index:06}",
                    }
                    for index in range(count)
                ],
            )
        segments = SegmentService.from_settings(runtime.sessions, settings)
        await segments.save("Everyone", {"match": "and", "conditions": []})
        service = runtime.schedules
        service.engine = type(service.engine)(
            runtime.sessions,
            runtime.hub,
            runtime.sms,
            segments,
            service.worker_id,
            rate=None,
            concurrency=concurrency,
            lease=service.lease,
        )
        if batch_size:
            service.engine.batch_size = batch_size
        plan = await service.plan(
            ScheduleRequest(at="now", body=BODY, segment="Everyone")
        )
        (schedule_id,) = await service.create([plan])
        if trace:
            tracemalloc.start()
        lag = LoopLag()
        lag.start()
        started = time.perf_counter()
        cpu = time.process_time()
        (run_id,) = await service.fire(schedule_id, now=utc_now())
        await asyncio.gather(*service.running_tasks().values())
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        await lag.stop()
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        progress = await service.engine.progress(run_id)
        if progress.sent != count:
            raise RuntimeError(f"the run sent {progress.sent} of {count} messages")
        return {
            "seconds": elapsed,
            "cpu_seconds": cpu,
            "loop_lag_ms": lag.summary_ms(),
            "sent": progress.sent,
            "failed": progress.failed,
            "peak_bytes": peak,
        }
    finally:
        await runtime.stop()


async def main(arguments: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        paths = AppPaths(folder / "config", folder / "data", folder / "log")
        fake, base_url = await start_fake(folder)
        # Both loops run with the heap frozen, as the app and logsteer serve
        # do once started.
        freeze_startup_heap()
        try:
            provider = BenchProvider(base_url, arguments.concurrency)
            count = arguments.recipients
            await bare_loop(provider, 200, arguments.concurrency)  # warm-up
            before = await bare_loop(provider, count, arguments.concurrency)
            run = await scheduled_run(
                settings_for(folder, "run.sqlite"),
                paths,
                provider,
                count,
                arguments.concurrency,
                trace=False,
                batch_size=arguments.batch_size,
            )
            # The run's provider is closed with its runtime.
            provider = BenchProvider(base_url, arguments.concurrency)
            await bare_loop(provider, 200, arguments.concurrency)
            after = await bare_loop(provider, count, arguments.concurrency)
            await provider.client.aclose()
            memory = {}
            for size in arguments.memory_sizes:
                # Stopping a runtime closes its provider's client.
                provider = BenchProvider(base_url, arguments.concurrency)
                traced = await scheduled_run(
                    settings_for(folder, f"memory-{size}.sqlite"),
                    paths,
                    provider,
                    size,
                    arguments.concurrency,
                    trace=True,
                    batch_size=arguments.batch_size,
                )
                memory[size] = round(traced["peak_bytes"] / 2**20, 1)
        finally:
            await provider.client.aclose()
            fake.kill()
            await fake.wait()
    # The bare loop runs before and after the run, and the ratio is taken
    # against their mean, so a machine that speeds up or slows down during
    # the benchmark moves both sides.
    bare_rates = [count / seconds for seconds, _ in (before, after)]
    bare_rate = sum(bare_rates) / 2
    bare_cpu = (before[1] + after[1]) / 2
    run_rate = run["sent"] / run["seconds"]
    return {
        "recipients": count,
        "concurrency": arguments.concurrency,
        "batch_size": arguments.batch_size or "engine default",
        "bare_messages_per_second": round(bare_rate, 1),
        "bare_before_and_after": [round(rate, 1) for rate in bare_rates],
        "run_messages_per_second": round(run_rate, 1),
        "ratio": round(run_rate / bare_rate, 3),
        "bare_cpu_ms_per_message": round(1000 * bare_cpu / count, 3),
        "run_cpu_ms_per_message": round(1000 * run["cpu_seconds"] / run["sent"], 3),
        "run_loop_lag_ms": run["loop_lag_ms"],
        "run_sent": run["sent"],
        "run_failed": run["failed"],
        "peak_traced_mib_by_recipients": memory,
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight (default 16)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="deliveries per claim (default: the engine's own, 100 with no rate)",
    )
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="+",
        default=[2_000, 10_000],
        help="segment sizes whose peak memory is compared",
    )
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    options = parse_arguments()
    if options.serve_fake:
        asyncio.run(serve_fake(options.serve_fake))
    else:
        print(json.dumps(asyncio.run(main(options)), indent=2))
