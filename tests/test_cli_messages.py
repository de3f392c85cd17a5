"""`logsteer messages list` through cli.main on a demo database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from logsteer_tui import cli

MESSAGE_FIELDS = {
    "id",
    "contact_id",
    "channel",
    "direction",
    "type",
    "status",
    "from",
    "to",
    "subject",
    "body",
    "provider",
    "provider_message_id",
    "error_code",
    "error_text",
    "created_at",
    "sent_at",
}


@pytest.fixture(autouse=True)
def no_log_file_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # cli.main would replace the root logger's handlers, pytest's among them.
    monkeypatch.setattr(cli, "setup_logging", lambda *args, **kwargs: None)


@pytest.fixture
def database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "demo.sqlite"
    assert run(path, "demo", "--contacts", "30") == 0
    capsys.readouterr()
    return path


def run(database: Path, *arguments: str) -> int:
    return cli.main(["--database", f"sqlite:///{database}", *arguments])


def messages_json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list)
    return data


def test_list_json_newest_first(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "messages", "list", "--limit", "1000", "--json") == 0
    messages = messages_json(capsys)
    assert len(messages) == 150
    for message in messages:
        assert set(message) == MESSAGE_FIELDS
    created = [str(message["created_at"]) for message in messages]
    assert created == sorted(created, reverse=True)
    assert all(stamp.endswith("+00:00") for stamp in created)


def test_list_for_one_contact(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "messages", "list", "--json") == 0
    contact_id = messages_json(capsys)[0]["contact_id"]
    assert (
        run(database, "messages", "list", "--contact", str(contact_id), "--json") == 0
    )
    messages = messages_json(capsys)
    assert messages
    assert {message["contact_id"] for message in messages} == {contact_id}


def test_list_limit(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(database, "messages", "list", "--limit", "5", "--json") == 0
    assert len(messages_json(capsys)) == 5


def test_list_text_table(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(database, "messages", "list", "--limit", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "Contact",
        "Channel",
        "Dir",
        "Type",
        "Status",
        "Created",
        "Text",
    ]
    assert len(lines) == 5


def test_list_unknown_contact(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "messages", "list", "--contact", "999") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Contact 999 not found" in captured.err


def test_json_page_documents_message_and_order_fields(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (Path(__file__).parents[1] / "docs" / "json.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))
    assert MESSAGE_FIELDS - documented == set()
    assert run(database, "contacts", "list", "--json") == 0
    orders = []
    for contact in messages_json(capsys):
        assert run(database, "contacts", "show", str(contact["id"]), "--json") == 0
        orders.extend(json.loads(capsys.readouterr().out)["orders"])
        if orders:
            break
    assert orders
    assert set(orders[0]) - documented == set()
