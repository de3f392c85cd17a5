"""Segment definitions: validation naming the path, and saving segments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_segments_data import add_contact, segment_service

from logsteer_tui.errors import NotFoundError, ValidationError
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.segments import (
    FIELDS,
    Group,
    Operator,
    SegmentDefinitionError,
    SegmentExistsError,
    ValueType,
    parse_condition,
    parse_definition,
    value_from_text,
    value_to_text,
)
from logsteer_tui.services.segments.editing import (
    append_to,
    group_path_of,
    item_at,
    move_by,
    remove_at,
    toggle_match,
)
from logsteer_tui.services.segments.operators import OPERATOR_INFO, ValueShape

CITY = {"field": "address.city", "operator": "equals", "value": "Zagreb"}


def nested(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "match": "and",
        "conditions": [CITY, {"match": "or", "conditions": [CITY, condition]}],
    }


@pytest.mark.parametrize(
    ("condition", "path", "shown"),
    [
        (
            {"field": "shoe_size", "operator": "equals", "value": 1},
            "field",
            "shoe_size",
        ),
        (
            {"field": "first_name", "operator": "less_than", "value": "A"},
            "operator",
            "less_than",
        ),
        ({"field": "first_name", "operator": "equals", "value": 3}, "value", "3"),
        (
            {"field": "order.total", "operator": "greater_than", "value": "x"},
            "value",
            "x",
        ),
        (
            {"field": "order.date", "operator": "before", "value": "31.12.2026"},
            "value",
            "31.12.2026",
        ),
        ({"field": "order.count", "operator": "equals", "value": 1.5}, "value", "1.5"),
        (
            {"field": "do_not_send_sms", "operator": "equals", "value": "yes"},
            "value",
            "yes",
        ),
        ({"field": "source", "operator": "equals", "value": "fax"}, "value", "fax"),
        (
            {"field": "last_sms_sent_at", "operator": "within_last_days", "value": -1},
            "value",
            "-1",
        ),
        ({"field": "email", "operator": "is_empty", "value": "x"}, "value", "x"),
        (
            {"field": "email", "operator": "equals", "value": "a", "extra": 1},
            "extra",
            "1",
        ),
    ],
)
def test_invalid_condition_names_path(
    condition: dict[str, Any], path: str, shown: str
) -> None:
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition(nested(condition))
    assert caught.value.field == f"conditions[1].conditions[1].{path}"
    assert shown in caught.value.message
    assert caught.value.message.startswith(f"conditions[1].conditions[1].{path}: ")


def test_between_checks_each_end() -> None:
    condition = {"field": "order.total", "operator": "between", "value": [1, "2"]}
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition({"match": "and", "conditions": [condition]})
    assert caught.value.field == "conditions[0].value[1]"
    condition["value"] = [5, 1]
    with pytest.raises(SegmentDefinitionError, match="swap"):
        parse_definition({"match": "and", "conditions": [condition]})


def test_invalid_match_and_shape() -> None:
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition({"match": "xor", "conditions": []})
    assert caught.value.field == "match"
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition({"match": "and", "conditions": [1]})
    assert caught.value.field == "conditions[0]"
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition([])
    assert caught.value.field == "definition"


def test_definition_round_trips() -> None:
    data = nested({"field": "order.total", "operator": "between", "value": [1, 2]})
    assert parse_definition(data).to_json() == {
        "match": "and",
        "conditions": [
            CITY,
            {
                "match": "or",
                "conditions": [
                    CITY,
                    {"field": "order.total", "operator": "between", "value": [1, 2]},
                ],
            },
        ],
    }


async def test_every_field_operator_runs(runtime: Runtime) -> None:
    """Each operator of each field accepts a value of its shape and runs."""
    segments = segment_service(runtime)
    await add_contact(runtime, first_name="Ana")
    samples = {
        "text": "a",
        "number": 1,
        "money": 1.5,
        "count": 1,
        "date": "2026-01-01",
        "flag": True,
    }
    for spec in FIELDS.values():
        for operator in spec.operators:
            shape = OPERATOR_INFO[operator].shape
            value: Any = samples.get(spec.value_type.value)
            if spec.choices:
                value = spec.choices[0]
            if shape is ValueShape.NONE:
                value = None
            elif shape is ValueShape.DAYS:
                value = 7
            elif shape is ValueShape.PAIR:
                value = [value, value]
            condition = {"field": spec.name, "operator": operator.value, "value": value}
            definition = parse_definition({"match": "and", "conditions": [condition]})
            assert await segments.count(definition) in (0, 1), condition
    assert Operator.NEVER in FIELDS["last_sms_received_at"].operators


async def test_invalid_definition_saves_nothing(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    bad = nested({"field": "nope", "operator": "equals", "value": 1})
    with pytest.raises(SegmentDefinitionError):
        await segments.save("Zagreb", bad)
    assert await segments.list_segments() == []


async def test_save_replaces_by_name(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    first = await segments.save("Zagreb", {"match": "and", "conditions": [CITY]})
    second = await segments.save("Zagreb", {"match": "or", "conditions": [CITY]})
    assert first.id == second.id
    assert (await segments.get("Zagreb")).definition.match == "or"


async def test_rename_duplicate_delete(runtime: Runtime) -> None:
    segments = segment_service(runtime)
    await add_contact(runtime, first_name="Ana")
    await segments.save("All", {"match": "and"})
    await segments.save("Other", {"match": "and", "conditions": [CITY]})
    renamed = await segments.rename("All", "Everyone")
    assert renamed.name == "Everyone"
    with pytest.raises(SegmentExistsError, match="Other"):
        await segments.rename("Everyone", "Other")
    copy = await segments.duplicate("Everyone")
    assert copy.name == "Everyone (copy)"
    again = await segments.duplicate("Everyone")
    assert again.name == "Everyone (copy 2)"
    summaries = await segments.list_with_counts()
    assert [(item.name, item.count) for item in summaries] == [
        ("Everyone", 1),
        ("Everyone (copy 2)", 1),
        ("Everyone (copy)", 1),
        ("Other", 0),
    ]
    await segments.delete("Everyone (copy)")
    with pytest.raises(NotFoundError, match="segments list"):
        await segments.get("Everyone (copy)")
    with pytest.raises(ValidationError, match="name"):
        await segments.save("  ", {"match": "and"})


def test_editing_paths() -> None:
    city = parse_condition(CITY)
    root = Group("and")
    root, first = append_to(root, (), city)
    root, group = append_to(root, (), Group("or"))
    root, inner = append_to(root, group, city)
    assert (first, group, inner) == ((0,), (1,), (1, 0))
    assert group_path_of(root, inner) == (1,)
    assert group_path_of(root, group) == (1,)
    assert toggle_match(root, group).to_json()["conditions"][1]["match"] == "and"
    moved, path = move_by(root, (1,), -1)
    assert path == (0,)
    assert isinstance(item_at(moved, (0,)), Group)
    unmoved, path = move_by(moved, (0,), -1)
    assert path == (0,)
    assert unmoved == moved
    removed = remove_at(root, (1, 0))
    assert item_at(removed, (1,)) == Group("or")


def test_typed_values_read_by_type() -> None:
    cases: list[tuple[ValueType, Operator, str, Any]] = [
        (ValueType.TEXT, Operator.CONTAINS, " Zagreb ", "Zagreb"),
        (ValueType.MONEY, Operator.GREATER_THAN, "12,50", 12.5),
        (ValueType.COUNT, Operator.EQUALS, "3", 3),
        (ValueType.NUMBER, Operator.EQUALS, "abc", "abc"),
        (ValueType.FLAG, Operator.EQUALS, "Yes", True),
        (ValueType.FLAG, Operator.EQUALS, "no", False),
        (
            ValueType.DATE,
            Operator.BETWEEN,
            "2026-01-01..2026-01-31",
            ["2026-01-01", "2026-01-31"],
        ),
        (ValueType.COUNT, Operator.BETWEEN, "1..5", [1, 5]),
        (ValueType.DATE, Operator.WITHIN_LAST_DAYS, "30", 30),
        (ValueType.DATE, Operator.NEVER, "ignored", None),
    ]
    for value_type, operator, text, expected in cases:
        value = value_from_text(value_type, operator, text)
        assert value == expected, (value_type, operator, text)
        if expected is not None and expected != "abc":
            assert value_from_text(value_type, operator, value_to_text(value)) == value


def test_docs_name_every_field() -> None:
    docs = Path(__file__).parent.parent / "docs" / "segments.md"
    text = docs.read_text(encoding="utf-8")
    missing = [
        name
        for name in FIELDS
        if not name.startswith("messages.count.") and f"`{name}`" not in text
    ]
    assert missing == []
