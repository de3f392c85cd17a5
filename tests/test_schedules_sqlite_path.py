"""The run engine's SQLite path writes what its SQLAlchemy path writes.

A SQLite file takes the SQLite path (sqlite_batches.py, through db/writer.py),
and PostgreSQL and in-memory databases take the SQLAlchemy path. The same run
on each path must leave the same rows.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import pytest
import test_schedules_engine
from sqlalchemy import delete, select, update
from test_schedules_engine import (
    add_contacts,
    create,
    deliveries,
    fire_and_wait,
    outbox_recipients,
    run_row,
    save_everyone,
)

from logsteer_tui.db.engine import sqlite_writer
from logsteer_tui.db.models import (
    Contact,
    DeliveryStatus,
    Message,
    MessageStatus,
    MessageStatusEvent,
    MessageType,
    ScheduleRunStatus,
)
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules.checks import CONTACT_DELETED, DO_NOT_SEND

# The same fixtures: a runtime with the inbound writer and no practical rate.
app = test_schedules_engine.app
settings = test_schedules_engine.settings

BODY = 'Hi {{ first_name }} {{ last_name }}, {{ loyalty_tier }} \U0001f600 \\ "'


async def run_rows(app: Runtime, sqlite_path: bool) -> dict[str, Any]:
    """Run BODY for three contacts, one opted out, and read back every row."""
    engine = app.schedules.engine
    if not sqlite_path:
        engine._batches = None
    assert (engine._batches is not None) is sqlite_path
    ids = await add_contacts(app, 3)
    async with app.sessions() as session, session.begin():
        await session.execute(
            update(Contact).values(
                last_name="Šimić", attributes={"Loyalty tier": "gold"}
            )
        )
        await session.execute(
            update(Contact).where(Contact.id == ids[2]).values(do_not_send_sms=True)
        )
    await save_everyone(app)
    schedule_id = await create(app.schedules, body=BODY, message_type=MessageType.SALES)
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)

    async with app.sessions() as session:
        messages = (await session.scalars(select(Message).order_by(Message.id))).all()
        events = (
            await session.scalars(
                select(MessageStatusEvent).order_by(
                    MessageStatusEvent.message_id, MessageStatusEvent.id
                )
            )
        ).all()
        contacts = (await session.scalars(select(Contact).order_by(Contact.id))).all()
    run = await run_row(app, run_id)

    return {
        "run": (run.status, run.total, run.sent, run.skipped, run.failed),
        "deliveries": [
            (
                row.contact_id,
                row.status,
                row.reason,
                row.error_code,
                row.claimed_by == app.schedules.worker_id,
            )
            for row in await deliveries(app, run_id)
        ],
        "messages": [
            {
                key: getattr(message, key)
                for key in Message.__table__.columns.keys()  # noqa: SIM118
                # The ids the provider gives and the times differ from run to run.
                if key
                not in {
                    "id",
                    "provider_message_id",
                    "created_at",
                    "updated_at",
                    "sent_at",
                }
            }
            | {"sent": isinstance(message.sent_at, datetime)}
            for message in messages
        ],
        "events": [(event.message_id, event.status) for event in events],
        "contacts": [
            (
                contact.last_sms_sent_body,
                contact.last_sms_sent_at is not None,
                contact.last_sms_sent_at == contact.last_message_at,
            )
            for contact in contacts
        ],
        "times_are_aware": all(
            value.tzinfo is not None
            for message in messages
            for value in (message.created_at, message.updated_at, message.sent_at)
            if value is not None
        ),
    }


async def test_both_paths_write_the_same_rows(
    app: Runtime, tmp_path_factory: pytest.TempPathFactory
) -> None:
    on_sqlite = await run_rows(app, sqlite_path=True)
    assert on_sqlite["run"] == (ScheduleRunStatus.FINISHED, 3, 2, 1, 0)
    assert on_sqlite["messages"][0]["body"] == 'Hi Ana0 Šimić, gold \U0001f600 \\ "'
    assert on_sqlite["messages"][0]["status"] is MessageStatus.SENT
    assert on_sqlite["times_are_aware"]
    # Each message has its pending and sent events, in that order.
    assert [status for _, status in on_sqlite["events"]] == [
        MessageStatus.PENDING,
        MessageStatus.SENT,
    ] * 2
    # A second runtime on a database of its own runs the same on the other path.
    database = tmp_path_factory.mktemp("other") / "other.sqlite"
    settings = app.settings.model_copy(update={"database_url": f"sqlite:///{database}"})
    other = Runtime.create(settings, app.paths)
    await other.start(background=False)
    try:
        await other.inbound.start()
        on_sqlalchemy = await run_rows(other, sqlite_path=False)
        await other.inbound.stop()
    finally:
        await other.stop()
    assert on_sqlalchemy == on_sqlite


async def test_opt_out_after_the_claim_is_skipped(app: Runtime) -> None:
    ids = await add_contacts(app, 4)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    batches = app.schedules.engine._batches
    assert batches is not None
    store = batches.store

    async def opt_out_then_store(*args: Any) -> Any:
        # The STOP lands after the contacts were read and rendered.
        async with app.sessions() as session, session.begin():
            await session.execute(
                update(Contact).where(Contact.id == ids[1]).values(do_not_send_sms=True)
            )
            await session.execute(delete(Contact).where(Contact.id == ids[2]))
        return await store(*args)

    batches.store = opt_out_then_store  # type: ignore[method-assign]
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    rows = {row.contact_id: row for row in await deliveries(app, run_id)}
    assert rows[ids[1]].status is DeliveryStatus.SKIPPED
    assert rows[ids[1]].error_code == DO_NOT_SEND
    assert rows[ids[1]].message_id is None
    # A deleted contact's deliveries lose their contact id with it.
    assert rows[None].error_code == CONTACT_DELETED
    assert rows[None].status is DeliveryStatus.SKIPPED
    assert {rows[ids[0]].status, rows[ids[3]].status} == {DeliveryStatus.SENT}
    assert sorted(outbox_recipients(app).values()) == [1, 1]
    run = await run_row(app, run_id)
    assert (run.status, run.sent, run.skipped) == (ScheduleRunStatus.FINISHED, 2, 2)
    async with app.sessions() as session:
        count = len((await session.scalars(select(Message))).all())
    assert count == 2


async def test_writer_rolls_back_a_failed_transaction(app: Runtime) -> None:
    writer = sqlite_writer(app.engine)
    assert writer is not None
    await add_contacts(app, 1)

    def rename_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE contact SET first_name = 'Changed'")
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        await writer.transaction(rename_then_fail)
    async with app.sessions() as session:
        names = (await session.scalars(select(Contact.first_name))).all()
    assert names == ["Ana0"]
    # The connection is usable again, and a closed writer opens again.
    writer.close()

    def count(connection: sqlite3.Connection) -> int:
        return int(connection.execute("SELECT count(*) FROM contact").fetchone()[0])

    assert await writer.transaction(count) == 1
