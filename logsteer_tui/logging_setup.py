"""Logging to a rotating file; the terminal belongs to Textual."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterable
from pathlib import Path


class RedactSecrets(logging.Filter):
    """Replace every configured secret in a log record by ``********``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if len(secret) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        for secret in self._secrets:
            message = message.replace(secret, "********")
        record.msg, record.args = message, None
        return True


def setup_logging(
    log_file: Path, secrets: Iterable[str], level: int = logging.INFO
) -> None:
    """Send the app's logs, and its libraries' warnings, to ``log_file`` only."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("logsteer_tui").setLevel(level)
    logging.captureWarnings(True)
