"""`logsteer segments`: save, show, list and delete segments, and list fields."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from logsteer_tui.db.models import Contact
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.segments import (
    FIELDS,
    SegmentService,
    describe_group,
    parse_definition_text,
)
from logsteer_tui.services.serialize import contact_summary, iso


class SegmentFileError(LogsteerError):
    title = "Cannot read the segment file"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "segments", help="save, show and list segments (saved contact filters)"
    )
    commands = parser.add_subparsers(
        dest="segments_command", metavar="SUBCOMMAND", required=True
    )

    save = commands.add_parser(
        "save", help="create a segment, or replace the one with this name"
    )
    save.add_argument("name", metavar="NAME")
    save.add_argument(
        "--file",
        type=Path,
        required=True,
        metavar="FILE",
        help="JSON definition, as documented in docs/segments.md; - reads stdin",
    )
    save.set_defaults(handler=run_save)

    show = commands.add_parser("show", help="print a segment's definition")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print the JSON tree")
    show.set_defaults(handler=run_show)

    listing = commands.add_parser("list", help="list segments with their counts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    remove = commands.add_parser("delete", help="delete a segment")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=run_delete)

    fields = commands.add_parser(
        "fields", help="list the fields and operators a condition can use"
    )
    fields.add_argument("--json", action="store_true", help="print JSON")
    fields.set_defaults(handler=run_fields, skip_start=True)


def segment_service(runtime: Runtime) -> SegmentService:
    return SegmentService.from_settings(runtime.sessions, runtime.settings)


async def segment_contact_chunks(
    runtime: Runtime, name: str, search: str = "", limit: int | None = None
) -> AsyncIterator[list[Contact]]:
    """Return chunks of the saved segment's contacts, in its default order.

    Raises NotFoundError when there is no segment ``name``, before any output.
    """
    service = segment_service(runtime)
    segment = await service.get(name)
    return service.stream_contacts(segment.definition, search=search, limit=limit)


def contact_with_last_sms(contact: Contact) -> dict[str, Any]:
    """Return the contact's JSON summary with its last sent and received SMS."""
    data = contact_summary(contact)
    data["last_sms_sent_body"] = contact.last_sms_sent_body
    data["last_sms_sent_at"] = iso(contact.last_sms_sent_at)
    data["last_sms_received_body"] = contact.last_sms_received_body
    data["last_sms_received_at"] = iso(contact.last_sms_received_at)
    return data


def read_definition_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SegmentFileError(
            f"Cannot read the segment file {path}: {error}. "
            "Check the path, or pass - to read the definition from stdin."
        ) from error


async def run_save(args: argparse.Namespace, runtime: Runtime) -> int:
    definition = parse_definition_text(read_definition_text(args.file))
    service = segment_service(runtime)
    saved = await service.save(args.name, definition)
    count = await service.count(saved.definition)
    print(f"Saved segment {saved.name!r}: {count} contacts match now.")
    return 0


async def run_show(args: argparse.Namespace, runtime: Runtime) -> int:
    service = segment_service(runtime)
    segment = await service.get(args.name)
    if args.json:
        print(json.dumps(segment.definition.to_json(), indent=2, ensure_ascii=False))
        return 0
    count = await service.count(segment.definition)
    print(f"{segment.name} ({count} contacts)")
    for line in describe_group(segment.definition):
        print(f"  {line}")
    return 0


async def run_list(args: argparse.Namespace, runtime: Runtime) -> int:
    summaries = await segment_service(runtime).list_with_counts()
    if args.json:
        data = [
            {
                "id": summary.id,
                "name": summary.name,
                "count": summary.count,
                "updated_at": iso(summary.updated_at),
            }
            for summary in summaries
        ]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    if not summaries:
        print("No segments yet; save one with `logsteer segments save NAME --file F`.")
    for summary in summaries:
        print(f"{summary.count:>8}  {summary.name}")
    return 0


async def run_delete(args: argparse.Namespace, runtime: Runtime) -> int:
    await segment_service(runtime).delete(args.name)
    print(f"Deleted segment {args.name!r}.")
    return 0


async def run_fields(args: argparse.Namespace, runtime: Runtime) -> int:
    if args.json:
        data = [
            {
                "field": spec.name,
                "label": spec.label,
                "category": spec.category,
                "type": spec.value_type.value,
                "operators": [operator.value for operator in spec.operators],
                "choices": list(spec.choices),
                "takes_currency": spec.currency_column is not None,
            }
            for spec in FIELDS.values()
        ]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    for spec in FIELDS.values():
        operators = ", ".join(operator.value for operator in spec.operators)
        print(f"{spec.name}  ({spec.value_type.value}, {spec.label}): {operators}")
        if spec.choices:
            print(f"    values: {', '.join(spec.choices)}")
        if spec.currency_column is not None:
            print('    "currency": an optional ISO 4217 code, such as EUR')
    return 0
