"""Benchmark: the contact browser on 100,000 contacts and 1,000,000 messages.

Run from the repository root:

    .venv/bin/python -m bench.bench_browser [--database PATH] [--rounds 5]

Without ``--database`` the script builds the data with ``python -m
bench.generate`` in a temporary folder, which takes minutes. The build runs in
a child process, so it does not count towards this process's peak memory. Pass
the same ``--database`` again to reuse the file.

The App runs headless with ``run_test`` at 80x24, as in the Pilot tests, with
the webhook listener off. It measures the time from creating the App to the
first page in the browser, the time from a search being applied (after the
browser's 150 ms typing debounce) to its first page, the longest stall of the
event loop during all of it, and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Label

from logsteer_tui.app import LogsteerApp
from logsteer_tui.config import load_settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import SEARCH_DEBOUNCE_SECONDS, BrowserScreen

SIZE = (80, 24)
# Searches a user might type: common and rare names, a phone prefix, an email
# domain, and a word that matches nothing, which scans every row.
SEARCHES = ("hor", "ivana kov", "091 4", "gmail", "šimić", "zzzqx")
TARGET_FIRST_PAGE_MS = 300
TARGET_SEARCH_MS = 100
TARGET_STALL_MS = 100
TARGET_MEMORY_MB = 200
TICK_SECONDS = 0.005
WAIT_LIMIT_SECONDS = 30


@dataclass
class StallMonitor:
    """Measures how late a task that sleeps ``TICK_SECONDS`` wakes up."""

    longest: float = 0.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK_SECONDS)
            late = time.perf_counter() - before - TICK_SECONDS
            self.longest = max(self.longest, late)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    """Poll ``condition`` every millisecond.

    This sleeps instead of calling ``pilot.pause()``, which forces a layout on
    every call and would slow the app down more than a user's terminal does.
    """
    deadline = time.perf_counter() + WAIT_LIMIT_SECONDS
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the browser did not reach the expected state")
        await asyncio.sleep(0.001)


def make_runtime(database: Path, folder: Path) -> Runtime:
    paths = AppPaths(folder / "config", folder / "data", folder / "log")
    settings = load_settings(
        paths.config_file, database_url=f"sqlite+aiosqlite:///{database}"
    )
    settings.listener.enabled = False
    return Runtime.create(settings, paths)


async def first_page_seconds(database: Path, folder: Path) -> float:
    started = time.perf_counter()
    app = LogsteerApp(make_runtime(database, folder))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, BrowserScreen) and bool(app.screen.rows),
        )
        return time.perf_counter() - started


@dataclass
class SearchTiming:
    text: str
    page_seconds: float
    count_seconds: float
    total: int


async def time_search(
    pilot: Pilot[int], screen: BrowserScreen, text: str
) -> SearchTiming:
    generation = screen.generation
    screen.query_one("#browser-search", Input).value = text
    await wait_for(pilot, lambda: screen.generation > generation)
    # The debounce timer has just called reload(); the query starts now.
    started = time.perf_counter()
    await wait_for(pilot, lambda: not screen.page_loading)
    page_seconds = time.perf_counter() - started
    await wait_for(pilot, lambda: screen.total is not None)
    count_seconds = time.perf_counter() - started
    return SearchTiming(text, page_seconds, count_seconds, screen.total or 0)


async def searches_and_paging(
    database: Path, folder: Path, rounds: int, monitor: StallMonitor
) -> tuple[list[SearchTiming], int]:
    """Time every search ``rounds`` times, then page down through 20 pages.

    ``monitor`` runs from the first page on, so start-up is not in it.
    """
    app = LogsteerApp(make_runtime(database, folder))
    timings: list[SearchTiming] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, BrowserScreen) and bool(app.screen.rows),
        )
        monitor.start()
        screen = app.screen
        assert isinstance(screen, BrowserScreen)
        for _round in range(rounds):
            for text in SEARCHES:
                # total is cleared so the count of this search is waited for.
                screen.total = None
                timings.append(await time_search(pilot, screen, text))
        screen.query_one("#browser-search", Input).value = ""
        await wait_for(pilot, lambda: screen.query_state.search == "")
        await wait_for(pilot, lambda: not screen.page_loading)
        screen.table.focus()
        for _page in range(20):
            await pilot.press("ctrl+end")
            await wait_for(pilot, lambda: not screen.page_loading)
        await monitor.stop()
        return timings, len(screen.rows)


def build_database(path: Path) -> None:
    print(f"Building {path} with bench.generate; this takes minutes.", flush=True)
    subprocess.run(
        [sys.executable, "-m", "bench.generate", str(path)], check=True, timeout=3600
    )


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def verdict(value: float, target: float) -> str:
    return "ok" if value < target else "MISSED"


def report(
    first_pages: list[float],
    timings: list[SearchTiming],
    loaded_rows: int,
    peak_mb: float,
) -> None:
    first = statistics.median(first_pages)
    first_verdict = verdict(first, TARGET_FIRST_PAGE_MS / 1000)
    print(
        f"first page: median {milliseconds(first)}, "
        f"max {milliseconds(max(first_pages))} over {len(first_pages)} starts "
        f"[{first_verdict}]"
    )
    debounce = milliseconds(SEARCH_DEBOUNCE_SECONDS)
    print(f"search, timed from the end of the {debounce} debounce:")
    worst = 0.0
    for text in SEARCHES:
        runs = [timing for timing in timings if timing.text == text]
        page = statistics.median(timing.page_seconds for timing in runs)
        slowest = max(timing.page_seconds for timing in runs)
        count = statistics.median(timing.count_seconds for timing in runs)
        worst = max(worst, page)
        print(
            f"  {text!r:12} {runs[0].total:>7,} found"
            f"  first page {milliseconds(page):>7} (max {milliseconds(slowest)})"
            f"  count {milliseconds(count):>7}"
        )
    search_verdict = verdict(worst, TARGET_SEARCH_MS / 1000)
    print(
        f"search, slowest median first page: {milliseconds(worst)} [{search_verdict}]"
    )
    print(f"rows loaded after 20 presses of ctrl+end: {loaded_rows:,}")
    memory_verdict = verdict(peak_mb, TARGET_MEMORY_MB)
    print(f"peak memory (max RSS): {peak_mb:.0f} MB [{memory_verdict}]")


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("ready", id="ready")


async def bare_app_seconds() -> float:
    """Time a Textual App with one Label to mount, as the floor for a start."""
    started = time.perf_counter()
    app = BareApp()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.query("#ready")))
        return time.perf_counter() - started


async def run(database: Path, rounds: int) -> None:
    start_monitor = StallMonitor()
    use_monitor = StallMonitor()
    with tempfile.TemporaryDirectory(prefix="logsteer-bench-") as name:
        folder = Path(name)
        bare = [await bare_app_seconds() for _round in range(rounds)]
        first_pages = []
        for _round in range(rounds):
            start_monitor.start()
            first_pages.append(await first_page_seconds(database, folder))
            await start_monitor.stop()
        timings, loaded_rows = await searches_and_paging(
            database, folder, rounds, use_monitor
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bare_median = milliseconds(statistics.median(bare))
    print(f"bare Textual app with one Label: median {bare_median}")
    report(first_pages, timings, loaded_rows, peak_mb)
    start_stall = milliseconds(start_monitor.longest)
    print(f"longest event-loop stall while starting: {start_stall}")
    stall = use_monitor.longest
    stall_verdict = verdict(stall, TARGET_STALL_MS / 1000)
    print(
        f"longest event-loop stall while searching and paging: "
        f"{milliseconds(stall)} [{stall_verdict}]"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_browser")
    parser.add_argument(
        "--database",
        type=Path,
        help="SQLite file from bench.generate; built when it does not exist",
    )
    parser.add_argument("--rounds", type=int, default=5, help="repeats of each step")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logsteer-bench-data-") as name:
        database = args.database or Path(name) / "bench.sqlite"
        if not database.exists():
            build_database(database)
        asyncio.run(run(database, max(args.rounds, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
