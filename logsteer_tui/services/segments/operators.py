"""Value types, the operators that fit each, and the check of a condition's value.

A check returns the value in the form the compiler uses (a folded string, cents,
a date, a number of days) or raises SegmentDefinitionError naming the path of the
value in the definition, such as ``conditions[1].value``.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from logsteer_tui.errors import ValidationError
from logsteer_tui.services.text import fold

MAX_TEXT_LENGTH = 500
MAX_DAYS = 36_500

# An ISO 4217 alphabetic code; whether the code is assigned is not checked.
CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")


class SegmentDefinitionError(ValidationError):
    """A segment definition is invalid; ``field`` is the path of the bad value."""

    title = "Invalid segment"


class ValueType(enum.StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    NUMBER = "number"
    MONEY = "money"
    """An amount in major units (12.50), compared in cents."""

    COUNT = "count"
    DATE = "date"
    FLAG = "flag"


class Operator(enum.StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    DOES_NOT_CONTAIN = "does_not_contain"
    STARTS_WITH = "starts_with"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    LESS_THAN = "less_than"
    GREATER_THAN = "greater_than"
    BETWEEN = "between"
    BEFORE = "before"
    AFTER = "after"
    TODAY = "today"
    WITHIN_LAST_DAYS = "within_last_days"
    NOT_WITHIN_LAST_DAYS = "not_within_last_days"
    MORE_THAN_DAYS_AGO = "more_than_days_ago"
    NEVER = "never"


class ValueShape(enum.Enum):
    """The shape of the value an operator takes."""

    NONE = "none"
    SINGLE = "single"
    PAIR = "pair"
    DAYS = "days"


@dataclass(frozen=True)
class OperatorInfo:
    label: str
    shape: ValueShape
    negated: Operator | None = None
    """The positive operator this one negates, for "any row" semantics."""


OPERATOR_INFO: dict[Operator, OperatorInfo] = {
    Operator.EQUALS: OperatorInfo("is", ValueShape.SINGLE),
    Operator.NOT_EQUALS: OperatorInfo("is not", ValueShape.SINGLE, Operator.EQUALS),
    Operator.CONTAINS: OperatorInfo("contains", ValueShape.SINGLE),
    Operator.DOES_NOT_CONTAIN: OperatorInfo(
        "does not contain", ValueShape.SINGLE, Operator.CONTAINS
    ),
    Operator.STARTS_WITH: OperatorInfo("starts with", ValueShape.SINGLE),
    Operator.IS_EMPTY: OperatorInfo("is empty", ValueShape.NONE, Operator.IS_NOT_EMPTY),
    Operator.IS_NOT_EMPTY: OperatorInfo("is not empty", ValueShape.NONE),
    Operator.LESS_THAN: OperatorInfo("less than", ValueShape.SINGLE),
    Operator.GREATER_THAN: OperatorInfo("greater than", ValueShape.SINGLE),
    Operator.BETWEEN: OperatorInfo("between", ValueShape.PAIR),
    Operator.BEFORE: OperatorInfo("before", ValueShape.SINGLE),
    Operator.AFTER: OperatorInfo("after", ValueShape.SINGLE),
    Operator.TODAY: OperatorInfo("today", ValueShape.NONE),
    Operator.WITHIN_LAST_DAYS: OperatorInfo("within the last N days", ValueShape.DAYS),
    Operator.NOT_WITHIN_LAST_DAYS: OperatorInfo(
        "not within the last N days", ValueShape.DAYS
    ),
    Operator.MORE_THAN_DAYS_AGO: OperatorInfo("more than N days ago", ValueShape.DAYS),
    Operator.NEVER: OperatorInfo("never", ValueShape.NONE),
}

_TEXT_OPERATORS = (
    Operator.EQUALS,
    Operator.NOT_EQUALS,
    Operator.CONTAINS,
    Operator.DOES_NOT_CONTAIN,
    Operator.STARTS_WITH,
    Operator.IS_EMPTY,
    Operator.IS_NOT_EMPTY,
)
_NUMBER_OPERATORS = (
    Operator.EQUALS,
    Operator.NOT_EQUALS,
    Operator.LESS_THAN,
    Operator.GREATER_THAN,
    Operator.BETWEEN,
)

OPERATORS_BY_TYPE: dict[ValueType, tuple[Operator, ...]] = {
    ValueType.TEXT: _TEXT_OPERATORS,
    ValueType.CHOICE: (Operator.EQUALS, Operator.NOT_EQUALS),
    ValueType.NUMBER: _NUMBER_OPERATORS,
    ValueType.MONEY: _NUMBER_OPERATORS,
    ValueType.COUNT: _NUMBER_OPERATORS,
    ValueType.DATE: (
        Operator.EQUALS,
        Operator.BEFORE,
        Operator.AFTER,
        Operator.BETWEEN,
        Operator.TODAY,
        Operator.WITHIN_LAST_DAYS,
        Operator.NOT_WITHIN_LAST_DAYS,
        Operator.MORE_THAN_DAYS_AGO,
        Operator.NEVER,
        Operator.IS_NOT_EMPTY,
    ),
    ValueType.FLAG: (Operator.EQUALS,),
}

# Labels that read better than the generic ones on a date field.
DATE_LABELS = {Operator.EQUALS: "on", Operator.IS_NOT_EMPTY: "at any time"}


def operator_label(value_type: ValueType, operator: Operator) -> str:
    if value_type is ValueType.DATE and operator in DATE_LABELS:
        return DATE_LABELS[operator]
    return OPERATOR_INFO[operator].label


def check_value(
    value_type: ValueType,
    operator: Operator,
    value: Any,
    path: str,
    choices: tuple[str, ...] = (),
) -> Any:
    """Check ``value`` for ``operator`` on a field of ``value_type``.

    Returns the value as the compiler uses it; raises SegmentDefinitionError
    naming ``path`` when it has the wrong type or is out of range.
    """
    shape = OPERATOR_INFO[operator].shape
    if shape is ValueShape.NONE:
        if value is not None:
            raise SegmentDefinitionError(
                path, value, f"{operator.value} takes no value; remove it or use null"
            )
        return None
    if value is None:
        raise SegmentDefinitionError(
            path,
            None,
            f"the value is missing; give {_expected_value(value_type, shape, choices)}",
        )
    if shape is ValueShape.DAYS:
        return _check_days(value, path)
    if shape is ValueShape.PAIR:
        return _check_pair(value_type, value, path)
    return _check_single(value_type, value, path, choices)


def _expected_value(
    value_type: ValueType, shape: ValueShape, choices: tuple[str, ...]
) -> str:
    """Describe the JSON value that a condition needs, with an example."""
    if shape is ValueShape.DAYS:
        return "a whole number of days, such as 30"
    if shape is ValueShape.PAIR:
        if value_type is ValueType.DATE:
            return 'a list of two dates, such as ["2026-01-01", "2026-01-31"]'
        return "a list of two values, such as [10, 20]"
    examples = {
        ValueType.TEXT: 'the text to compare, such as "Zagreb", or use is_empty',
        ValueType.CHOICE: f"one of {', '.join(choices)}",
        ValueType.NUMBER: "a number, such as 10",
        ValueType.MONEY: "an amount, such as 12.50",
        ValueType.COUNT: "a whole number, such as 3",
        ValueType.DATE: 'a date written as YYYY-MM-DD, such as "2026-12-31"',
        ValueType.FLAG: "true or false",
    }
    return examples[value_type]


def check_currency(value: Any, path: str) -> str:
    """Return ``value`` as an upper-case currency code, or raise naming ``path``."""
    if not isinstance(value, str) or not CURRENCY_CODE.fullmatch(value.strip()):
        raise SegmentDefinitionError(
            path,
            value,
            "expected a three-letter ISO 4217 code, such as EUR",
        )
    return value.strip().upper()


def _check_days(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SegmentDefinitionError(
            path, value, "expected a whole number of days, such as 30"
        )
    if not 0 <= value <= MAX_DAYS:
        raise SegmentDefinitionError(
            path, value, f"expected a number of days from 0 to {MAX_DAYS}"
        )
    return value


def _check_pair(value_type: ValueType, value: Any, path: str) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        example = (
            '["2026-01-01", "2026-01-31"]'
            if value_type is ValueType.DATE
            else ("[10, 20]")
        )
        raise SegmentDefinitionError(
            path, value, f"expected a list of two values, such as {example}"
        )
    low = _check_single(value_type, value[0], f"{path}[0]")
    high = _check_single(value_type, value[1], f"{path}[1]")
    if low > high:
        raise SegmentDefinitionError(
            path, value, "the first value is greater than the second; swap them"
        )
    return low, high


def _check_single(
    value_type: ValueType, value: Any, path: str, choices: tuple[str, ...] = ()
) -> Any:
    if value_type is ValueType.TEXT:
        return _check_text(value, path)
    if value_type is ValueType.CHOICE:
        if value not in choices:
            raise SegmentDefinitionError(
                path, value, f"expected one of {', '.join(choices)}"
            )
        return value
    if value_type is ValueType.FLAG:
        if not isinstance(value, bool):
            raise SegmentDefinitionError(path, value, "expected true or false")
        return value
    if value_type is ValueType.DATE:
        return _check_date(value, path)
    return _check_number(value_type, value, path)


def _check_text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SegmentDefinitionError(
            path, value, "expected non-empty text; use is_empty to find empty values"
        )
    if len(value) > MAX_TEXT_LENGTH:
        raise SegmentDefinitionError(
            path,
            value,
            f"longer than {MAX_TEXT_LENGTH} characters; compare a shorter part with "
            "contains",
        )
    return fold(value.strip())


def _check_date(value: Any, path: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise SegmentDefinitionError(
        path, value, "expected a date written as YYYY-MM-DD, such as 2026-12-31"
    )


def _check_number(value_type: ValueType, value: Any, path: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SegmentDefinitionError(path, value, "expected a number, such as 10")
    number: int | float = value
    if not math.isfinite(number):
        raise SegmentDefinitionError(path, value, "expected a finite number")
    if value_type is ValueType.COUNT:
        if not isinstance(number, int) or number < 0:
            raise SegmentDefinitionError(
                path, value, "expected a whole number of 0 or more"
            )
        return number
    if value_type is ValueType.MONEY:
        return round(number * 100)
    return number


_TRUE_WORDS = {"true", "yes", "y", "1", "on"}
_FALSE_WORDS = {"false", "no", "n", "0", "off"}
PAIR_SEPARATOR = ".."


def value_from_text(value_type: ValueType, operator: Operator, text: str) -> Any:
    """Turn what a user typed into the JSON value of a condition.

    Text that cannot be read is returned as typed, so check_value rejects it
    with a message that shows it. A range is written "low..high".
    """
    shape = OPERATOR_INFO[operator].shape
    if shape is ValueShape.NONE:
        return None
    if shape is ValueShape.DAYS:
        return _whole_number(text.strip())
    if shape is ValueShape.PAIR:
        low, separator, high = text.partition(PAIR_SEPARATOR)
        if not separator:
            return text
        return [_single_from_text(value_type, low), _single_from_text(value_type, high)]
    return _single_from_text(value_type, text)


def value_to_text(value: Any) -> str:
    """Write a condition's JSON value the way value_from_text reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return PAIR_SEPARATOR.join(value_to_text(item) for item in value)
    return str(value)


def _single_from_text(value_type: ValueType, text: str) -> Any:
    clean = text.strip()
    if value_type in (ValueType.NUMBER, ValueType.MONEY, ValueType.COUNT):
        number = _whole_number(clean)
        if isinstance(number, int):
            return number
        try:
            return float(clean.replace(",", "."))
        except ValueError:
            return clean
    if value_type is ValueType.FLAG:
        if clean.lower() in _TRUE_WORDS:
            return True
        if clean.lower() in _FALSE_WORDS:
            return False
    return clean


def _whole_number(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text
