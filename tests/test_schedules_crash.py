"""Crash safety: a real `logsteer serve` killed with SIGKILL mid-run, then restarted.

A 1,000-recipient run goes through the development provider, whose outbox file
is the record of what left the process. The server is killed a few times at a
random point while it sends; a last start finishes the run. Every recipient
must appear in the outbox exactly once.

The same run through the fake Twilio server cannot be settled that way, since
the provider cannot be asked what it received: every recipient gets the SMS
at most once, each one without it is interrupted with the reason, and
`schedule send-now` resends those.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes.twilio_api import FakeTwilio
from sqlalchemy import insert

from logsteer_tui.config import load_settings
from logsteer_tui.db.models import Contact
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules import ScheduleRequest
from logsteer_tui.services.segments import SegmentService

RECIPIENTS = 1000
KILLS = 3
RATE = 400  # SMS per second, so one run lasts a few seconds

pytestmark = pytest.mark.slow


async def prepare(url: str, paths: AppPaths) -> int:
    settings = load_settings(paths.config_file, database_url=url)
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                insert(Contact),
                [
                    {
                        "first_name": f"Ana{index}",
                        "last_name": "Horvat",
                        "mobile_1": f"+38591{index:07d}",
                        "sort_name": f"horvat ana{index}",
                    }
                    for index in range(RECIPIENTS)
                ],
            )
        segments = SegmentService.from_settings(runtime.sessions, settings)
        await segments.save("Everyone", {"match": "and", "conditions": []})
        plan = await runtime.schedules.plan(
            ScheduleRequest(at="now", body="Hi {{ first_name }}", segment="Everyone")
        )
        (schedule_id,) = await runtime.schedules.create([plan])
        return schedule_id
    finally:
        await runtime.stop()


def start_server(
    url: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "logsteer_tui.cli",
        "--database",
        url,
        "serve",
        "--no-listener",
        "--poll-seconds",
        "0.3",
        "--lease-seconds",
        "1",
    ]
    environment = {
        **os.environ,
        "LOGSTEER_SENDING__SMS_PER_SECOND": str(RATE),
        **(extra or {}),
    }
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def outbox_lines(outbox: Path) -> list[dict[str, object]]:
    if not outbox.exists():
        return []
    records = []
    for line in outbox.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database, timeout=10) as connection:
        return connection.execute(sql).fetchall()


def test_killed_server_sends_each_recipient_once(
    paths: AppPaths, tmp_path: Path
) -> None:
    database = tmp_path / "crash.sqlite"
    url = f"sqlite:///{database}"
    asyncio.run(prepare(url, paths))
    outbox = paths.dev_outbox_file
    chance = random.Random()
    seed = chance.randrange(1_000_000)
    chance.seed(seed)
    kills_during_send = 0
    for kill in range(KILLS):
        before = len(outbox_lines(outbox))
        server = start_server(url)
        try:
            target = before + chance.randint(20, 200)
            sending = wait_for(
                lambda target=target: len(outbox_lines(outbox)) >= target, 20
            )
            time.sleep(chance.uniform(0, 0.2))
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
        kills_during_send += sending
        if not sending:
            break
        recorded = Counter(record["to"] for record in outbox_lines(outbox))
        assert max(recorded.values()) == 1, f"seed {seed}, kill {kill}"
    assert kills_during_send >= 1, f"seed {seed}: the run ended before any kill"

    # Everyone without a message is still open in the run, which a start resumes.
    recorded = Counter(record["to"] for record in outbox_lines(outbox))
    open_rows = query(
        database,
        "SELECT count(*) FROM delivery WHERE status IN ('pending', 'sending')",
    )[0][0]
    assert isinstance(open_rows, int)
    assert open_rows >= RECIPIENTS - len(recorded)

    server = start_server(url)
    try:
        finished = wait_for(
            lambda: (
                query(database, "SELECT status FROM schedule_run") == [("finished",)]
            ),
            40,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=20)
    assert finished, f"seed {seed}: {errors.decode()[-2000:]}"
    assert server.returncode == 0, errors.decode()[-2000:]

    recorded = Counter(record["to"] for record in outbox_lines(outbox))
    assert len(recorded) == RECIPIENTS, f"seed {seed}"
    assert set(recorded.values()) == {1}, f"seed {seed}"
    statuses = dict(
        query(database, "SELECT status, count(*) FROM delivery GROUP BY status")
    )
    assert statuses == {"sent": RECIPIENTS}
    counts = query(database, "SELECT total, sent, skipped, failed FROM schedule_run")
    assert counts == [(RECIPIENTS, RECIPIENTS, 0, 0)]
    sent_messages = query(
        database,
        "SELECT contact_id, count(*) FROM message WHERE status = 'sent' "
        "GROUP BY contact_id HAVING count(*) > 1",
    )
    assert sent_messages == []


class FakeTwilioThread:
    """FakeTwilio on an event loop of its own, for a test that blocks on a process."""

    def __init__(self) -> None:
        self.fake = FakeTwilio()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.__aenter__(), self._loop).result(10)
        return self.fake

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def twilio_environment(fake: FakeTwilio) -> dict[str, str]:
    return {
        "LOGSTEER_SMS__PROVIDER": "twilio",
        "LOGSTEER_TWILIO__ACCOUNT_SID": fake.account_sid,
        "LOGSTEER_TWILIO__AUTH_TOKEN": fake.auth_token,
        "LOGSTEER_TWILIO__FROM_NUMBER": "+15005550006",
        "LOGSTEER_TWILIO__API_BASE_URL": fake.base_url,
    }


def received(fake: FakeTwilio) -> Counter[str]:
    return Counter(str(resource["to"]) for resource in list(fake.created))


def test_killed_twilio_run_sends_at_most_once(paths: AppPaths, tmp_path: Path) -> None:
    database = tmp_path / "crash.sqlite"
    url = f"sqlite:///{database}"
    asyncio.run(prepare(url, paths))
    chance = random.Random()
    seed = chance.randrange(1_000_000)
    chance.seed(seed)
    with FakeTwilioThread() as fake:
        extra = twilio_environment(fake)
        for kill in range(KILLS):
            before = len(fake.created)
            server = start_server(url, extra)
            try:
                target = before + chance.randint(20, 200)
                sending = wait_for(
                    lambda target=target: len(fake.created) >= target, 20
                )
                time.sleep(chance.uniform(0, 0.2))
            finally:
                server.send_signal(signal.SIGKILL)
                server.wait(timeout=10)
            assert max(received(fake).values()) == 1, f"seed {seed}, kill {kill}"
            if not sending:
                break

        server = start_server(url, extra)
        try:
            finished = wait_for(
                lambda: (
                    query(database, "SELECT status FROM schedule_run")
                    == [("finished",)]
                ),
                40,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            _, errors = server.communicate(timeout=20)
        assert finished, f"seed {seed}: {errors.decode()[-2000:]}"

        # At most once each; everyone without the SMS has a reason on the run.
        got = received(fake)
        assert set(got.values()) == {1}, f"seed {seed}"
        rows = query(
            database,
            "SELECT contact.mobile_1, delivery.status, delivery.reason "
            "FROM delivery JOIN contact ON contact.id = delivery.contact_id",
        )
        assert len(rows) == RECIPIENTS
        for number, status, reason in rows:
            if status == "sent":
                assert got[str(number)] == 1, f"seed {seed}: {number}"
            else:
                assert status == "interrupted", f"seed {seed}: {number} {status}"
                assert "Check the provider's log" in str(reason)
        missing = [number for number, _, _ in rows if not got[str(number)]]
        interrupted = [row for row in rows if row[1] == "interrupted"]
        assert len(missing) <= len(interrupted)
        counts = query(database, "SELECT sent, failed FROM schedule_run")
        assert counts == [(RECIPIENTS - len(interrupted), len(interrupted))]

        # The way to resume: send-now resends the interrupted ones.
        (run_id,) = query(database, "SELECT id FROM schedule_run")[0]
        resend = subprocess.run(
            [
                sys.executable,
                "-m",
                "logsteer_tui.cli",
                "--database",
                url,
                "schedule",
                "send-now",
                str(run_id),
                "--yes",
            ],
            env={
                **os.environ,
                "LOGSTEER_SENDING__SMS_PER_SECOND": str(RATE),
                **extra,
            },
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert resend.returncode == 0, resend.stderr.decode()[-2000:]
        got = received(fake)
        assert len(got) == RECIPIENTS, f"seed {seed}"
    statuses = dict(
        query(database, "SELECT status, count(*) FROM delivery GROUP BY status")
    )
    assert statuses == {"sent": RECIPIENTS}
