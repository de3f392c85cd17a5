"""Schedule errors a user meets: what failed, on which schedule, and the fix."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import TERMINAL_SIZE
from pilot import settle
from textual.widgets import Static

from logsteer_tui.app import LogsteerApp
from logsteer_tui.cli import main
from logsteer_tui.runtime import Runtime
from logsteer_tui.screens.browser import BrowserScreen
from logsteer_tui.screens.schedule_form import ScheduleFormScreen
from logsteer_tui.screens.schedules import SchedulesScreen
from logsteer_tui.services.schedules import ScheduleError, ScheduleRequest
from logsteer_tui.services.segments import SegmentService


async def create(runtime: Runtime) -> int:
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Everyone", {"match": "and", "conditions": []})
    request = ScheduleRequest(at="+1h", body="Hi", segment="Everyone")
    (schedule_id,) = await runtime.schedules.create(
        [await runtime.schedules.plan(request)]
    )
    return schedule_id


async def test_pause_of_cancelled_says_be_paused(runtime: Runtime) -> None:
    schedule_id = await create(runtime)
    await runtime.schedules.cancel(schedule_id)
    with pytest.raises(ScheduleError) as caught:
        await runtime.schedules.pause(schedule_id)
    assert caught.value.title == "Schedule not paused"
    assert caught.value.message == (
        f"Schedule {schedule_id} is cancelled, so it cannot be paused. Only "
        "active schedules can be paused."
    )


async def test_resume_of_active_says_be_resumed(runtime: Runtime) -> None:
    schedule_id = await create(runtime)
    with pytest.raises(ScheduleError) as caught:
        await runtime.schedules.resume(schedule_id)
    assert caught.value.title == "Schedule not resumed"
    assert caught.value.message == (
        f"Schedule {schedule_id} is active, so it cannot be resumed. Only "
        "paused schedules can be resumed."
    )


async def test_cancel_twice_says_be_cancelled(runtime: Runtime) -> None:
    schedule_id = await create(runtime)
    await runtime.schedules.cancel(schedule_id)
    with pytest.raises(ScheduleError) as caught:
        await runtime.schedules.cancel(schedule_id)
    assert caught.value.title == "Schedule not cancelled"
    message = caught.value.message
    assert message == (
        f"Schedule {schedule_id} is cancelled, so it cannot be cancelled. Only "
        "active, failed, missed or paused schedules can be cancelled."
    )


async def test_edit_errors_name_what_failed(runtime: Runtime) -> None:
    schedule_id = await create(runtime)
    await runtime.schedules.pause(schedule_id)
    with pytest.raises(ScheduleError) as opened:
        await runtime.schedules.editable(schedule_id)
    assert opened.value.title == "Schedule not editable"
    with pytest.raises(ScheduleError) as saved:
        await runtime.schedules.edit(schedule_id, body="Hello")
    assert saved.value.title == "Schedule not saved"
    assert "is paused, so it cannot be edited" in saved.value.message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"body": "Hi"}, "Pick a segment to send to."),
        (
            {"body": "Hi", "contact_ids": ()},
            "No contacts are marked. Mark some, or pick a segment to send to.",
        ),
        (
            {"body": " ", "segment": "Everyone"},
            "The text is empty. Write the message, or pick a saved template.",
        ),
    ],
)
async def test_plan_errors_read_plainly(
    runtime: Runtime, fields: dict[str, object], expected: str
) -> None:
    await create(runtime)
    with pytest.raises(ScheduleError) as caught:
        await runtime.schedules.plan(ScheduleRequest(at="+1h", **fields))  # type: ignore[arg-type]
    assert caught.value.message == expected
    assert caught.value.title == "Schedule not saved"


async def test_resume_logs_run_ids_readably(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    schedule_id = await create(runtime)
    await runtime.schedules.pause(schedule_id)
    with caplog.at_level(logging.INFO, "logsteer_tui.services.schedules.service"):
        await runtime.schedules.resume(schedule_id)
    messages = [record.getMessage() for record in caplog.records]
    assert f"Resumed schedule {schedule_id}" in messages
    assert not any("[]" in message for message in messages)


def test_cli_empty_segment_names_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ["schedule", "create", "--segment", " ", "--body", "Hi", "--at", "+1h"]
    assert main([*create, "--yes"]) == 2
    assert capsys.readouterr().err == (
        "logsteer: --segment is empty. Pick a segment to send to with --segment "
        "NAME (`logsteer segments list` lists them).\n"
    )
    assert main(["schedule", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


async def test_form_without_segment_asks_for_one(runtime: Runtime) -> None:
    app = LogsteerApp(runtime)
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await app.push_screen(SchedulesScreen(runtime))
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ScheduleFormScreen))
        form = app.screen
        await pilot.press(*"Hi", "tab", *"+2h", "ctrl+r")
        preview = form.query_one("#schedule-preview", Static)
        await settle(pilot, lambda: "Message 1" in str(preview.content))
        text = str(preview.content)
    assert text.startswith("Message 1: Pick a segment to send to.")
    assert "None" not in text
