"""Incoming SMS batches on a real PostgreSQL server, through AsyncSession.run_sync.

Each test creates its own database on the server named by
LOGSTEER_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432) and drops it.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from logsteer_tui.db.models import ConsentEvent, Contact, Message
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.webhooks import IncomingSms

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_inbound(pg_runtime: Runtime) -> Runtime:
    await pg_runtime.inbound.start()
    return pg_runtime


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
