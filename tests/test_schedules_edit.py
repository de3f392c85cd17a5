"""Editing a schedule's segment, type and transliteration before it starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_schedules_engine
from test_schedules_engine import (
    add_contacts,
    create,
    deliveries,
    fire_and_wait,
    save_everyone,
)

from logsteer_tui.cli import main
from logsteer_tui.db.models import DeliveryStatus, Message, MessageType
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules import ScheduleError, ScheduleRequest
from logsteer_tui.services.segments import SegmentService

# The same fixtures: a runtime with the inbound writer and no practical rate.
app = test_schedules_engine.app
settings = test_schedules_engine.settings

ONLY_ANA1 = {
    "match": "and",
    "conditions": [{"field": "first_name", "operator": "equals", "value": "Ana1"}],
}


async def save_only_ana1(runtime: Runtime) -> None:
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Ana1 only", ONLY_ANA1)


async def test_edit_repoints_segment_and_translit(app: Runtime) -> None:
    await add_contacts(app, 3)
    await save_everyone(app)
    await save_only_ana1(app)
    schedule_id = await create(app.schedules, body="Živjeli {{ first_name }}")
    await app.schedules.edit(schedule_id, segment="Ana1 only", transliterate=True)
    schedule = await app.schedules.get(schedule_id)
    assert (schedule.segment_name, schedule.transliterate) == ("Ana1 only", True)
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    rows = await deliveries(app, run_id)
    assert [row.status for row in rows] == [DeliveryStatus.SENT]
    async with app.sessions() as session:
        message = await session.get(Message, rows[0].message_id)
    assert message is not None
    assert message.body == "Zivjeli Ana1"


async def test_edit_unknown_segment_names_it(app: Runtime) -> None:
    await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    with pytest.raises(ScheduleError) as caught:
        await app.schedules.edit(schedule_id, segment="Nobody here")
    assert caught.value.message == (
        f"Schedule {schedule_id}: segment 'Nobody here' not found; list segments "
        "with `logsteer segments list`."
    )
    with pytest.raises(ScheduleError) as caught:
        await app.schedules.edit(schedule_id, segment="everyone")
    assert caught.value.message == (
        f"Schedule {schedule_id}: segment 'everyone' not found; did you mean "
        "'Everyone'? Segment names match exactly."
    )
    schedule = await app.schedules.get(schedule_id)
    assert schedule.segment_name == "Everyone"


async def test_edit_marked_contacts_to_segment(app: Runtime) -> None:
    ids = await add_contacts(app, 3)
    await save_only_ana1(app)
    plan = await app.schedules.plan(
        ScheduleRequest(at="+1m", body="Hi", contact_ids=(ids[0], ids[2]))
    )
    (schedule_id,) = await app.schedules.create([plan])
    await app.schedules.edit(schedule_id, segment="Ana1 only")
    schedule = await app.schedules.get(schedule_id)
    assert schedule.contact_ids is None
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    assert [row.contact_id for row in await deliveries(app, run_id)] == [ids[1]]


def save_segment(tmp_path: Path, name: str, definition: object) -> None:
    path = tmp_path / "segment.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    assert main(["segments", "save", name, "--file", str(path)]) == 0


def test_cli_edit_segment_type_translit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_segment(tmp_path, "Everyone", {"match": "and", "conditions": []})
    save_segment(tmp_path, "Ana1 only", ONLY_ANA1)
    create_command = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create_command, "--at", "+1h", "--yes"]) == 0
    capsys.readouterr()
    edit = ["schedule", "edit", "1", "--segment", "Ana1 only", "--type", "sales"]
    assert main([*edit, "--transliterate"]) == 0
    assert capsys.readouterr().out == "Edited schedule 1.\n"
    assert main(["schedule", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["segment"] == "Ana1 only"
    assert listed["type"] == MessageType.SALES.value
    assert main(["schedule", "edit", "1", "--segment", "Gone"]) == 2
    assert "segment 'Gone' not found" in capsys.readouterr().err
