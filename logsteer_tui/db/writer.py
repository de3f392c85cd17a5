"""A SQLite connection of its own for the run engine's batches of writes.

Through aiosqlite, every statement of a transaction is one trip from the event
loop to the driver's thread and back, each waiting for the loop's next turn.
A batch of a hundred messages took about thirty such trips, and while the
loop was busy sending, those trips, not SQLite, set the pace of a run. Here a
whole transaction is one call, run in a thread of this connection's own:
``transaction(work)`` calls ``work(connection)`` between BEGIN IMMEDIATE and
COMMIT and rolls back when it raises.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

WRITER_OPTION = "logsteer_sqlite_writer"
"""The engine execution option that carries the engine's SqliteWriter."""

T = TypeVar("T")


class SqliteWriter:
    """One read-write sqlite3 connection to ``path``, opened at the first call."""

    def __init__(
        self, path: str, configure: Callable[[sqlite3.Connection, Any], None]
    ) -> None:
        self.path = path
        self._configure = configure
        self._connection: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one write transaction and return what it returns.

        BEGIN IMMEDIATE takes SQLite's write lock before ``work`` reads
        anything, so what it reads stays true until the commit. Another
        process holding the lock is waited for up to the busy timeout.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="logsteer-sqlite-writer"
                )
            executor = self._executor
        return await loop.run_in_executor(executor, self._run, work)

    def close(self) -> None:
        """Wait for the call in progress, then close until the next call."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            self._connection = self._connect()
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result

    def _connect(self) -> sqlite3.Connection:
        # With isolation_level None, sqlite3 opens no transaction of its own,
        # so the BEGIN IMMEDIATE in _run is the only one.
        connection = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None
        )
        self._configure(connection, None)
        return connection
