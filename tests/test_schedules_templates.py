"""Templates checked when a schedule or a saved template is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from logsteer_tui.cli import main
from logsteer_tui.db.models import Contact, Template
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules import ScheduleRequest
from logsteer_tui.services.schedules.planning import attribute_field_names
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.services.templates import TemplateError


async def save_everyone(runtime: Runtime) -> None:
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Everyone", {"match": "and", "conditions": []})


async def add_contact(runtime: Runtime, attributes: dict[str, str]) -> int:
    contact = await runtime.contacts.create(
        {"first_name": "Ana", "mobile_1": "+385910000001"}
    )
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(attributes=attributes)
        )
    return contact.id


async def plan(runtime: Runtime, body: str) -> None:
    request = ScheduleRequest(at="+1h", body=body, segment="Everyone")
    await runtime.schedules.plan(request)


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_unknown_field_rejected_on_plan(runtime: Runtime) -> None:
    await save_everyone(runtime)
    await add_contact(runtime, {"Loyalty tier": "gold"})
    with pytest.raises(TemplateError) as caught:
        await plan(runtime, "Hi {{ coupon }}")
    message = caught.value.message
    assert message.startswith("Unknown field coupon; use one of first_name, ")
    assert "last_order_date, loyalty_tier." in message


async def test_attribute_field_accepted(runtime: Runtime) -> None:
    await save_everyone(runtime)
    await add_contact(runtime, {"Loyalty tier": "gold", "Coupon": "X1"})
    await plan(runtime, "Hi {{ first_name }}, {{ coupon }} for {{ loyalty_tier }}")


async def test_several_unknown_fields_named(runtime: Runtime) -> None:
    await save_everyone(runtime)
    with pytest.raises(TemplateError) as caught:
        await plan(runtime, "{{ nosuch }} {% if coupon %}{{ coupon }}{% endif %}")
    assert caught.value.message.startswith("Unknown fields coupon, nosuch; use one")


@pytest.mark.parametrize(
    ("body", "line"),
    [("Hi {{ first_name", 1), ("Hi\n{{ first_name }\n", 2), ("{% if x %}Hi", 1)],
)
async def test_syntax_error_rejected_on_plan(
    runtime: Runtime, body: str, line: int
) -> None:
    await save_everyone(runtime)
    with pytest.raises(TemplateError) as caught:
        await plan(runtime, body)
    message = caught.value.message
    assert message.startswith(f"Template syntax error on line {line}: ")
    assert ".." not in message
    assert message.endswith("writing each field as {{ first_name }}.")


async def test_template_save_rejects_unknown_field(runtime: Runtime) -> None:
    with pytest.raises(TemplateError) as caught:
        await runtime.schedules.save_template("Bad", "Hi {{ nosuch }}")
    assert "Unknown field nosuch; use one of" in caught.value.message
    assert await count(runtime, Template) == 0


async def test_edit_rejects_unknown_field(runtime: Runtime) -> None:
    await save_everyone(runtime)
    request = ScheduleRequest(at="+1h", body="Hi {{ first_name }}", segment="Everyone")
    (schedule_id,) = await runtime.schedules.create(
        [await runtime.schedules.plan(request)]
    )
    with pytest.raises(TemplateError):
        await runtime.schedules.edit(schedule_id, body="Hi {{ coupon }}")
    assert (await runtime.schedules.get(schedule_id)).body == "Hi {{ first_name }}"


async def test_attribute_names_on_postgres(pg_runtime: Runtime) -> None:
    await add_contact(pg_runtime, {"Loyalty tier": "gold", "Coupon": "X1"})
    async with pg_runtime.sessions() as session:
        assert await attribute_field_names(session) == {"loyalty_tier", "coupon"}


async def test_attribute_names_on_sqlite(runtime: Runtime) -> None:
    await add_contact(runtime, {"Loyalty tier": "gold", "Coupon": "X1"})
    async with runtime.sessions() as session:
        assert await attribute_field_names(session) == {"loyalty_tier", "coupon"}


def everyone(tmp_path: Path) -> None:
    path = tmp_path / "segment.json"
    path.write_text(json.dumps({"match": "and", "conditions": []}), encoding="utf-8")
    assert main(["segments", "save", "Everyone", "--file", str(path)]) == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi {{ coupon }}", "Unknown field coupon; use one of first_name"),
        ("Hi {{ first_name", "Template syntax error on line 1: unexpected end"),
    ],
)
def test_cli_create_rejects_bad_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: str
) -> None:
    everyone(tmp_path)
    capsys.readouterr()
    create = ["schedule", "create", "--segment", "Everyone", "--body", body]
    assert main([*create, "--at", "+1h", "--yes"]) == 2
    output = capsys.readouterr()
    assert expected in output.err
    assert "Saved schedule" not in output.out
    assert main(["schedule", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_template_save_rejects_unknown_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schedule", "template-save", "Bad", "--body", "Hi {{ nosuch }}"]) == 2
    output = capsys.readouterr()
    assert "Unknown field nosuch; use one of" in output.err
    assert "Saved template" not in output.out
    assert main(["schedule", "templates"]) == 0
    assert "No templates yet" in capsys.readouterr().out


def test_cli_edit_rejects_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone(tmp_path)
    create = ["schedule", "create", "--segment", "Everyone", "--body", "Hi"]
    assert main([*create, "--at", "+1h", "--yes"]) == 0
    capsys.readouterr()
    assert main(["schedule", "edit", "1", "--body", "Hi {{ first_name"]) == 2
    assert "syntax error on line 1" in capsys.readouterr().err
    assert main(["schedule", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Hi"
