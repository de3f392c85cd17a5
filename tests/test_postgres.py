"""The schema and the contact service on a real PostgreSQL server.

Each test creates its own database on the server named by
LOGSTEER_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432) and drops it;
see the postgres_url fixture in conftest.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from logsteer_tui.db.migrate import current_revision, head_revision
from logsteer_tui.db.models import Channel, Direction, Message, MessageStatus
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.contacts import PageCursor, SortKey
from logsteer_tui.services.messages import record_status

pytestmark = pytest.mark.postgres


async def test_migrations_reach_head(pg_runtime: Runtime) -> None:
    assert await current_revision(pg_runtime.engine) == head_revision()


async def test_contacts_page_and_search(pg_runtime: Runtime) -> None:
    for index, email in enumerate(["b@x.hr", None, "a@x.hr", None]):
        await pg_runtime.contacts.create(
            {"first_name": f"Šime{index}", "last_name": "Čolić", "email": email}
        )
    for descending in (False, True):
        seen: list[int] = []
        cursor = None
        for _ in range(10):
            rows = await pg_runtime.contacts.page(
                sort=SortKey.EMAIL, descending=descending, after=cursor, limit=1
            )
            if not rows:
                break
            seen.append(rows[0].id)
            cursor = PageCursor(rows[0].sort_value, rows[0].id)
        assert sorted(seen) == [1, 2, 3, 4]
    assert len(await pg_runtime.contacts.page(search="sime colic")) == 4
    assert await pg_runtime.contacts.count(search="ŠIME2") == 1


async def test_status_history_deduplicated(pg_runtime: Runtime) -> None:
    contact = await pg_runtime.contacts.create({"first_name": "Ana"})
    async with pg_runtime.sessions() as session, session.begin():
        message = Message(
            contact_id=contact.id,
            channel=Channel.SMS,
            direction=Direction.OUT,
            status=MessageStatus.PENDING,
            body="Hi",
        )
        session.add(message)
        await session.flush()
        assert await record_status(session, message, MessageStatus.SENT)
        assert not await record_status(session, message, MessageStatus.SENT)
    async with pg_runtime.sessions() as session:
        stored = await session.scalar(select(Message))
    assert stored is not None
    assert stored.status is MessageStatus.SENT
    assert stored.created_at.tzinfo is not None
