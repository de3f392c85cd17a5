"""The async engine and session factory for SQLite and PostgreSQL URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from logsteer_tui.db.folding import FOLD_FUNCTION, fold_value
from logsteer_tui.db.reader import READER_OPTION, SqliteReader
from logsteer_tui.db.writer import WRITER_OPTION, SqliteWriter
from logsteer_tui.errors import ConfigError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def async_url(url: str) -> URL:
    """Parse ``url`` and swap a plain dialect for its async driver.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db`` and ``postgresql://``
    becomes ``postgresql+asyncpg://``; other dialects are rejected.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"Invalid database URL {url!r}: expected a SQLAlchemy URL such as "
            "sqlite:///path/to/file.sqlite or postgresql://user@host/dbname."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ConfigError(
            f"Unsupported database {backend!r} in {parsed.render_as_string()!r}: "
            "use sqlite or postgresql."
        )
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


def create_engine(url: str, create_folder: bool = True, **options: Any) -> AsyncEngine:
    """Create the engine. SQLite files get WAL, foreign keys and a busy timeout.

    With ``create_folder`` set, a SQLite file's folder is created. Without it, a
    missing folder raises ConfigError, so a mistyped path is not taken for a new,
    empty database.
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).expanduser().parent
        if create_folder:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise ConfigError(
                f"The folder {folder} of the database {parsed.database} does not "
                "exist. Check the path in --database or LOGSTEER_DATABASE_URL, or "
                "create the folder first."
            )
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, **options)
    # The pool's default reset rolls back every connection on return, one
    # thread hop of aiosqlite each time, even when nothing is open, as after a
    # SELECT run on the driver connection. reset_sqlite rolls back only an
    # open transaction.
    reader = (
        SqliteReader(parsed.database, configure_sqlite)
        if parsed.database and parsed.database != ":memory:"
        else None
    )
    writer = SqliteWriter(reader.path, configure_sqlite) if reader is not None else None
    if reader is not None:
        options["execution_options"] = {
            **options.get("execution_options", {}),
            READER_OPTION: reader,
            WRITER_OPTION: writer,
        }
    engine = create_async_engine(parsed, pool_reset_on_return=None, **options)
    event.listen(engine.sync_engine, "connect", configure_sqlite)
    event.listen(engine.sync_engine, "reset", reset_sqlite)
    if reader is not None and writer is not None:

        def close_connections(_engine: Any) -> None:
            reader.close()
            writer.close()

        event.listen(engine.sync_engine, "engine_disposed", close_connections)
    return engine


def sqlite_reader(engine: AsyncEngine) -> SqliteReader | None:
    """Return the read connection of a SQLite file's engine, or None."""
    reader = engine.get_execution_options().get(READER_OPTION)
    return reader if isinstance(reader, SqliteReader) else None


def sqlite_writer(engine: AsyncEngine) -> SqliteWriter | None:
    """Return the batch write connection of a SQLite file's engine, or None."""
    writer = engine.get_execution_options().get(WRITER_OPTION)
    return writer if isinstance(writer, SqliteWriter) else None


def configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Deterministic, so SQLite accepts it in an index on an expression.
    dbapi_connection.create_function(FOLD_FUNCTION, 1, fold_value, deterministic=True)


def reset_sqlite(
    dbapi_connection: Any, _record: Any, reset_state: PoolResetState
) -> None:
    """Roll back a connection returned to the pool if a transaction is open.

    SQLAlchemy calls this in place of its rollback on return, because the
    engine is made with ``pool_reset_on_return=None``. sqlite3's
    ``in_transaction`` reads SQLite's autocommit state, so it is exact.
    """
    if reset_state.terminate_only or not reset_state.asyncio_safe:
        # A connection being closed needs no rollback. Outside the event loop
        # the adapter cannot await the driver, so SQLAlchemy's own reset skips
        # the rollback there too.
        return
    if dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
