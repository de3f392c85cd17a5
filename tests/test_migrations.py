"""Schema upgrades from the command line and on start, keeping the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from logsteer_tui.cli import main
from logsteer_tui.config import load_settings
from logsteer_tui.db.migrate import alembic_config, current_revision, head_revision
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime

FIRST_REVISION = "0001"


def make_old_database(path: Path) -> None:
    """Create a database at the first revision, holding one contact."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, FIRST_REVISION)
        connection.execute(
            text(
                "INSERT INTO contact (first_name, last_name, email, company,"
                " attributes, do_not_send_sms, do_not_send_email, source,"
                " created_at, updated_at, sort_name, search_text)"
                " VALUES ('Ana', 'Horvat', 'ana@example.com', '', '{}', 1, 0,"
                " 'manual', '2026-01-01 10:00:00', '2026-01-01 10:00:00',"
                " 'horvat ana', 'ana horvat ana@example.com')"
            )
        )
    engine.dispose()


async def test_start_upgrades_old_database(tmp_path: Path, paths: AppPaths) -> None:
    database = tmp_path / "old.sqlite"
    make_old_database(database)
    settings = load_settings(paths.config_file, database_url=f"sqlite:///{database}")
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        assert await current_revision(runtime.engine) == head_revision()
        contact = await runtime.contacts.get(1)
        assert contact.full_name == "Ana Horvat"
        assert contact.do_not_send_sms is True
    finally:
        await runtime.stop()


def test_migrate_command_reports_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "old.sqlite"
    make_old_database(database)
    url = f"sqlite:///{database}"

    assert main(["--database", url, "migrate"]) == 0
    assert f"from {FIRST_REVISION} to {head_revision()}" in capsys.readouterr().out

    assert main(["--database", url, "migrate"]) == 0
    assert "already at the newest revision" in capsys.readouterr().out


def test_config_command_masks_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGSTEER_TWILIO__AUTH_TOKEN", "very-secret-token")
    monkeypatch.setenv("LOGSTEER_GENERAL__TIMEZONE", "UTC")

    assert main(["config", "--json"]) == 0
    output = capsys.readouterr().out
    data = json.loads(output)
    assert "very-secret-token" not in output
    assert data["settings"]["twilio"]["auth_token"] == "********"
    assert data["settings"]["general"]["timezone"] == "UTC"
    assert data["paths"]["config_file"].endswith("logsteer/config.toml")
    assert data["database_url"].endswith("logsteer.sqlite")
