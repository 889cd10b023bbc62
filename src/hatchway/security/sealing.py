"""Authenticated encryption of stored secrets (Fernet), with a rotatable keyring.

The keyring comes from `HATCHWAY_SEALING_KEYS` (comma-separated Fernet keys, newest first) or,
when that is unset, from the file `sealing-keys` in the data folder, created on first use.
Sealed values carry a version prefix so that the format can change later.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hatchway.config import ConfigurationError, is_fernet_key

logger = logging.getLogger(__name__)

_PREFIX = "f1:"
KEYRING_FILE = "sealing-keys"


class SealingError(Exception):
    """A sealed value cannot be opened with any key of the keyring."""


class Keyring:
    """The sealing keys of this instance; the first one seals, every one can open."""

    def __init__(self, keys: list[str], path: Path | None = None) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._lock = threading.Lock()
        self._path = path
        self._keys = list(keys)
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        self._file_version = self._read_file_version()

    @property
    def key_count(self) -> int:
        return len(self._keys)

    @property
    def file_backed(self) -> bool:
        return self._path is not None

    def seal(self, plaintext: str) -> str:
        """Seal with the newest key, rereading the keyring file first if another process rotated.

        A value sealed with a key that `hatchway keys rotate` has retired could not be opened
        after the next restart, so the file's identity is checked on every seal.
        """
        self._reload_if_file_changed()
        return _PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def _read_file_version(self) -> tuple[int, int] | None:
        # Every write replaces the file, so a new inode number shows a change even when two
        # writes fall within one tick of the file system's clock.
        if self._path is None:
            return None
        try:
            status = self._path.stat()
        except FileNotFoundError:
            return None
        return status.st_ino, status.st_mtime_ns

    def _reload_if_file_changed(self) -> None:
        if self._path is not None and self._read_file_version() != self._file_version:
            self.reload()

    def unseal(self, sealed: str) -> str:
        """Open a sealed value; reloads the keyring file once in case another process rotated it."""
        if not sealed.startswith(_PREFIX) or not sealed.isascii():
            raise SealingError("the stored value is not in a format this version can open")
        token = sealed[len(_PREFIX) :].encode("ascii")
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            if not self.reload():
                raise SealingError(
                    "no sealing key of this instance opens the stored value"
                ) from None
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise SealingError("no sealing key of this instance opens the stored value") from None

    def reseal(self, sealed: str) -> str:
        """Seal a value again with the newest key."""
        return self.seal(self.unseal(sealed))

    def signing_keys(self, purpose: str) -> list[bytes]:
        """Derive HMAC keys for one purpose, one per sealing key, the current one first."""
        self._reload_if_file_changed()
        return [
            hmac.new(
                key.encode("ascii"), b"hatchway-signing:" + purpose.encode(), hashlib.sha256
            ).digest()
            for key in self._keys
        ]

    def reload(self) -> bool:
        """Read the keyring file again; return True when it held keys not loaded before."""
        if self._path is None or not self._path.exists():
            return False
        version = self._read_file_version()
        try:
            keys = _read_keys(self._path)
        except ConfigurationError as error:
            logger.error("sealing.keyring.reload_failed error=%s", error)
            return False
        with self._lock:
            self._file_version = version
            if keys == self._keys:
                return False
            self._use(keys)
        logger.info("sealing.keyring.reloaded keys=%d", len(keys))
        return True

    def rotate(self) -> None:
        """Put a new key in front; older keys stay so that existing values still open.

        The file, not this process's copy, is the starting point, so that a rotation by another
        worker is kept rather than overwritten.
        """
        if self._path is None:
            raise SealingError(
                "the sealing keys come from HATCHWAY_SEALING_KEYS; rotate them by putting a new "
                "key (from 'Fernet.generate_key()') first in that variable and restarting"
            )
        with self._lock, _locked(self._path):
            keys = [Fernet.generate_key().decode("ascii"), *_read_keys(self._path)]
            _write_keys(self._path, keys)
            self._use(keys)

    def retire_old_keys(self) -> None:
        """Keep only the newest key; call after every stored value was resealed with it."""
        if self._path is None:
            return
        with self._lock, _locked(self._path):
            newest = _read_keys(self._path)[0]
            if newest != self._keys[0]:
                raise SealingError(
                    "the sealing key file gained a newer key since this process resealed; "
                    "reseal the stored values again before retiring old keys"
                )
            _write_keys(self._path, [newest])
            self._use([newest])

    def _use(self, keys: list[str]) -> None:
        self._keys = keys
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        self._file_version = self._read_file_version()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the key file, so that workers change it one at a time."""
    descriptor = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _read_keys(path: Path) -> list[str]:
    """Read the keys of a keyring file, raising ConfigurationError when one is unusable."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"The sealing key file {path} is not ASCII text; restore it from a backup."
        ) from None
    keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not keys:
        raise ConfigurationError(
            f"The sealing key file {path} holds no key; restore it from a backup, because "
            "values sealed with the lost keys cannot be opened."
        )
    for position, key in enumerate(keys, start=1):
        if not is_fernet_key(key):
            raise ConfigurationError(
                f"Key {position} of {len(keys)} in the sealing key file {path} is not a Fernet "
                "key (32 url-safe base64-encoded bytes); restore the file from a backup."
            )
    return keys


def _write_keys(path: Path, keys: list[str]) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(
            "# Hatchway sealing keys, newest first. Keep this file secret and backed up.\n"
        )
        handle.write("\n".join(keys) + "\n")
    os.replace(temporary, path)


def load_keyring(configured_keys: tuple[str, ...], data_dir: Path) -> Keyring:
    """Load the keyring from the configured keys, or from (or into) the data folder."""
    if configured_keys:
        for position, key in enumerate(configured_keys, start=1):
            if not is_fernet_key(key):
                raise ConfigurationError(
                    f"HATCHWAY_SEALING_KEYS entry {position} of {len(configured_keys)} is not a "
                    "Fernet key (32 url-safe base64-encoded bytes)."
                )
        return Keyring(list(configured_keys))

    path = data_dir / KEYRING_FILE
    if not path.exists():
        _create_keyring_file(path)
    return Keyring(_read_keys(path), path)


def _create_keyring_file(path: Path) -> None:
    """Write a first key; a hard link makes creation atomic when several workers start at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.new")
    _write_keys(draft, [Fernet.generate_key().decode("ascii")])
    try:
        os.link(draft, path)
        logger.info("sealing.keyring.created path=%s", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
