"""Helpers for Pilot tests of the TUI."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from sqlalchemy import insert
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from logsteer_tui.db.models import Contact
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.segments import SegmentService


async def settle(
    pilot: Pilot[int],
    condition: Callable[[], bool],
    seconds: float = 10,
    worker_errors: bool = False,
) -> None:
    """Let workers and timers run until ``condition`` holds; fail after ``seconds``.

    Waiting on the condition, not a fixed sleep, keeps fast machines fast and
    slow ones correct. A failed worker raises, unless ``worker_errors`` is set for
    a test that checks how the App reports the failure.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker_errors:
            with suppress(WorkerFailed):
                await pilot.app.workers.wait_for_complete()
        else:
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the screen did not reach the expected state in time")


async def add_people(runtime: Runtime, count: int) -> None:
    """Add ``count`` contacts named Ana0, Ana1, … and a segment "Everyone"."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            insert(Contact),
            [
                {
                    "first_name": f"Ana{index}",
                    "mobile_1": f"+38591{index:07d}",
                    "sort_name": f"ana{index:05}",
                }
                for index in range(count)
            ],
        )
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save("Everyone", {"match": "and", "conditions": []})
