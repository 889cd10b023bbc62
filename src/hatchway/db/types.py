"""Column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware.

    SQLite has no time zones, so storing naive UTC everywhere keeps both databases equal.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def unstorable_character(value: str) -> str | None:
    """Describe the first character that no database column can hold, or return None.

    PostgreSQL text cannot contain NUL, and an unpaired surrogate (which JSON's \\uD800 escapes
    can produce) has no UTF-8 encoding. The value itself is never repeated, since it may be a
    secret.
    """
    for position, character in enumerate(value, start=1):
        if character == "\x00":
            return f"contains at position {position} a NUL character (U+0000); remove it"
        if "\ud800" <= character <= "\udfff":
            return (
                f"contains at position {position} an unpaired surrogate "
                f"(U+{ord(character):04X}), which is not a character; send valid UTF-8 text"
            )
    return None
