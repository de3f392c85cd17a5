"""`logsteer send sms`: send one SMS to one contact now, as the composer does."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from logsteer_tui.db.models import MessageStatus, MessageType
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.serialize import message_data


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("send", help="send a message to a contact now")
    channels = parser.add_subparsers(dest="channel", metavar="CHANNEL", required=True)
    sms = channels.add_parser(
        "sms",
        help="send one SMS, personalised for the contact",
        description="Render TEXT as a template for the contact and send it through "
        "the [sms] provider. Prints the resulting status; exits with 1 when the "
        "provider reports an error and 2 when the SMS is rejected before sending "
        "(Do not send SMS, no Mobile 1, a template error, an empty or too long text).",
    )
    sms.add_argument("--contact", type=int, required=True, metavar="ID")
    sms.add_argument(
        "--body",
        required=True,
        metavar="TEXT",
        help="the text, a Jinja2 template such as 'Hi {{ first_name }}'",
    )
    sms.add_argument(
        "--type",
        choices=[member.value for member in MessageType],
        default=MessageType.TRANSACTIONAL.value,
        help="message type (default: transactional)",
    )
    sms.add_argument(
        "--transliterate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="replace č ć đ š ž by c c dj s z (default: [sms] transliterate)",
    )
    sms.add_argument("--json", action="store_true", help="print the message as JSON")
    sms.set_defaults(handler=run)


async def run(args: argparse.Namespace, runtime: Runtime) -> int:
    message = await runtime.sms.send(
        args.contact,
        args.body,
        MessageType(args.type),
        transliterated=args.transliterate,
    )
    failed = message.status is MessageStatus.ERROR
    if args.json:
        print(json.dumps(message_data(message), indent=2, ensure_ascii=False))
    elif failed:
        print(
            f"SMS {message.id} to {message.to_address}: error {message.error_code}: "
            f"{message.error_text}",
            file=sys.stderr,
        )
    else:
        print(
            f"SMS {message.id} to {message.to_address}: {message.status.value} "
            f"({message.provider} {message.provider_message_id}, {message.parts} "
            f"part{'s' if message.parts != 1 else ''}, {message.encoding})"
        )
    return 1 if failed else 0
