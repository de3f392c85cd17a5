"""The configuration page documents every setting the app reads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from logsteer_tui.config import Settings

DOCS = Path(__file__).parent.parent / "docs" / "configuration.md"


def documented_keys() -> dict[str, set[str]]:
    """Map each `### [section]` heading of the page to the keys in its table."""
    sections: dict[str, set[str]] = {"": set()}
    current = ""
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"### `\[(\w+)\]`", line)
        if heading:
            current = heading.group(1)
            sections[current] = set()
        row = re.match(r"\| `(\w+)` \|", line)
        if row:
            sections.setdefault(current, set()).add(row.group(1))
    return sections


def test_every_setting_documented() -> None:
    documented = documented_keys()
    missing = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for key in annotation.model_fields:
                if key not in documented.get(name, set()):
                    missing.append(f"[{name}] {key}")
        elif name not in documented[""]:
            missing.append(name)
    assert missing == []
