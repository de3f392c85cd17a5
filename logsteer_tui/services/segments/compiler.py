"""Compile a segment definition to one SQL condition on the contact table.

Every value reaches the database as a bound parameter. Conditions read the way a
person means them: a negative operator ("is not", "does not contain", "is
empty") also matches contacts with no value or no related row at all, and
relative dates are calendar days in the configured time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from logsteer_tui.db.folding import FoldedText
from logsteer_tui.db.models import Contact
from logsteer_tui.db.types import UTCDateTime
from logsteer_tui.errors import ValidationError
from logsteer_tui.services.segments.definition import Condition, Group
from logsteer_tui.services.segments.fields import FIELDS, FieldKind, FieldSpec, TextMode
from logsteer_tui.services.segments.operators import (
    OPERATOR_INFO,
    Operator,
    ValueType,
    check_value,
)
from logsteer_tui.services.validation import normalize_phone

# Stands in for a missing date; earlier than any "N days ago" bound.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)

# The highest code point, so ``column < prefix + TOP`` bounds a prefix range.
TOP = "\U0010ffff"


@dataclass(frozen=True)
class CompileContext:
    """The clock, time zone and phone region that a definition is read against."""

    now: datetime
    zone: ZoneInfo
    region: str

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        """Return the UTC instant at which ``day`` starts in the configured zone."""
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)


def compile_group(group: Group, context: CompileContext) -> ColumnElement[bool]:
    """Return the SQL condition that a contact row matches ``group``.

    An empty group matches every contact, whether it joins with "and" or "or".
    """
    parts = [_compile_item(item, context) for item in group.conditions]
    if not parts:
        return true()
    return and_(*parts) if group.match == "and" else or_(*parts)


def _compile_item(item: Condition | Group, context: CompileContext) -> Any:
    if isinstance(item, Group):
        return compile_group(item, context)
    return compile_condition(item, context)


def compile_condition(
    condition: Condition, context: CompileContext
) -> ColumnElement[bool]:
    spec = FIELDS[condition.field]
    value = check_value(
        spec.value_type,
        condition.operator,
        condition.value,
        condition.field,
        spec.choices,
    )
    currency = _currency_filters(spec, condition.currency)
    if spec.kind is FieldKind.SUM and condition.currency is None:
        return _sum_per_currency(spec, condition.operator, value)
    if spec.kind in (FieldKind.COUNT, FieldKind.SUM):
        compared: ColumnElement[bool] = _number_predicate(
            _aggregate(spec, *currency), condition.operator, value
        )
        return compared
    if spec.value_type is ValueType.DATE:
        return _date_condition(spec, condition.operator, value, context)
    negated = OPERATOR_INFO[condition.operator].negated
    positive = negated or condition.operator
    predicate = _predicate(spec, positive, value, context)
    if spec.kind is FieldKind.RELATED:
        found = _any_related(spec, predicate, *currency)
        return not_(found) if negated else found
    if negated:
        return or_(spec.column.is_(None), not_(predicate))
    return predicate


def _any_related(spec: FieldSpec, *conditions: Any) -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(spec.model)
        .where(spec.model.contact_id == Contact.id, *spec.filters, *conditions)
        .correlate(Contact)
    )


def _currency_filters(spec: FieldSpec, currency: str | None) -> tuple[Any, ...]:
    if currency is None or spec.currency_column is None:
        return ()
    return (spec.currency_column == currency,)


def _aggregate(spec: FieldSpec, *conditions: Any) -> Any:
    measure = func.count() if spec.kind is FieldKind.COUNT else func.sum(spec.column)
    subquery = (
        select(measure)
        .where(spec.model.contact_id == Contact.id, *spec.filters, *conditions)
        .correlate(Contact)
        .scalar_subquery()
    )
    return subquery if spec.kind is FieldKind.COUNT else func.coalesce(subquery, 0)


def _sum_per_currency(
    spec: FieldSpec, operator: Operator, value: Any
) -> ColumnElement[bool]:
    """Compile a sum with no currency: it holds when the sum in any one currency does.

    Totals in different currencies are never added. A contact with no rows has
    a sum of 0, as with a currency.
    """
    per_currency = (
        select(1)
        .select_from(spec.model)
        .where(spec.model.contact_id == Contact.id, *spec.filters)
        .group_by(spec.currency_column)
        .having(_number_predicate(func.sum(spec.column), operator, value))
        .correlate(Contact)
    )
    found = exists(per_currency)
    if _number_holds(operator, 0, value):
        return or_(found, not_(_any_related(spec)))
    return found


def _number_holds(operator: Operator, number: int, value: Any) -> bool:
    """Evaluate a number operator in Python, as _number_predicate does in SQL."""
    if operator is Operator.EQUALS:
        return bool(number == value)
    if operator is Operator.NOT_EQUALS:
        return bool(number != value)
    if operator is Operator.LESS_THAN:
        return bool(number < value)
    if operator is Operator.GREATER_THAN:
        return bool(number > value)
    low, high = value
    return bool(low <= number <= high)


def _predicate(
    spec: FieldSpec, operator: Operator, value: Any, context: CompileContext
) -> ColumnElement[bool]:
    if spec.value_type is ValueType.TEXT:
        return _text_predicate(spec, operator, value, context)
    if spec.value_type in (ValueType.NUMBER, ValueType.MONEY, ValueType.COUNT):
        if operator is Operator.IS_NOT_EMPTY:
            return spec.column.is_not(None)  # type: ignore[no-any-return]
        compared: ColumnElement[bool] = _number_predicate(spec.column, operator, value)
        return compared
    if operator is Operator.IS_NOT_EMPTY:
        return spec.column.is_not(None)  # type: ignore[no-any-return]
    # Choices and flags take "equals" only, once "not equals" is negated.
    return spec.column == value  # type: ignore[no-any-return]


def _number_predicate(column: Any, operator: Operator, value: Any) -> Any:
    if operator is Operator.EQUALS:
        return column == value
    if operator is Operator.NOT_EQUALS:
        return column != value
    if operator is Operator.LESS_THAN:
        return column < value
    if operator is Operator.GREATER_THAN:
        return column > value
    low, high = value
    return column.between(low, high)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_predicate(
    spec: FieldSpec, operator: Operator, value: Any, context: CompileContext
) -> ColumnElement[bool]:
    column = spec.column
    if operator is Operator.IS_NOT_EMPTY:
        return and_(column.is_not(None), column != "")
    if spec.text_mode is TextMode.PHONE:
        value = _phone_value(operator, value, context.region)
        compared = column
    elif spec.text_mode is TextMode.FOLDED:
        compared = column
    else:
        compared = FoldedText(column)
    if operator is Operator.EQUALS:
        return compared == value  # type: ignore[no-any-return]
    if operator is Operator.CONTAINS:
        return compared.like(f"%{_escape_like(value)}%", escape="\\")  # type: ignore[no-any-return]
    prefix = compared.like(f"{_escape_like(value)}%", escape="\\")
    if spec.text_mode is TextMode.FOLDED:
        # The range lets an index on the folded column serve the prefix search.
        return and_(compared >= value, compared < value + TOP, prefix)
    return prefix  # type: ignore[no-any-return]


def _phone_value(operator: Operator, value: str, region: str) -> str:
    """Read a typed number: a whole number becomes E.164, a part loses its spaces.

    A part that starts with a national 0 or an international 00 gets the "+"
    form, so it matches the E.164 numbers as stored.
    """
    if operator is Operator.EQUALS:
        try:
            return normalize_phone("value", value, region) or value
        except ValidationError:
            pass
    digits = "".join(char for char in value if char.isdigit() or char == "+")
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        # A national prefix: "091 2" is the start of +385912 in Croatia.
        country_code = phonenumbers.country_code_for_region(region)
        return f"+{country_code}{digits[1:]}" if country_code else digits
    return digits or value


def _date_bounds(
    operator: Operator, value: Any, context: CompileContext
) -> tuple[datetime | None, datetime | None]:
    """Return [lower, upper) UTC bounds of a date operator that names a range."""
    if operator is Operator.TODAY:
        day = context.today
        return context.day_start(day), context.day_start(day + timedelta(days=1))
    if operator is Operator.EQUALS:
        return context.day_start(value), context.day_start(value + timedelta(days=1))
    if operator is Operator.BEFORE:
        return None, context.day_start(value)
    if operator is Operator.AFTER:
        return context.day_start(value + timedelta(days=1)), None
    if operator is Operator.BETWEEN:
        low, high = value
        return context.day_start(low), context.day_start(high + timedelta(days=1))
    # Within the last N days: since the start of the local day N days ago.
    return context.day_start(context.today - timedelta(days=value)), None


def _in_range(column: Any, bounds: tuple[datetime | None, datetime | None]) -> Any:
    lower, upper = bounds
    parts = []
    if lower is not None:
        parts.append(column >= lower)
    if upper is not None:
        parts.append(column < upper)
    return and_(*parts)


def _date_condition(
    spec: FieldSpec, operator: Operator, value: Any, context: CompileContext
) -> ColumnElement[bool]:
    """Compile a date operator; on related rows it reads "any row" or "the latest".

    On related rows, "never" means no such row at all. "Not within the last N
    days" means no row in that time. "More than N days ago" means at least one
    row and none in that time, so the latest row is older.
    """
    column = spec.column
    related = spec.kind is FieldKind.RELATED
    if operator is Operator.NEVER:
        return not_(_any_related(spec)) if related else column.is_(None)
    if operator is Operator.IS_NOT_EMPTY:
        return _any_related(spec) if related else column.is_not(None)
    if operator in (Operator.NOT_WITHIN_LAST_DAYS, Operator.MORE_THAN_DAYS_AGO):
        since, _ = _date_bounds(Operator.WITHIN_LAST_DAYS, value, context)
        if related:
            recent = not_(_any_related(spec, column >= since))
            if operator is Operator.NOT_WITHIN_LAST_DAYS:
                return recent
            return and_(_any_related(spec), recent)
        if operator is Operator.NOT_WITHIN_LAST_DAYS:
            # One comparison rather than "IS NULL OR <": SQLite answers that OR
            # from two index searches and a lookup per row, several times slower
            # than a scan when most contacts match, as they usually do here.
            missing = literal(EARLIEST, UTCDateTime())
            return func.coalesce(column, missing) < since
        return column < since  # type: ignore[no-any-return]
    bounds = _date_bounds(operator, value, context)
    if related:
        return _any_related(spec, _in_range(column, bounds))
    return _in_range(column, bounds)  # type: ignore[no-any-return]
