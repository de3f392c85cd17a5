from pathlib import Path

import pytest

from logsteer_tui.config import load_settings, masked_dump, secret_values
from logsteer_tui.errors import ConfigError


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[general]\ntimezone = "UTC"\n[twilio]\nauth_token = "from-file"\n'
    )
    monkeypatch.setenv("LOGSTEER_TWILIO__AUTH_TOKEN", "from-env-secret")
    monkeypatch.setenv("LOGSTEER_DATABASE_URL", "sqlite:///x.sqlite")
    settings = load_settings(config_file)
    assert settings.general.timezone == "UTC"
    assert settings.twilio.auth_token.get_secret_value() == "from-env-secret"
    assert settings.database_url == "sqlite:///x.sqlite"


def test_overrides_win_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGSTEER_DATABASE_URL", "sqlite:///env.sqlite")
    settings = load_settings(
        tmp_path / "none.toml", database_url="sqlite:///cli.sqlite"
    )
    assert settings.database_url == "sqlite:///cli.sqlite"


def test_secrets_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSTEER_TWILIO__AUTH_TOKEN", "s3cret-token")
    settings = load_settings(tmp_path / "none.toml")
    assert masked_dump(settings)["twilio"]["auth_token"] == "********"
    assert "s3cret-token" not in repr(masked_dump(settings))
    assert secret_values(settings) == ["s3cret-token"]


def test_unknown_key_names_it(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[general]\ntimezon = 'UTC'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert "general.timezon is not a known setting" in str(caught.value)
    assert str(config_file) in str(caught.value)


def test_bad_timezone_rejected(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[general]\ntimezone = 'Mars/Base'\n")
    with pytest.raises(ConfigError, match="Mars/Base"):
        load_settings(config_file)


def test_broken_toml_names_file(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[general\n")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings(config_file)


def test_wrong_type_names_value(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[listener]\nport = 'ten'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert "listener.port = 'ten' is invalid" in str(caught.value)


def test_secret_value_never_in_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGSTEER_TWILIO__AUTH_TOKEN", "s3cret-token")
    config_file = tmp_path / "config.toml"
    config_file.write_text("[twilio]\ntimeout_seconds = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert "twilio.timeout_seconds = -1 is invalid" in str(caught.value)
    assert "s3cret-token" not in str(caught.value)
