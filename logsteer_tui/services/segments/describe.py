"""Plain-language lines for a definition, for the command line and the builder."""

from __future__ import annotations

import json

from logsteer_tui.services.segments.definition import Condition, Group
from logsteer_tui.services.segments.fields import FIELDS, FieldKind
from logsteer_tui.services.segments.operators import (
    OPERATOR_INFO,
    ValueShape,
    operator_label,
)

MATCH_LABELS = {"and": "all of", "or": "any of"}


def describe_condition(condition: Condition) -> str:
    """Return "City is Zagreb" for a condition, with its value as typed.

    A currency follows the amount ("greater than 1000 EUR"). A sum with no
    currency reads "in any one currency", which is what it compares.
    """
    spec = FIELDS[condition.field]
    label = operator_label(spec.value_type, condition.operator)
    shape = OPERATOR_INFO[condition.operator].shape
    field = spec.label
    if spec.kind is FieldKind.SUM and condition.currency is None:
        field = f"{field} in any one currency"
    currency = f" {condition.currency}" if condition.currency else ""
    if shape is ValueShape.NONE:
        return f"{field} {label}"
    if shape is ValueShape.PAIR:
        low, high = condition.value
        return f"{field} {label} {format_value(low)} and {format_value(high)}{currency}"
    if shape is ValueShape.DAYS:
        return f"{field} {label.replace('N', str(condition.value))}"
    return f"{field} {label} {format_value(condition.value)}{currency}"


def format_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_group(group: Group, indent: str = "  ") -> list[str]:
    """Return one line per group and condition, indented by nesting depth."""
    lines = [f"{MATCH_LABELS[group.match]}:"]
    for item in group.conditions:
        if isinstance(item, Group):
            lines.extend(indent + line for line in describe_group(item, indent))
        else:
            lines.append(indent + describe_condition(item))
    if not group.conditions:
        lines.append(indent + "(no conditions: every contact)")
    return lines
