"""Messages of invalid values: a long value is cut, and None is never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logsteer_tui.cli import main
from logsteer_tui.errors import ValidationError, shown_value
from logsteer_tui.services.segments import parse_condition, parse_definition
from logsteer_tui.services.segments.operators import SegmentDefinitionError


def test_shown_value_cuts_long_text() -> None:
    shown = shown_value("Zagreb" + "x" * 2994)
    assert shown.startswith("'Zagrebxxx")
    assert shown.endswith("… (3,000 characters)")
    assert len(shown) < 70


def test_shown_value_keeps_short_text() -> None:
    assert shown_value("Zagreb") == "'Zagreb'"
    assert shown_value(12) == "12"


def test_long_value_keeps_reason() -> None:
    error = ValidationError("address.city", "x" * 3000, "longer than 500 characters")
    assert error.message.endswith("is invalid: longer than 500 characters")
    assert "(3,000 characters)" in error.message
    assert len(error.message) < 120


def test_missing_value_reads_as_words() -> None:
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_definition(
            {"conditions": [{"field": "address.city", "operator": "equals"}]}
        )
    message = caught.value.message
    assert "None" not in message
    assert message.startswith("conditions[0].value: the value is missing; give ")
    assert '"Zagreb"' in message


@pytest.mark.parametrize(
    ("field", "operator", "example"),
    [
        ("order.total", "greater_than", "an amount, such as 12.50"),
        ("order.count", "equals", "a whole number, such as 3"),
        ("order.date", "before", "YYYY-MM-DD"),
        ("order.date", "within_last_days", "a whole number of days, such as 30"),
        ("order.total", "between", "[10, 20]"),
        ("do_not_send_sms", "equals", "true or false"),
    ],
)
def test_missing_value_names_example(field: str, operator: str, example: str) -> None:
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_condition({"field": field, "operator": operator})
    assert "the value is missing" in caught.value.message
    assert example in caught.value.message


def test_huge_text_value_is_cut() -> None:
    with pytest.raises(SegmentDefinitionError) as caught:
        parse_condition(
            {"field": "address.city", "operator": "equals", "value": "Z" * 3000}
        )
    message = caught.value.message
    assert "(3,000 characters)" in message
    assert message.endswith(
        "is invalid: longer than 500 characters; compare a shorter part with contains"
    )


def test_cli_save_prints_short_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = {
        "conditions": [
            {"field": "address.city", "operator": "equals", "value": "x" * 200_000}
        ]
    }
    path = tmp_path / "segment.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    assert main(["segments", "save", "Huge", "--file", str(path)]) != 0
    error = capsys.readouterr().err
    assert len(error) < 300, error
    assert "(200,000 characters)" in error
    assert "longer than 500 characters" in error
