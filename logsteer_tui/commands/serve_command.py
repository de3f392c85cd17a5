"""`logsteer serve`: the scheduler and the webhook listener with no TUI.

Runs until SIGINT or SIGTERM, then lets running batches finish (up to ten
seconds), stops the listener and exits with 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from logsteer_tui.errors import ValidationError
from logsteer_tui.runtime import Runtime, freeze_startup_heap

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the scheduler and the webhook listener headless, until stopped",
    )
    parser.add_argument(
        "--no-listener",
        action="store_true",
        help="do not start the webhook listener, only the scheduler",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="how often to look for schedules made elsewhere and for runs left by "
        "a stopped process (default: 15)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a sender may miss its heartbeat before its sends are taken "
        "as interrupted (default: 30)",
    )
    parser.set_defaults(handler=run, skip_start=True)


async def run(args: argparse.Namespace, runtime: Runtime) -> int:
    for option, value in (
        ("--poll-seconds", args.poll_seconds),
        ("--lease-seconds", args.lease_seconds),
    ):
        if value <= 0:
            raise ValidationError(option, value, "give a positive number of seconds")
    runtime.schedules.poll_seconds = args.poll_seconds
    runtime.schedules.lease = timedelta(seconds=args.lease_seconds)
    if args.no_listener:
        runtime.background = [
            service for service in runtime.background if service is not runtime.listener
        ]
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopped.set)
    await runtime.start(background=True)
    freeze_startup_heap()
    log.info("logsteer serve started (worker %s)", runtime.schedules.worker_id)
    worker = runtime.schedules.worker_id
    print(f"logsteer serve: running as worker {worker}; stop with Ctrl+C", flush=True)
    await stopped.wait()
    log.info("logsteer serve stopping")
    print("logsteer serve: stopping", flush=True)
    return 0
