"""Incoming SMS batches on a real PostgreSQL server, through AsyncSession.run_sync.

Each test creates its own database on the server named by
LOGSTEER_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432) and drops it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from logsteer_tui.config import load_settings
from logsteer_tui.db.models import ConsentEvent, Contact, Message
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.webhooks import IncomingSms

SERVER_URL = os.environ.get(
    "LOGSTEER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_inbound(paths: AppPaths) -> AsyncIterator[Runtime]:
    name = f"logsteer_test_{uuid.uuid4().hex[:12]}"
    server = make_url(SERVER_URL)
    admin = await asyncpg.connect(
        server.set(drivername="postgresql").render_as_string(False)
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
        runtime = Runtime.create(
            load_settings(paths.config_file, database_url=url), paths
        )
        await runtime.start(background=False)
        await runtime.inbound.start()
        try:
            yield runtime
        finally:
            await runtime.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def sms(sid: str, sender: str, body: str = "Hello") -> IncomingSms:
    return IncomingSms("twilio", sid, sender, "+385910009999", body)


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_batch_stored_once(pg_inbound: Runtime) -> None:
    ana = await pg_inbound.contacts.create({"mobile_1": "+385910000001"})
    results = await asyncio.gather(
        *(
            pg_inbound.inbound.receive(sms(f"SM{index % 4}", "+385910000001"))
            for index in range(20)
        )
    )
    assert sum(1 for result in results if not result.duplicate) == 4
    assert {result.contact_id for result in results if not result.duplicate} == {ana.id}
    assert await count(pg_inbound, Message) == 4


async def test_stop_from_new_sender(pg_inbound: Runtime) -> None:
    stored = await pg_inbound.inbound.receive(sms("SMstop", "0910000002", "Stop."))
    assert stored.contact_created is True
    contact = await pg_inbound.contacts.get(stored.contact_id or 0)
    assert contact.mobile_1 == "+385910000002"
    assert contact.do_not_send_sms is True
    assert contact.last_sms_received_body == "Stop."
    assert await count(pg_inbound, ConsentEvent) == 1
    assert await count(pg_inbound, Contact) == 1
