"""The JSON tree of a segment: groups of conditions joined by "and" or "or".

``{"match": "and", "conditions": [{"field": "address.city", "operator":
"equals", "value": "Zagreb"}, {"match": "or", "conditions": [...]}]}``. The
fields and operators are listed in docs/segments.md and in fields.FIELDS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from logsteer_tui.services.segments.fields import FIELDS
from logsteer_tui.services.segments.operators import (
    Operator,
    SegmentDefinitionError,
    check_currency,
    check_value,
)

MAX_DEPTH = 5
MAX_CONDITIONS = 200

Match = Literal["and", "or"]


@dataclass(frozen=True)
class Condition:
    field: str
    operator: Operator
    value: Any = None
    """The value as written in the JSON definition."""

    currency: str | None = None
    """The ISO 4217 code that limits a money field to rows in that currency."""

    def to_json(self) -> dict[str, Any]:
        data = {
            "field": self.field,
            "operator": self.operator.value,
            "value": self.value,
        }
        if self.currency is not None:
            data["currency"] = self.currency
        return data


@dataclass(frozen=True)
class Group:
    match: Match
    conditions: tuple[Condition | Group, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "conditions": [item.to_json() for item in self.conditions],
        }

    @cached_property
    def json_text(self) -> str:
        """The definition as JSON text with sorted keys, equal for equal trees.

        It is computed once per object, because it keys the statement cache of
        every page and count (about 20 µs of a first page that takes 0.5 ms).
        """
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)


def parse_definition(data: Any) -> Group:
    """Check a definition read from JSON and return it as a Group.

    Raises SegmentDefinitionError naming the path of the first invalid part, such
    as ``conditions[1].value``, with the value and what to write instead.
    """
    counter = [0]
    return _parse_group(data, "definition", 1, counter)


def parse_definition_text(text: str) -> Group:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SegmentDefinitionError(
            "definition",
            text[:60],
            f"not valid JSON ({error.msg} at line {error.lineno}); fix the file",
        ) from None
    return parse_definition(data)


def _join(path: str, key: str) -> str:
    return key if path == "definition" else f"{path}.{key}"


def _parse_group(data: Any, path: str, depth: int, counter: list[int]) -> Group:
    if not isinstance(data, dict):
        raise SegmentDefinitionError(
            path, data, 'expected an object with "match" and "conditions"'
        )
    unknown = sorted(set(data) - {"match", "conditions"})
    if unknown:
        raise SegmentDefinitionError(
            _join(path, unknown[0]), data[unknown[0]], "unknown key in a group"
        )
    match = data.get("match", "and")
    if match not in ("and", "or"):
        raise SegmentDefinitionError(
            _join(path, "match"), match, 'expected "and" or "or"'
        )
    items = data.get("conditions", [])
    if not isinstance(items, list):
        raise SegmentDefinitionError(
            _join(path, "conditions"), items, "expected a list of conditions"
        )
    conditions: list[Condition | Group] = []
    for index, item in enumerate(items):
        item_path = _join(path, f"conditions[{index}]")
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise SegmentDefinitionError(
                item_path, item, f"more than {MAX_CONDITIONS} conditions in all"
            )
        if isinstance(item, dict) and "field" not in item and "match" in item:
            if depth >= MAX_DEPTH:
                raise SegmentDefinitionError(
                    item_path, item, f"groups nest at most {MAX_DEPTH} deep"
                )
            conditions.append(_parse_group(item, item_path, depth + 1, counter))
        else:
            conditions.append(parse_condition(item, item_path))
    return Group(match, tuple(conditions))


def parse_condition(data: Any, path: str = "condition") -> Condition:
    """Check one condition object: a known field, an operator that fits it, a value."""
    if not isinstance(data, dict):
        raise SegmentDefinitionError(
            path, data, 'expected an object with "field", "operator" and "value"'
        )
    unknown = sorted(set(data) - {"field", "operator", "value", "currency"})
    if unknown:
        raise SegmentDefinitionError(
            f"{path}.{unknown[0]}", data[unknown[0]], "unknown key in a condition"
        )
    name = data.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None or not isinstance(name, str):
        raise SegmentDefinitionError(
            f"{path}.field",
            name,
            "unknown field; see `logsteer segments fields` for the list",
        )
    operator_name = data.get("operator")
    operator = _operator(operator_name)
    if operator not in spec.operators:
        fitting = ", ".join(item.value for item in spec.operators)
        raise SegmentDefinitionError(
            f"{path}.operator",
            operator_name,
            f"does not fit the {spec.value_type.value} field {name}; use one of "
            f"{fitting}",
        )
    value = data.get("value")
    check_value(spec.value_type, operator, value, f"{path}.value", spec.choices)
    currency = _currency(data.get("currency"), name, f"{path}.currency")
    return Condition(name, operator, value, currency)


def _currency(value: Any, field: str, path: str) -> str | None:
    if value is None:
        return None
    if FIELDS[field].currency_column is None:
        fitting = ", ".join(
            name for name, spec in FIELDS.items() if spec.currency_column is not None
        )
        raise SegmentDefinitionError(
            path,
            value,
            f"the field {field} takes no currency; remove the key, or use one of "
            f"{fitting}",
        )
    return check_currency(value, path)


def _operator(name: Any) -> Operator | None:
    try:
        return Operator(name)
    except ValueError:
        return None
