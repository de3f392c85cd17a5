"""The services and database layers must run without Textual, under `serve` too."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import logsteer_tui

PACKAGE_DIR = Path(logsteer_tui.__file__).parent
HEADLESS_PACKAGES = ("logsteer_tui.services", "logsteer_tui.db")


def module_file(name: str) -> Path | None:
    relative = Path(*name.split("."))
    for candidate in (relative.with_suffix(".py"), relative / "__init__.py"):
        path = PACKAGE_DIR.parent / candidate
        if path.exists():
            return path
    return None


def imported_names(path: Path) -> set[str]:
    """Every module named by an import statement in ``path``, at any depth."""
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    package = list(parts[:-1])  # for __init__.py too: its folder is the package
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def headless_modules() -> list[str]:
    found = []
    for package_name in HEADLESS_PACKAGES:
        package = __import__(package_name, fromlist=["__path__"])
        found.append(package_name)
        found.extend(
            info.name
            for info in pkgutil.walk_packages(package.__path__, package_name + ".")
            if ".migrations.versions." not in info.name
        )
    return found


def test_headless_layers_never_name_textual() -> None:
    """Follow our own imports from services/ and db/; none may reach textual."""
    offenders: list[str] = []
    seen: set[str] = set()
    stack = [(name, name) for name in headless_modules()]
    while stack:
        name, chain = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None:
            continue
        for imported in imported_names(path):
            if imported == "textual" or imported.startswith("textual."):
                offenders.append(f"{chain} -> {imported}")
            elif imported.startswith("logsteer_tui"):
                stack.append((imported, f"{chain} -> {imported}"))
    assert offenders == []


def test_headless_layers_import_without_textual() -> None:
    """Import every services/ and db/ module in a fresh interpreter."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {headless_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'textual']\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == []
