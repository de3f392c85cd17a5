"""The SQLite engine's pool reset and read connection, and UTC timestamps."""

from __future__ import annotations

import sqlite3
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

from logsteer_tui.db.engine import create_engine, sqlite_reader, sqlite_url
from logsteer_tui.db.types import UTCDateTime

STORED_VALUES = [
    "2026-11-03 23:00:00.000000",
    "2026-11-03 23:00:00.123456",
    "2026-11-03 23:00:00",
    "2026-11-03",
    "2026-11-03 23:00:00+02:00",
    "2026-11-03T23:00:00Z",
    None,
]


@pytest.mark.parametrize("stored", STORED_VALUES)
def test_sqlite_timestamps_convert_as_generic(stored: str | None) -> None:
    dialect = sqlite.dialect()
    column_type = UTCDateTime().dialect_impl(dialect)
    fast = column_type.result_processor(dialect, None)
    generic = TypeDecorator.result_processor(column_type, dialect, None)
    assert fast is not None
    assert generic is not None
    converted = fast(stored)
    assert converted == generic(stored)
    if converted is not None:
        assert converted.tzinfo is UTC


async def test_pool_rolls_back_open_transaction(tmp_path: Path) -> None:
    engine = create_engine(
        sqlite_url(tmp_path / "reset.sqlite"), pool_size=1, max_overflow=0
    )
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE item (id INTEGER)")
        pooled = await engine.raw_connection()
        driver = pooled.driver_connection
        assert driver is not None
        # The sqlite3 module opens a transaction before an INSERT.
        await driver.execute("INSERT INTO item VALUES (1)")
        assert driver.in_transaction
        await greenlet_spawn(pooled.close)
        assert not driver.in_transaction
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql("SELECT count(*) FROM item")
            assert result.scalar() == 0
    finally:
        await engine.dispose()


async def test_pool_keeps_committed_rows(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "keep.sqlite"))
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE item (id INTEGER)")
            await connection.exec_driver_sql("INSERT INTO item VALUES (1)")
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql("SELECT count(*) FROM item")
            assert result.scalar() == 1
    finally:
        await engine.dispose()


async def test_reader_sees_commits_and_refuses_writes(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "reader.sqlite"))
    reader = sqlite_reader(engine)
    assert reader is not None
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE item (name TEXT)")
            await connection.exec_driver_sql("INSERT INTO item VALUES ('Čakovec')")
        rows = await reader.fetch("SELECT logsteer_fold(name) FROM item", ())
        assert rows == [("cakovec",)]
        async with engine.begin() as connection:
            await connection.exec_driver_sql("INSERT INTO item VALUES ('Split')")
        assert len(await reader.fetch("SELECT name FROM item", ())) == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.fetch("INSERT INTO item VALUES ('x')", ())
    finally:
        await engine.dispose()
    # Disposing the engine closes the reader; a later read opens it again.
    assert not reader.is_open


def test_memory_database_has_no_reader() -> None:
    assert sqlite_reader(create_engine("sqlite:///:memory:")) is None
    assert sqlite_reader(create_engine("sqlite://")) is None
