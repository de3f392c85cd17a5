"""`logsteer contacts list | show | edit` through cli.main on a temporary database."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from logsteer_tui import cli

SUMMARY_FIELDS = {
    "id",
    "first_name",
    "last_name",
    "email",
    "mobile_1",
    "phone_1",
    "mobile_2",
    "phone_2",
    "company",
    "do_not_send_sms",
    "do_not_send_email",
    "source",
    "created_at",
    "updated_at",
    "last_message_at",
}
CSV = (
    "first name;last name;email;mobile 1;city;street;note\n"
    "Ana;Šimić;ana@example.com;091 000 0001;Split;Riva 2;Zove popodne\n"
    "Ivo;Horvat;ivo@example.com;098 000 0002;;;\n"
)


@pytest.fixture(autouse=True)
def no_log_file_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # cli.main would replace the root logger's handlers, pytest's among them.
    monkeypatch.setattr(cli, "setup_logging", lambda *args, **kwargs: None)


@pytest.fixture
def database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A database with Ana Šimić (id 1) and Ivo Horvat (id 2), imported by the CLI."""
    path = tmp_path / "cli.sqlite"
    source = tmp_path / "contacts.csv"
    source.write_text(CSV, encoding="utf-8")
    assert run(path, "import", "contacts", str(source)) == 0
    capsys.readouterr()
    return path


def run(database: Path, *arguments: str) -> int:
    return cli.main(["--database", f"sqlite:///{database}", *arguments])


def json_output(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def stored_contact(database: Path, contact_id: int) -> sqlite3.Row:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(
            "SELECT * FROM contact WHERE id = ?", (contact_id,)
        ).fetchone()


def test_list_json_fields(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(database, "contacts", "list", "--json") == 0
    contacts = json_output(capsys)
    assert isinstance(contacts, list)
    assert [contact["last_name"] for contact in contacts] == ["Horvat", "Šimić"]
    for contact in contacts:
        assert set(contact) == SUMMARY_FIELDS
    ana = contacts[1]
    assert ana["mobile_1"] == "+385910000001"
    assert ana["do_not_send_sms"] is False
    assert ana["source"] == "import"
    assert ana["created_at"].endswith("+00:00")


def test_list_search_and_limit(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "contacts", "list", "--search", "SIMIC", "--json") == 0
    assert [contact["id"] for contact in json_output(capsys)] == [1]
    assert run(database, "contacts", "list", "--limit", "1", "--json") == 0
    assert len(json_output(capsys)) == 1  # type: ignore[arg-type]


def test_list_text_table(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(database, "contacts", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "Name",
        "Mobile",
        "1",
        "Email",
        "No",
        "SMS",
        "No",
        "email",
        "Last",
        "message",
    ]
    assert "Ana Šimić" in lines[3]
    assert "+385 91 000 0001" in lines[3]


def test_show_json_adds_details(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "contacts", "show", "1", "--json") == 0
    contact = json_output(capsys)
    assert isinstance(contact, dict)
    assert set(contact) == SUMMARY_FIELDS | {
        "attributes",
        "addresses",
        "notes",
        "orders",
    }
    assert contact["addresses"][0]["street"] == "Riva 2"
    assert contact["addresses"][0]["city"] == "Split"
    assert contact["notes"][0]["body"] == "Zove popodne"
    assert contact["orders"] == []


def test_show_text(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(database, "contacts", "show", "1") == 0
    output = capsys.readouterr().out
    assert "Ana Šimić" in output
    assert "Riva 2, Split" in output
    assert "Zove popodne" in output


def test_show_missing_contact(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "contacts", "show", "99") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Contact 99 not found" in captured.err


def test_edit_sets_fields(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        database,
        "contacts",
        "edit",
        "1",
        "--set",
        "do_not_send_sms=true",
        "--set",
        "mobile_2=098 000 0003",
        "--set",
        "email=",
        "--json",
    )
    assert code == 0
    contact = json_output(capsys)
    assert isinstance(contact, dict)
    assert contact["do_not_send_sms"] is True
    assert contact["mobile_2"] == "+385980000003"
    assert contact["email"] is None
    row = stored_contact(database, 1)
    assert row["do_not_send_sms"] == 1
    assert row["mobile_2"] == "+385980000003"
    with sqlite3.connect(database) as connection:
        events = connection.execute(
            "SELECT channel, action FROM consent_event"
        ).fetchall()
    assert events == [("sms", "opt_out")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--set", "mobile_1=12", "--set", "first_name=Anica"], "mobile_1: '12'"),
        (["--set", "id=5"], "unknown field"),
        (["--set", "do_not_send_sms=maybe"], "expected true or false"),
        (["--set", "first_name"], "is not FIELD=VALUE"),
    ],
)
def test_bad_set_changes_nothing(
    database: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    message: str,
) -> None:
    before = dict(stored_contact(database, 1))
    assert run(database, "contacts", "edit", "1", *options) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert dict(stored_contact(database, 1)) == before


def test_edit_missing_contact(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "contacts", "edit", "99", "--set", "first_name=X") == 2
    assert "Contact 99 not found" in capsys.readouterr().err


def test_json_page_documents_every_field(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (Path(__file__).parents[1] / "docs" / "json.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))
    assert run(database, "contacts", "show", "1", "--json") == 0
    contact = json_output(capsys)
    assert isinstance(contact, dict)
    fields = set(contact)
    for nested in ("addresses", "notes"):
        fields |= set(contact[nested][0])
    assert fields - documented == set()


def test_list_json_formatted_as_one_array(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(database, "contacts", "list", "--json") == 0
    output = capsys.readouterr().out
    assert output == json.dumps(json.loads(output), indent=2, ensure_ascii=False) + "\n"
    assert run(database, "contacts", "list", "--search", "nobody", "--json") == 0
    assert capsys.readouterr().out == "[]\n"
