"""The errors a user can meet, each with a title and a message that names the fix."""

from __future__ import annotations


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
    form can show the message beside the right input.
    """

    title = "Invalid value"

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {value!r} is invalid: {reason}")


class NotFoundError(LogsteerError):
    title = "Not found"


class DatabaseError(LogsteerError):
    title = "Database error"
