"""A read-only SQLite connection for the reads that must be fastest.

A segment's first page takes well under a millisecond in SQLite. Taking a
connection from SQLAlchemy's pool and giving it back costs about a fifth of
that again (bench/bench_segments.py), so such reads go through one connection
kept open for them. It runs in the event loop's default thread pool, one call
at a time, and refuses writes (PRAGMA query_only).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

READER_OPTION = "logsteer_sqlite_reader"
"""The engine execution option that carries the engine's SqliteReader."""


class SqliteReader:
    """One sqlite3 connection to ``path``, opened at the first read."""

    def __init__(
        self, path: str, configure: Callable[[sqlite3.Connection, Any], None]
    ) -> None:
        self.path = path
        self._configure = configure
        self._connection: sqlite3.Connection | None = None
        # Executor threads take turns; a sqlite3 connection serves one at a time.
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    async def fetch(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """Run the SELECT ``sql`` with ``parameters`` and return every row."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._fetch, sql, parameters)

    def close(self) -> None:
        """Close the connection; the next read opens it again."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            return self._connection.execute(sql, parameters).fetchall()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, check_same_thread=False)
        self._configure(connection, None)
        connection.execute("PRAGMA query_only=ON")
        return connection
