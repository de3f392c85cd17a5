"""`logsteer segments` save, show, list, delete and fields."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_segments_data import add_contact, add_message

from logsteer_tui.cli import main
from logsteer_tui.config import Settings
from logsteer_tui.db.models import Direction
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime

DEFINITION = {
    "match": "and",
    "conditions": [
        {"field": "first_name", "operator": "starts_with", "value": "An"},
        {
            "match": "or",
            "conditions": [
                {"field": "last_sms_received_at", "operator": "never", "value": None},
                {"field": "order.count", "operator": "greater_than", "value": 0},
            ],
        },
    ],
}


def write_json(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "segment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_save_show_list_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_json(tmp_path, DEFINITION)
    assert main(["segments", "save", "Ana", "--file", str(path)]) == 0
    assert "Saved segment 'Ana': 0 contacts" in capsys.readouterr().out
    assert main(["segments", "show", "Ana", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == DEFINITION
    assert main(["segments", "show", "Ana"]) == 0
    shown = capsys.readouterr().out
    assert 'First name starts with "An"' in shown
    assert "Last received SMS date never" in shown
    assert main(["segments", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(item["name"], item["count"]) for item in listed] == [("Ana", 0)]
    assert main(["segments", "list"]) == 0
    assert "Ana" in capsys.readouterr().out


def test_invalid_file_saves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "match": "and",
        "conditions": [{"field": "first_name", "operator": "greater_than", "value": 1}],
    }
    path = write_json(tmp_path, bad)
    assert main(["segments", "save", "Bad", "--file", str(path)]) == 2
    error = capsys.readouterr().err
    assert "conditions[0].operator" in error
    assert "'greater_than'" in error
    assert main(["segments", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_unreadable_file_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["segments", "save", "X", "--file", str(missing)]) == 2
    assert "missing.json" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert main(["segments", "save", "X", "--file", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_show_and_delete_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "show", "Nope"]) == 2
    assert "'Nope' not found" in capsys.readouterr().err
    assert main(["segments", "delete", "Nope"]) == 2


def test_show_in_other_case_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_json(tmp_path, DEFINITION)
    assert main(["segments", "save", "Ana", "--file", str(path)]) == 0
    capsys.readouterr()
    assert main(["segments", "show", "ANA"]) == 2
    error = capsys.readouterr().err
    assert "Segment 'ANA' not found; did you mean 'Ana'?" in error


def test_fields_lists_operators(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "fields", "--json"]) == 0
    fields = {item["field"]: item for item in json.loads(capsys.readouterr().out)}
    assert "never" in fields["last_sms_received_at"]["operators"]
    assert fields["address.city"]["type"] == "text"


async def seed(settings: Settings, paths: AppPaths) -> None:
    """Store three contacts, two of whom received an SMS."""
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
        people = (("Ana", "Šimić"), ("Ivo", "Anić"), ("Andrea", "Babić"))
        for index, (first, last) in enumerate(people):
            contact_id = await add_contact(runtime, first_name=first, last_name=last)
            if index < 2:
                await add_message(runtime, contact_id, Direction.IN, at, f"Hi {first}")
    finally:
        await runtime.stop()


def test_contacts_list_segment(
    tmp_path: Path,
    settings: Settings,
    paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(seed(settings, paths))
    definition = {
        "match": "and",
        "conditions": [
            {"field": "first_name", "operator": "starts_with", "value": "an"}
        ],
    }
    path = write_json(tmp_path, definition)
    assert main(["segments", "save", "An", "--file", str(path)]) == 0
    capsys.readouterr()

    assert main(["contacts", "list", "--segment", "An", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["last_name"] for item in listed] == ["Babić", "Šimić"]
    assert listed[0]["last_sms_received_body"] is None
    assert listed[0]["last_sms_received_at"] is None
    assert listed[1]["last_sms_received_body"] == "Hi Ana"
    assert listed[1]["last_sms_received_at"] == "2026-05-01T08:00:00+00:00"
    assert listed[1]["last_sms_sent_body"] is None
    assert listed[1]["last_sms_sent_at"] is None

    assert main(["contacts", "list", "--segment", "An"]) == 0
    table = capsys.readouterr().out
    assert table.index("Andrea") < table.index("Ana")
    assert "Ivo" not in table

    assert main(["contacts", "list", "--segment", "Nope"]) == 2
    assert "'Nope' not found" in capsys.readouterr().err
