"""Password hashing (argon2id) and the rules a password must meet."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a stored hash in about constant time, also when there is none."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Return why a password is not acceptable, without repeating it, or None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        count = "1 character" if len(password) == 1 else f"{len(password)} characters"
        return f"Password has {count}; use at least {MIN_PASSWORD_LENGTH}."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password has {len(password)} characters; use at most {MAX_PASSWORD_LENGTH}."
    if password != password.strip():
        return "Password starts or ends with whitespace; remove it."
    return None


def generate_temporary_password() -> str:
    """Return a random 16-character password that is easy to type from an e-mail."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))
