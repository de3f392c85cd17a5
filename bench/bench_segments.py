"""Benchmark: the first page and the count of a segment on a large SQLite file.

Run from the repository root:

    .venv/bin/python -m bench.bench_segments [--database PATH] [--rounds 30]

Without ``--database`` the script builds 100,000 contacts and 1,000,000
messages with bench.generate.build_bench_database in a temporary folder, which
takes minutes. With ``--database``, the file is built there once and reused. Each
query is timed through SegmentService (its compiled statement on the engine's
read connection, as the TUI runs it) and, alternating round by round, as the
very SQL text and parameters that the service handed to that connection, run
with the standard sqlite3 module. The ratio of the two medians is the cost of the
async stack over the driver alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.generate import build_bench_database
from logsteer_tui.db.engine import create_engine, session_factory, sqlite_url
from logsteer_tui.db.migrate import upgrade
from logsteer_tui.db.reader import SqliteReader
from logsteer_tui.services.segments import Group, SegmentService, parse_definition

PAGE_SIZE = 100
ZONE = ZoneInfo("Europe/Zagreb")


def segment(name_operator: str, name_value: str) -> Group:
    """Build a name filter, no SMS received in 30 days and an order over 100."""
    return parse_definition(
        {
            "match": "and",
            "conditions": [
                {"field": "name", "operator": name_operator, "value": name_value},
                {
                    "field": "last_sms_received_at",
                    "operator": "not_within_last_days",
                    "value": 30,
                },
                {"field": "order.total", "operator": "greater_than", "value": 100},
            ],
        }
    )


SEGMENTS = {
    'name starts with "kov"': segment("starts_with", "kov"),
    'name contains "ana"': segment("contains", "ana"),
}


class StatementRecorder:
    """Keeps the last SQL text and parameters that reached the SQLite reader.

    ``install`` wraps ``SqliteReader.fetch``, the call that SegmentService runs
    its page and count with on a SQLite file. The wrapper costs one extra
    Python call, which falls on our side of the comparison.
    """

    def __init__(self) -> None:
        self.statement = ""
        self.parameters: Any = ()
        self._original: Any = None

    def install(self) -> None:
        original = SqliteReader.fetch
        recorder = self

        async def recorded(reader: SqliteReader, sql: str, parameters: Any) -> Any:
            recorder.statement = sql
            recorder.parameters = parameters
            return await original(reader, sql, parameters)

        self._original = original
        SqliteReader.fetch = recorded  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            SqliteReader.fetch = self._original  # type: ignore[method-assign]
            self._original = None


async def timed_pair(
    call: Callable[[], Awaitable[Any]],
    recorder: StatementRecorder,
    path: Path,
    rounds: int,
) -> tuple[float, float]:
    """Time ``call`` and its recorded statement on sqlite3, round by round.

    The two alternate, so load from other processes falls on both alike.
    Returns the median milliseconds of each.
    """
    recorder.statement = ""
    await call()
    statement, parameters = recorder.statement, recorder.parameters
    if not statement:
        raise RuntimeError(
            "The segment query did not reach SqliteReader.fetch; "
            "update StatementRecorder to the path SegmentService takes."
        )
    connection = sqlite3.connect(path)
    try:
        connection.execute(statement, parameters).fetchall()
        ours, raw = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            await call()
            ours.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            connection.execute(statement, parameters).fetchall()
            raw.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return statistics.median(ours), statistics.median(raw)


def query_plan(path: Path, statement: str, parameters: Any) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [row[-1] for row in rows]
    finally:
        connection.close()


def _query(
    service: SegmentService, definition: Group, kind: str, now: datetime
) -> Callable[[], Awaitable[Any]]:
    async def page() -> Any:
        return await service.page(definition, limit=PAGE_SIZE, now=now)

    async def count() -> Any:
        return await service.count(definition, now=now)

    return page if kind == "page" else count


async def measure(path: Path, rounds: int, show_plans: bool) -> None:
    engine = create_engine(sqlite_url(path))
    recorder = StatementRecorder()
    recorder.install()
    try:
        await upgrade(engine)
        service = SegmentService(session_factory(engine), ZONE, "HR")
        now = datetime.now(UTC)
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"load average before: {load}")
        print(
            f"{'segment':<26} {'query':<6} {'rows':>7} {'ours ms':>8} "
            f"{'sqlite3 ms':>10} {'ratio':>6}"
        )
        for label, definition in SEGMENTS.items():
            for kind in ("page", "count"):
                call = _query(service, definition, kind, now)
                ours, raw = await timed_pair(call, recorder, path, rounds)
                statement, parameters = recorder.statement, recorder.parameters
                result = await call()
                rows = result if isinstance(result, int) else len(result)
                print(
                    f"{label:<26} {kind:<6} {rows:>7,} {ours:>8.2f} "
                    f"{raw:>10.2f} {ours / raw:>6.2f}"
                )
                if show_plans:
                    for line in query_plan(path, statement, parameters):
                        print(f"    {line}")
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"load average after: {load}")
    finally:
        recorder.uninstall()
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        type=Path,
        help="bench SQLite file to reuse; built there when it does not exist",
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--rounds", type=int, default=30, help="timed runs of each query"
    )
    parser.add_argument(
        "--plans", action="store_true", help="print SQLite's query plan of each query"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logsteer-bench-") as folder:
        path = args.database or Path(folder) / "bench.sqlite"
        if not path.exists():
            print(
                f"Building {args.contacts:,} contacts and {args.messages:,} "
                f"messages in {path} …",
                flush=True,
            )
            summary = asyncio.run(
                build_bench_database(path, args.contacts, args.messages)
            )
            print(f"Built in {summary.seconds:.0f} s.", flush=True)
        asyncio.run(measure(path, args.rounds, args.plans))
    return 0


if __name__ == "__main__":
    sys.exit(main())
