"""`logsteer demo` and `logsteer import contacts` through cli.main, with exit codes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from logsteer_tui import cli


@pytest.fixture(autouse=True)
def no_log_file_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # cli.main would replace the root logger's handlers, pytest's among them.
    monkeypatch.setattr(cli, "setup_logging", lambda *args, **kwargs: None)


def run(database: Path, *arguments: str) -> int:
    return cli.main(["--database", f"sqlite:///{database}", *arguments])


def count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_demo_fills_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "demo.sqlite"
    assert run(database, "demo", "--contacts", "20", "--seed", "4") == 0
    assert "Added 20 demo contacts" in capsys.readouterr().out
    assert count(database, "contact") == 20
    assert count(database, "message") == 100


def test_demo_rejects_filled_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "demo.sqlite"
    assert run(database, "demo", "--contacts", "5") == 0
    capsys.readouterr()
    assert run(database, "demo", "--contacts", "5") == 2
    error = capsys.readouterr().err
    assert "already has 5 contacts" in error
    assert "--append" in error
    assert count(database, "contact") == 5
    assert run(database, "demo", "--contacts", "5", "--append") == 0
    assert count(database, "contact") == 10


def test_import_reports_failed_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "import.sqlite"
    source = tmp_path / "crm.csv"
    source.write_bytes(
        "\ufeffIme;Prezime;Mobitel\nAna;Šimić;091 000 0001\nIvo;Ivić;12\n".encode()
    )
    assert run(database, "import", "contacts", str(source)) == 1
    captured = capsys.readouterr()
    assert "1 created, 0 updated, 1 failed" in captured.out
    assert "crm.csv: row 3, column 'Mobitel': '12' is invalid" in captured.err
    assert count(database, "contact") == 1


def test_import_clean_file_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "import.sqlite"
    source = tmp_path / "crm.csv"
    source.write_text("email,first name\nana@example.com,Ana\n", encoding="utf-8")
    assert run(database, "import", "contacts", str(source)) == 0
    assert run(database, "import", "contacts", str(source)) == 0
    assert "0 created, 1 updated, 0 failed" in capsys.readouterr().out
    assert count(database, "contact") == 1


def test_import_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "import.sqlite"
    assert run(database, "import", "contacts", str(tmp_path / "nope.csv")) == 2
    error = capsys.readouterr().err
    assert "nope.csv" in error
    assert "Check the path" in error
