"""`logsteer migrate`: upgrade the database schema in place."""

from __future__ import annotations

import argparse
from typing import Any

from logsteer_tui.db.migrate import upgrade
from logsteer_tui.runtime import Runtime


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate", help="upgrade the database to the newest schema"
    )
    parser.set_defaults(handler=run, skip_start=True)


async def run(args: argparse.Namespace, runtime: Runtime) -> int:
    before, after = await upgrade(runtime.engine)
    if before == after:
        print(f"The database is already at the newest revision, {after}.")
    else:
        print(f"Upgraded the database from {before or 'empty'} to {after}.")
    return 0
