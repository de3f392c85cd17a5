"""`logsteer send sms` end to end through cli.main with the development provider."""

import asyncio
import json

import pytest

from logsteer_tui import cli
from logsteer_tui.config import Settings
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime


@pytest.fixture(autouse=True)
def no_log_file_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # cli.main would replace the root logger's handlers, pytest's among them.
    monkeypatch.setattr(cli, "setup_logging", lambda *args, **kwargs: None)


def create_contact(settings: Settings, paths: AppPaths, **values: object) -> int:
    async def create() -> int:
        runtime = Runtime.create(settings, paths)
        await runtime.start(background=False)
        try:
            fields: dict[str, object] = {"first_name": "Ana", "mobile_1": "0910000001"}
            fields.update(values)
            return (await runtime.contacts.create(fields)).id
        finally:
            await runtime.stop()

    return asyncio.run(create())


def test_send_prints_sent(
    settings: Settings, paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    contact_id = create_contact(settings, paths)
    code = cli.main(
        ["send", "sms", "--contact", str(contact_id), "--body", "Hi {{ first_name }}"]
    )
    output = capsys.readouterr().out
    assert code == 0
    assert "to +385910000001: sent (dev DEV" in output
    assert "1 part, GSM-7" in output
    record = json.loads(paths.dev_outbox_file.read_text(encoding="utf-8"))
    assert record["body"] == "Hi Ana"


def test_send_json_and_transliterate(
    settings: Settings, paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    contact_id = create_contact(settings, paths, first_name="Đuro")
    code = cli.main(
        [
            "send",
            "sms",
            "--contact",
            str(contact_id),
            "--body",
            "Bok {{ first_name }}",
            "--type",
            "promotional",
            "--transliterate",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["status"] == "sent"
    assert data["type"] == "promotional"
    assert data["body"] == "Bok Djuro"


def test_send_to_opted_out_exits_nonzero(
    settings: Settings, paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    contact_id = create_contact(settings, paths, do_not_send_sms=True)
    code = cli.main(["send", "sms", "--contact", str(contact_id), "--body", "Hi"])
    error = capsys.readouterr().err
    assert code == 2
    assert "Do not send SMS is set" in error
    assert not paths.dev_outbox_file.exists()


def test_send_bad_template_exits_nonzero(
    settings: Settings, paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    contact_id = create_contact(settings, paths)
    code = cli.main(
        ["send", "sms", "--contact", str(contact_id), "--body", "Hi {{ nmae }}"]
    )
    assert code == 2
    assert "Unknown field nmae" in capsys.readouterr().err


def test_send_unknown_contact_exits_nonzero(
    settings: Settings, paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    create_contact(settings, paths)
    code = cli.main(["send", "sms", "--contact", "999", "--body", "Hi"])
    assert code == 2
    assert "Contact 999 not found" in capsys.readouterr().err


def test_provider_error_exits_one(
    settings: Settings, paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    contact_id = create_contact(settings, paths)
    paths.dev_outbox_file.mkdir(parents=True)  # a folder cannot be appended to
    code = cli.main(["send", "sms", "--contact", str(contact_id), "--body", "Hi"])
    error = capsys.readouterr().err
    assert code == 1
    assert ": error dev_outbox: Cannot write the development outbox" in error
