"""Segment statements compiled once and run on the pooled driver connection.

A first page of results takes well under a millisecond in SQLite, so the fixed
cost of an ORM session, of SQLAlchemy's result machinery and of each extra
thread hop of the aiosqlite adapter would be most of its time. A PreparedQuery
keeps the SQL text that the engine's dialect compiled, the order of its bound
parameters and the type processing of each parameter and result column. On
SQLite it runs in one call on the engine's read connection (db/reader.py), and
elsewhere through ``AsyncConnection.exec_driver_sql``. Values are always bound
parameters, and rows come back converted as the models' column types convert
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiosqlite
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from logsteer_tui.db.engine import sqlite_reader
from logsteer_tui.db.types import (
    Processor,
    apply_processor,
    bind_processor,
    result_processor,
)


@dataclass(frozen=True)
class PreparedQuery:
    """A select statement compiled for one dialect, with its type processing."""

    sql: str
    names: tuple[str, ...]
    """The bound parameter names in the order the driver takes the values."""

    values: Mapping[str, Any]
    """The processed value of each parameter, as compiled into the statement."""

    bind_processors: Mapping[str, Processor]
    result_processors: tuple[Processor, ...]

    @classmethod
    def compile(
        cls, statement: Select[*tuple[Any, ...]], dialect: Dialect
    ) -> PreparedQuery:
        """Compile ``statement`` for ``dialect``, which must take positional values.

        Raises ValueError for a parameter that SQLAlchemy renders only at
        execution, such as an expanding IN list, because the SQL text here is
        final.
        """
        compiled = statement.compile(dialect=dialect)
        for name, parameter in compiled.binds.items():
            if parameter.expanding or parameter.literal_execute:
                raise ValueError(
                    f"The parameter {name!r} is rendered at execution, so the "
                    "statement cannot be prepared; run it through a session."
                )
        names = tuple(compiled.positiontup or ())
        bind_processors = {
            name: bind_processor(compiled.binds[name].type, dialect) for name in names
        }
        values = {
            name: apply_processor(bind_processors[name], value)
            for name, value in compiled.construct_params().items()
            if name in bind_processors
        }
        result_processors = tuple(
            result_processor(column.type, dialect)
            for column in statement.selected_columns
        )
        return cls(compiled.string, names, values, bind_processors, result_processors)

    def parameters(self, overrides: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
        """Return the driver's values, with ``overrides`` processed by their types."""
        values = dict(self.values)
        for name, value in (overrides or {}).items():
            if name not in self.bind_processors:
                raise KeyError(f"{name!r} is not a parameter of the statement")
            values[name] = apply_processor(self.bind_processors[name], value)
        return tuple(values[name] for name in self.names)

    def rows(self, raw_rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """Convert driver rows with the result processing of each selected column.

        The conversion goes column by column with ``map``, which costs about
        half of a Python loop over each row's values on a page of 100 rows.
        """
        if not raw_rows:
            return []
        columns = list(zip(*raw_rows, strict=True))
        for index, processor in enumerate(self.result_processors):
            if processor is not None:
                columns[index] = tuple(map(processor, columns[index]))
        return list(zip(*columns, strict=True))

    async def fetch(
        self, engine: AsyncEngine, overrides: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run the statement for ``engine`` and return its rows.

        On a SQLite file it runs on the engine's SqliteReader, in one thread
        hop and without the pool. An in-memory database, which no second
        connection can see, runs it on a pooled aiosqlite connection itself,
        taken without an AsyncConnection around it, which saves about 0.2 ms
        of SQLAlchemy's own work per call (bench/bench_segments.py). It only
        reads, and the sqlite3 module opens no transaction for a SELECT, so
        the pool's rollback on return has nothing to undo.
        """
        parameters = self.parameters(overrides)
        reader = sqlite_reader(engine)
        if reader is not None:
            return self.rows(await reader.fetch(self.sql, parameters))
        if engine.dialect.name != "sqlite":
            async with engine.connect() as connection:
                result = await connection.exec_driver_sql(self.sql, parameters)
                return self.rows(result.all())
        pooled = await engine.raw_connection()
        try:
            driver = cast(aiosqlite.Connection, pooled.driver_connection)
            raw_rows = list(await driver.execute_fetchall(self.sql, parameters))
        finally:
            # The pool's rollback on return awaits the driver, which SQLAlchemy
            # allows only inside its greenlet.
            await greenlet_spawn(pooled.close)
        return self.rows(raw_rows)
