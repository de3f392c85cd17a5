"""The errors a user can meet, each with a title and a message that names the fix."""

from __future__ import annotations

# A value longer than this is cut in messages, so the reason and the fix after it
# stay on screen (a 3,000-character city would fill a toast and push them out).
MAX_SHOWN_VALUE_LENGTH = 40


def shown_value(value: object) -> str:
    """Return ``repr(value)`` for a message, cut after 40 characters.

    A cut value ends with "…" and its full length, such as
    ``'Zagrebxxxx…' (3,000 characters)``, so the reader knows it was cut.
    """
    text = repr(value)
    if len(text) <= MAX_SHOWN_VALUE_LENGTH:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[:MAX_SHOWN_VALUE_LENGTH]}… ({length:,} characters)"


class LogsteerError(Exception):
    """Base of every error shown to a user; ``str()`` is the full message."""

    title = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(LogsteerError):
    title = "Invalid configuration"


class ValidationError(LogsteerError):
    """A value a user typed or imported is invalid.

    ``field`` names the field in the JSON names of the contact (``mobile_1``), so a
    form can show the message beside the right input. The message shows the value
    cut by shown_value. A value of None is left out, because "None" means nothing
    to a user, and the reason then states that the value is missing.
    """

    title = "Invalid value"

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        if value is None:
            super().__init__(f"{field}: {reason}")
        else:
            super().__init__(f"{field}: {shown_value(value)} is invalid: {reason}")


class NotFoundError(LogsteerError):
    title = "Not found"


class DatabaseError(LogsteerError):
    title = "Database error"
