"""The built wheel carries the stylesheet and the migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_wheel_contains_data_files(tmp_path: Path) -> None:
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip_wheel, "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("logsteer_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "logsteer_tui/logsteer.tcss" in names
    assert "logsteer_tui/db/migrations/env.py" in names
    assert "logsteer_tui/db/migrations/script.py.mako" in names
    versions = [name for name in names if "/migrations/versions/" in name]
    shipped = {Path(name).name for name in versions}
    in_checkout = {
        path.name
        for path in (ROOT / "logsteer_tui/db/migrations/versions").glob("*.py")
    }
    assert shipped == in_checkout
