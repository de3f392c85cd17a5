"""The `logsteer` entry point as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_logsteer(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    database = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    return subprocess.run(
        [sys.executable, "-m", "logsteer_tui.cli", "--database", database, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    assert run_logsteer("demo", "--contacts", "300", tmp_path=tmp_path).returncode == 0
    database = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    command = [sys.executable, "-m", "logsteer_tui.cli", "--database", database]
    with subprocess.Popen(
        [*command, "contacts", "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()
        errors = process.stderr.read().decode()
        returncode = process.wait(timeout=120)
    assert "Traceback" not in errors
    assert returncode == 1


def test_bad_database_url_names_it(tmp_path: Path) -> None:
    result = run_logsteer("--database", "mysql://x/y", "migrate", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "mysql" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_in_missing_folder_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "contacts.sqlite"
    result = run_logsteer(
        "--database", f"sqlite:///{missing}", "contacts", "list", tmp_path=tmp_path
    )
    assert result.returncode == 2
    assert str(missing.parent) in result.stderr
    assert "does not exist" in result.stderr
    assert not missing.parent.exists()
