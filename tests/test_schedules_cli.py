"""`logsteer schedule` create, list, history, pause, resume, cancel and send-now."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from logsteer_tui.cli import main
from logsteer_tui.paths import AppPaths


def everyone(tmp_path: Path) -> None:
    path = tmp_path / "segment.json"
    path.write_text(json.dumps({"match": "and", "conditions": []}), encoding="utf-8")
    assert main(["segments", "save", "Everyone", "--file", str(path)]) == 0


def test_create_prints_preview_and_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    capsys.readouterr()
    code = main(
        [
            "schedule",
            "create",
            "--segment",
            "Everyone",
            "--body",
            "Hi {{ first_name }}",
            "--at",
            "tomorrow 09:00",
            "--every",
            "weekly mon,thu",
            "--yes",
        ]
    )
    output = capsys.readouterr().out
    assert code == 0
    assert "Contacts in the segment now: 0" in output
    assert "Repeats: weekly mon,thu" in output
    assert "Saved schedule 1." in output
    assert main(["schedule", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == 1
    assert listed["status"] == "active"
    assert (listed["sent"], listed["skipped"], listed["failed"]) == (0, 0, 0)
    assert listed["next_run_at"] is not None
    assert main(["schedule", "pause", "1"]) == 0
    assert main(["schedule", "resume", "1"]) == 0
    assert main(["schedule", "cancel", "1"]) == 0
    assert "Cancelled schedule 1." in capsys.readouterr().out
    assert main(["schedule", "list"]) == 0
    assert "cancelled" in capsys.readouterr().out


def test_past_time_rejected_with_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    code = main([*create, "--at", "2020-05-01 10:00", "--yes"])
    assert code == 2
    error = capsys.readouterr().err
    assert "'2020-05-01 10:00'" in error
    assert "in the past" in error


def test_without_yes_and_no_terminal_saves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    everyone(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = main(
        ["schedule", "create", "--segment", "Everyone", "--body", "Hi", "--at", "+1h"]
    )
    assert code == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["schedule", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_unknown_schedule_names_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "cancel", "42"]) == 2
    assert "Schedule 42 not found" in capsys.readouterr().err


def test_template_save_and_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    assert main(["schedule", "template-save", "hello", "--body", "Hello!"]) == 0
    assert main(["schedule", "templates"]) == 0
    assert "hello: Hello!" in capsys.readouterr().out
    create = ["schedule", "create", "--segment", "Everyone", "--template", "hello"]
    code = main([*create, "--at", "+2h", "--yes"])
    assert code == 0


def test_list_json_status_matches_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_dirs: AppPaths
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--yes"]) == 0
    # A run row as another process writes it while it sends.
    with sqlite3.connect(isolated_dirs.database_file) as connection:
        connection.execute(
            "INSERT INTO schedule_run (schedule_id, planned_at, status, populated, "
            "total, sent, skipped, failed, note, created_at, updated_at) VALUES "
            "(1, '2026-12-04 10:00:00', 'running', 1, 3, 1, 0, 0, '', "
            "'2026-12-04 10:00:00', '2026-12-04 10:00:00')"
        )
    capsys.readouterr()
    assert main(["schedule", "list"]) == 0
    (row,) = capsys.readouterr().out.splitlines()[1:]
    assert row.split()[1] == "running"
    assert main(["schedule", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["status"] == "running"
    assert listed["running_run"]["pending"] == 2
