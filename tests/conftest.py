"""Fixtures shared by every test: isolated folders, settings and a started runtime."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from logsteer_tui.config import Settings, load_settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime

# Pilot tests run at the size the app is designed for, whatever the terminal is.
TERMINAL_SIZE = (80, 24)

# The PostgreSQL server that tests create their own databases on.
POSTGRES_SERVER_URL = os.environ.get(
    "LOGSTEER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    """Point every user folder at the test's own temporary folder.

    Settings from the environment, LOGSTEER_* and TEXTUAL_*, are removed too, so a
    developer's own configuration never changes a result.
    """
    for name in list(os.environ):
        if name.startswith(("LOGSTEER_", "TEXTUAL")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    paths = AppPaths.default()
    assert str(paths.data_dir).startswith(str(tmp_path))
    return paths


@pytest.fixture
def paths(isolated_dirs: AppPaths) -> AppPaths:
    return isolated_dirs


@pytest.fixture
def settings(paths: AppPaths) -> Settings:
    """Default settings, but a listener on a free port, so tests never need 8765."""
    settings = load_settings(paths.config_file)
    settings.listener.port = 0
    return settings


@pytest.fixture
async def runtime(settings: Settings, paths: AppPaths) -> AsyncIterator[Runtime]:
    """A runtime on a fresh SQLite file, migrated, with no background services."""
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    yield runtime
    await runtime.stop()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a new database on the test PostgreSQL server, dropped after."""
    name = f"logsteer_test_{uuid.uuid4().hex[:12]}"
    server = make_url(POSTGRES_SERVER_URL)
    admin = await asyncpg.connect(
        server.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pg_runtime(postgres_url: str, paths: AppPaths) -> AsyncIterator[Runtime]:
    """A migrated runtime on a new PostgreSQL database, with no background services."""
    settings = load_settings(paths.config_file, database_url=postgres_url)
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    yield runtime
    await runtime.stop()
