"""Every file location the app uses, derived from platformdirs.

Nothing is written to the home directory directly. On Linux the XDG variables
(XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME) move every location, which is how
the tests keep away from a user's real files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "logsteer"


@dataclass(frozen=True)
class AppPaths:
    """The folders and files of one user's installation."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @classmethod
    def default(cls) -> AppPaths:
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME)),
        )

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "logsteer.sqlite"

    @property
    def demo_database_file(self) -> Path:
        return self.data_dir / "demo.sqlite"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "logsteer.log"

    @property
    def dev_outbox_file(self) -> Path:
        """The file where the development SMS provider records what it would send."""
        return self.data_dir / "dev-outbox.jsonl"
