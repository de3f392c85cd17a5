"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned as an aware datetime.

    SQLite has no time zones, so values are written as naive UTC there; naive
    values handed in are rejected, because their zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], datetime | None] | None:
        """Return the conversion of a stored value, in one call on SQLite.

        It gives what SQLAlchemy 2.1's SQLite DATETIME (``fromisoformat``)
        followed by process_result_value gives, in about a sixth of the time:
        0.17 µs a value rather than 1 µs, and a page of segment results
        converts 200 of them.
        """
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _from_sqlite


def _from_sqlite(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        # Values are stored naive, and parsing them with a UTC offset appended
        # is several times faster than datetime.replace(tzinfo=UTC). Python
        # 3.11 drops the offset after a date without a time, hence the check.
        parsed = datetime.fromisoformat(value + "+00:00")
        if parsed.tzinfo is not None:
            return parsed
    except ValueError:
        pass
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


Processor = Callable[[Any], Any] | None
"""SQLAlchemy's conversion of one value to or from the driver, or None for none."""


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    """Return how ``type_`` converts a value for ``dialect``'s driver."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    """Return how ``type_`` converts a value read from ``dialect``'s driver."""
    return type_.dialect_impl(dialect).result_processor(dialect, None)


def apply_processor(processor: Processor, value: Any) -> Any:
    """Convert ``value`` with ``processor``, or return it as it is without one."""
    return value if processor is None else processor(value)
