"""HATCHWAY_CLOCK_LEEWAY sets how far ID-token times may be off."""

from __future__ import annotations

import pytest

from hatchway.config import ConfigurationError, load_settings


def test_leeway_defaults_to_120_seconds() -> None:
    assert load_settings({}).clock_leeway_seconds == 120


def test_leeway_read_from_environment() -> None:
    assert load_settings({"HATCHWAY_CLOCK_LEEWAY": " 30 "}).clock_leeway_seconds == 30


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2m", "HATCHWAY_CLOCK_LEEWAY='2m' is not a whole number of seconds."),
        ("-5", "HATCHWAY_CLOCK_LEEWAY='-5' must be between 0 and 3600 seconds."),
        ("7200", "HATCHWAY_CLOCK_LEEWAY='7200' must be between 0 and 3600 seconds."),
    ],
)
def test_leeway_rejects_bad_values(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"HATCHWAY_CLOCK_LEEWAY": raw})

    assert str(error.value) == message
