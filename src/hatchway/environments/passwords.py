"""Password hashing (argon2id) and the rules a password must meet."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 65536

_hasher = PasswordHasher(time_cost=DEFAULT_TIME_COST, memory_cost=DEFAULT_MEMORY_KIB)
# Verified against when the user does not exist, so that both paths cost the same time.
_dummy_hash: str | None = None


def configure_hashing(time_cost: int, memory_kib: int) -> None:
    """Set the argon2id cost of new hashes; stored hashes keep verifying with their own cost."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a stored hash in about constant time, also when there is none."""
    global _dummy_hash
    if password_hash is None and _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    try:
        return _hasher.verify(password_hash or _dummy_hash or "", password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Passwords that guessing tools try first; checked lower-cased.
_WELL_KNOWN = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwertyui",
        "qwerty123",
        "qwertyuiop",
        "asdfghjk",
        "azertyui",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome1",
        "welcome123",
        "letmein1",
        "trustno1",
        "admin123",
        "administrator",
        "changeme",
        "changeme1",
        "workspace",
        "workspace365",
        "hatchway",
        "superman",
        "starwars",
        "whatever",
    }
)
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl")


def _is_sequence(password: str) -> bool:
    lowered = password.lower()
    return any(lowered in run or lowered in run[::-1] for run in _SEQUENCES)


def password_problem(password: str, email: str | None = None) -> str | None:
    """Return why a password is not acceptable, without repeating it, or None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        count = "1 character" if len(password) == 1 else f"{len(password)} characters"
        return f"Password has {count}; use at least {MIN_PASSWORD_LENGTH}."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password has {len(password)} characters; use at most {MAX_PASSWORD_LENGTH}."
    if password != password.strip():
        return "Password starts or ends with whitespace; remove it."
    if len(set(password)) == 1 or _is_sequence(password):
        return (
            "Password is a repeated character or a simple sequence; choose one that is hard "
            "to guess."
        )
    if password.lower() in _WELL_KNOWN:
        return "Password is one of the most common passwords; choose one that is hard to guess."
    if email and password.lower() in (email.strip().lower(), email.strip().lower().split("@")[0]):
        return "Password is the e-mail address or its user part; choose one that is hard to guess."
    return None


def generate_temporary_password() -> str:
    """Return a random 16-character password that is easy to type from an e-mail."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))
