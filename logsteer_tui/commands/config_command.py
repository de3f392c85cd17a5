"""`logsteer config`: the effective settings and the paths, secrets masked."""

from __future__ import annotations

import argparse
import json
from typing import Any

from logsteer_tui.config import masked_dump
from logsteer_tui.db.engine import async_url
from logsteer_tui.runtime import Runtime, database_url


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config", help="print the effective settings and file paths"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run, skip_start=True)


async def run(args: argparse.Namespace, runtime: Runtime) -> int:
    paths = runtime.paths
    url = async_url(database_url(runtime.settings, paths))
    data: dict[str, Any] = {
        "paths": {
            "config_file": str(paths.config_file),
            "config_file_exists": paths.config_file.exists(),
            "data_dir": str(paths.data_dir),
            "log_file": str(paths.log_file),
        },
        "database_url": url.render_as_string(hide_password=True),
        "settings": masked_dump(runtime.settings),
    }
    data["settings"].pop("database_url", None)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    for key, value in data["paths"].items():
        print(f"{key} = {value}")
    print(f"database_url = {data['database_url']}")
    for section, values in data["settings"].items():
        print(f"\n[{section}]")
        for key, value in values.items():
            print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return 0
