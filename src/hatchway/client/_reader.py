"""Typed reading of Provisioning API response bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hatchway.client._errors import ValidationResult

Json = Any


class ResponseShapeError(ValueError):
    """A response body lacks a member the client needs, or has one of the wrong type."""


class Reader:
    """Typed access to the members of one JSON object of a response."""

    def __init__(self, data: Json, what: str) -> None:
        if not isinstance(data, Mapping):
            raise ResponseShapeError(f"{what} is {type(data).__name__}, expected a JSON object")
        self.data: Mapping[str, Json] = data
        self.what = what

    def _get(self, name: str, *types: type) -> Json:
        if name not in self.data:
            raise ResponseShapeError(f"{self.what} has no member '{name}'")
        value = self.data[name]
        if value is None and type(None) in types:
            return None
        # bool is a subclass of int; a JSON true is never a number here.
        if isinstance(value, bool) and bool not in types:
            raise ResponseShapeError(f"{self.what}.{name} is a boolean")
        if not isinstance(value, types):
            raise ResponseShapeError(
                f"{self.what}.{name} is {type(value).__name__}, expected "
                + " or ".join(kind.__name__ for kind in types)
            )
        return value

    def text(self, name: str) -> str:
        value: str = self._get(name, str)
        return value

    def optional_text(self, name: str) -> str | None:
        if name not in self.data:
            return None
        value: str | None = self._get(name, str, type(None))
        return value

    def flag(self, name: str) -> bool:
        value: bool = self._get(name, bool)
        return value

    def optional_flag(self, name: str, default: bool = False) -> bool:
        if self.data.get(name) is None:
            return default
        return self.flag(name)

    def number(self, name: str) -> int:
        value: int = self._get(name, int)
        return value

    def optional_number(self, name: str) -> int | None:
        if name not in self.data:
            return None
        value: int | None = self._get(name, int, type(None))
        return value

    def identifier(self, name: str) -> int | str:
        """Read an id that the server may send as a number or as a string."""
        value: int | str = self._get(name, int, str)
        return value

    def optional_identifier(self, name: str) -> int | str | None:
        if name not in self.data:
            return None
        value: int | str | None = self._get(name, int, str, type(None))
        return value

    def timestamp(self, name: str) -> datetime:
        return self._parse_timestamp(name, self.text(name))

    def optional_timestamp(self, name: str) -> datetime | None:
        raw = self.optional_text(name)
        return None if raw is None else self._parse_timestamp(name, raw)

    def optional_date(self, name: str) -> date | None:
        raw = self.optional_text(name)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ResponseShapeError(f"{self.what}.{name} is not a date: {raw!r}") from None

    def mapping(self, name: str) -> Mapping[str, Json] | None:
        if name not in self.data:
            return None
        value: Mapping[str, Json] | None = self._get(name, dict, type(None))
        return value

    def items(self, name: str) -> list[Json]:
        """Read an array member; a missing member counts as empty."""
        if self.data.get(name) is None:
            return []
        value: list[Json] = self._get(name, list)
        return value

    def results(self, name: str) -> tuple[ValidationResult, ...]:
        return read_results(self.items(name), f"{self.what}.{name}")

    def _parse_timestamp(self, name: str, raw: str) -> datetime:
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            raise ResponseShapeError(f"{self.what}.{name} is not a timestamp: {raw!r}") from None


def read_results(items: Json, what: str) -> tuple[ValidationResult, ...]:
    """Read an array of `{"MemberNames": [...], "ErrorMessage": "..."}` objects."""
    if not isinstance(items, list):
        raise ResponseShapeError(f"{what} is {type(items).__name__}, expected a JSON array")
    results = []
    for index, item in enumerate(items):
        reader = Reader(item, f"{what}[{index}]")
        names = reader.items("MemberNames")
        results.append(
            ValidationResult(tuple(str(name) for name in names), reader.text("ErrorMessage"))
        )
    return tuple(results)


def read_list(data: Json, what: str) -> list[Json]:
    if not isinstance(data, list):
        raise ResponseShapeError(f"{what} is {type(data).__name__}, expected a JSON array")
    return data
