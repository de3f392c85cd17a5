"""Fixtures shared by every test: isolated folders, settings and a started runtime."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from logsteer_tui.config import Settings, load_settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime

# Pilot tests run at the size the app is designed for, whatever the terminal is.
TERMINAL_SIZE = (80, 24)


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
