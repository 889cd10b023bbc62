"""Sealing of stored secrets: round trip, tampering, rotation, the key file and configured keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hatchway.config import ConfigurationError, load_settings
from hatchway.security.sealing import KEYRING_FILE, Keyring, SealingError, load_keyring

SECRET = "Zx8Q~sealed-secret-value"


def _new_key() -> str:
    return Fernet.generate_key().decode("ascii")


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return load_keyring((), tmp_path)


def test_seal_round_trip(keyring: Keyring) -> None:
    sealed = keyring.seal(SECRET)

    assert sealed.startswith("f1:")
    assert SECRET not in sealed
    assert keyring.unseal(sealed) == SECRET


def test_seal_round_trip_unicode(keyring: Keyring) -> None:
    assert keyring.unseal(keyring.seal("pässwört ✓")) == "pässwört ✓"


def test_seal_is_randomized(keyring: Keyring) -> None:
    assert keyring.seal(SECRET) != keyring.seal(SECRET)


def test_tampered_value_is_detected(keyring: Keyring) -> None:
    sealed = keyring.seal(SECRET)
    position = len(sealed) // 2
    flipped = "A" if sealed[position] != "A" else "B"
    tampered = sealed[:position] + flipped + sealed[position + 1 :]

    with pytest.raises(SealingError, match="no sealing key of this instance opens"):
        keyring.unseal(tampered)


@pytest.mark.parametrize("stored", ["", "plain-text", "f2:gAAAA", "f1:", "f1:gAAAAé"])
def test_unknown_format_is_sealing_error(keyring: Keyring, stored: str) -> None:
    with pytest.raises(SealingError):
        keyring.unseal(stored)


def test_other_instance_cannot_unseal(keyring: Keyring) -> None:
    other = Keyring([_new_key()])

    with pytest.raises(SealingError):
        other.unseal(keyring.seal(SECRET))


def test_error_never_contains_value(keyring: Keyring) -> None:
    with pytest.raises(SealingError) as raised:
        Keyring([_new_key()]).unseal(keyring.seal(SECRET))

    assert SECRET not in str(raised.value)


# Rotation


def test_rotate_keeps_old_values_readable(keyring: Keyring) -> None:
    old = keyring.seal(SECRET)

    keyring.rotate()

    assert keyring.key_count == 2
    assert keyring.unseal(old) == SECRET


def test_rotate_seals_with_new_key(tmp_path: Path, keyring: Keyring) -> None:
    first_key = (tmp_path / KEYRING_FILE).read_text().splitlines()[-1]

    keyring.rotate()

    with pytest.raises(SealingError):
        Keyring([first_key]).unseal(keyring.seal(SECRET))


def test_reseal_then_retire_old_keys(keyring: Keyring) -> None:
    old = keyring.seal(SECRET)
    keyring.rotate()
    resealed = keyring.reseal(old)

    keyring.retire_old_keys()

    assert keyring.key_count == 1
    assert keyring.unseal(resealed) == SECRET
    with pytest.raises(SealingError):
        keyring.unseal(old)


def test_rotation_by_other_process_is_picked_up(tmp_path: Path) -> None:
    mine = load_keyring((), tmp_path)
    theirs = load_keyring((), tmp_path)
    theirs.rotate()

    assert mine.unseal(theirs.seal(SECRET)) == SECRET
    assert mine.key_count == 2


def test_rotations_by_two_processes_keep_both_keys(tmp_path: Path) -> None:
    mine = load_keyring((), tmp_path)
    theirs = load_keyring((), tmp_path)
    theirs.rotate()
    sealed_by_them = theirs.seal(SECRET)

    mine.rotate()

    assert mine.key_count == 3
    assert load_keyring((), tmp_path).unseal(sealed_by_them) == SECRET


def test_retire_refuses_when_file_has_newer_key(tmp_path: Path) -> None:
    mine = load_keyring((), tmp_path)
    mine.rotate()
    load_keyring((), tmp_path).rotate()

    with pytest.raises(SealingError, match="reseal the stored values again"):
        mine.retire_old_keys()

    assert load_keyring((), tmp_path).key_count == 3


def test_rotate_with_configured_keys_names_variable() -> None:
    keyring = Keyring([_new_key()])

    with pytest.raises(SealingError, match="HATCHWAY_SEALING_KEYS"):
        keyring.rotate()


def test_signing_keys_differ_by_purpose(keyring: Keyring) -> None:
    assert keyring.signing_keys("csrf") != keyring.signing_keys("other")
    assert len(keyring.signing_keys("csrf")[0]) == 32


# The key file in the data folder


def test_key_file_created_with_mode_0600(tmp_path: Path) -> None:
    load_keyring((), tmp_path / "data")

    path = tmp_path / "data" / KEYRING_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_file_holds_one_fernet_key(tmp_path: Path) -> None:
    load_keyring((), tmp_path)

    lines = (tmp_path / KEYRING_FILE).read_text().splitlines()
    keys = [line for line in lines if not line.startswith("#")]
    assert len(keys) == 1
    Fernet(keys[0].encode())


def test_key_file_is_reused_on_next_start(tmp_path: Path) -> None:
    sealed = load_keyring((), tmp_path).seal(SECRET)

    assert load_keyring((), tmp_path).unseal(sealed) == SECRET


def test_rotated_key_file_keeps_mode_0600(tmp_path: Path) -> None:
    load_keyring((), tmp_path).rotate()

    assert stat.S_IMODE((tmp_path / KEYRING_FILE).stat().st_mode) == 0o600


def test_no_draft_files_left_behind(tmp_path: Path) -> None:
    load_keyring((), tmp_path).rotate()

    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [KEYRING_FILE, f"{KEYRING_FILE}.lock"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("# only a comment\n", "holds no key"),
        ("not-a-fernet-key\n", "Key 1 of 1"),
        ("\xe9\n", "is not ASCII text"),
    ],
)
def test_damaged_key_file_names_file(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / KEYRING_FILE
    path.write_bytes(content.encode("latin-1"))

    with pytest.raises(ConfigurationError, match=problem) as raised:
        load_keyring((), tmp_path)

    assert str(path) in str(raised.value)


# HATCHWAY_SEALING_KEYS


def test_configured_keys_are_parsed_newest_first() -> None:
    first, second = _new_key(), _new_key()

    settings = load_settings({"HATCHWAY_SEALING_KEYS": f" {first} , {second},"})

    assert settings.sealing_keys == (first, second)


def test_configured_keys_make_no_file(tmp_path: Path) -> None:
    keyring = load_keyring((_new_key(),), tmp_path)

    assert keyring.file_backed is False
    assert list(tmp_path.iterdir()) == []


def test_configured_older_key_still_opens(tmp_path: Path) -> None:
    old_key = _new_key()
    sealed = Keyring([old_key]).seal(SECRET)

    keyring = load_keyring((_new_key(), old_key), tmp_path)

    assert keyring.unseal(sealed) == SECRET


@pytest.mark.parametrize("value", ["not-a-key", "short", "é" * 44])
def test_bad_configured_key_names_variable_without_value(value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"HATCHWAY_SEALING_KEYS": f"{_new_key()},{value}"})

    message = str(raised.value)
    assert message.startswith("HATCHWAY_SEALING_KEYS entry 2 of 2 is not a Fernet key")
    assert value not in message


def test_load_keyring_refuses_bad_configured_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="HATCHWAY_SEALING_KEYS entry 1 of 1"):
        load_keyring(("bad",), tmp_path)
