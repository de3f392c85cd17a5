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


def insert_run(
    database: Path, status: str, total: int, sent: int, skipped: int
) -> None:
    """Insert run 1 of schedule 1, planned at 10:00 UTC, as a scheduler writes it."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO schedule_run (schedule_id, planned_at, status, populated, "
            "total, sent, skipped, failed, note, created_at, updated_at) VALUES "
            "(1, '2026-12-04 10:00:00', ?, 1, ?, ?, ?, 0, '', "
            "'2026-12-04 10:00:00', '2026-12-04 10:00:00')",
            (status, total, sent, skipped),
        )


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
    insert_run(isolated_dirs.database_file, "running", total=3, sent=1, skipped=0)
    capsys.readouterr()
    assert main(["schedule", "list"]) == 0
    (row,) = capsys.readouterr().out.splitlines()[1:]
    assert row.split()[1] == "running"
    assert main(["schedule", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["status"] == "running"
    assert listed["running_run"]["pending"] == 2


def test_edit_without_changes_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--yes"]) == 0
    capsys.readouterr()
    assert main(["schedule", "edit", "1"]) == 2
    output = capsys.readouterr()
    assert "Nothing to change in schedule 1: give --body, --at" in output.err
    assert "Edited" not in output.out


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        ("-5", "grace: '-5 minutes' is invalid: negative; give 0 or more minutes"),
        ("100000000", "longer than 366 days; give at most 527040 minutes"),
    ],
)
def test_grace_out_of_range_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], grace: str, expected: str
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--grace", grace, "--yes"]) == 2
    assert expected in capsys.readouterr().err


def test_cron_day_above_seven_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--every", "cron 0 9 * * 8", "--yes"]) == 2
    error = capsys.readouterr().err
    assert "day of week 8 is out of range" in error
    assert "use 0-7 (0 and 7 are Sunday) or sun..sat" in error


def test_history_and_deliveries_read_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_dirs: AppPaths
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text(
        "first_name,last_name,mobile_1\nAna,Šimić,+385911234567\n", encoding="utf-8"
    )
    assert main(["import", "contacts", str(source)]) == 0
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--yes"]) == 0
    # A finished run as the scheduler leaves it.
    insert_run(isolated_dirs.database_file, "finished", total=1, sent=0, skipped=1)
    with sqlite3.connect(isolated_dirs.database_file) as connection:
        connection.execute(
            "INSERT INTO delivery (run_id, contact_id, status, reason, error_code, "
            "updated_at) VALUES (1, 1, 'skipped', 'Do not send SMS is set.', "
            "'do_not_send_sms', '2026-12-04 10:00:01')"
        )
    capsys.readouterr()

    assert main(["schedule", "history", "1"]) == 0
    # The default zone is Europe/Zagreb, one hour ahead of UTC in December.
    assert capsys.readouterr().out.startswith("Run 1  2026-12-04 11:00  finished:")

    assert main(["schedule", "deliveries", "1"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["Contact", "Name", "Mobile", "1", "Status", "Reason"]
    assert row.split()[:4] == ["1", "Ana", "Šimić", "+385911234567"]
    assert row.endswith("skipped     Do not send SMS is set.")
    assert main(["schedule", "deliveries", "1", "--status", "failed"]) == 0
    assert capsys.readouterr().out == "Run 1 has no failed deliveries.\n"


def test_segment_in_other_case_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--yes"]) == 2
    error = capsys.readouterr().err
    assert "Segment 'everyone' not found; did you mean 'Everyone'?" in error
