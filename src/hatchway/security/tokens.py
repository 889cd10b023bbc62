"""Random tokens and their hashes: what Hatchway stores in place of a secret it hands out."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    """Return a URL-safe random token of `nbytes` random bytes (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest stored in place of a high-entropy token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hashes_match(presented: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(token_hash(presented), stored_hash)


def fingerprint(secret: str) -> str:
    """Return a short, non-reversible label for a secret: enough to tell two Keys apart."""
    return hashlib.sha256(b"hatchway-key-fingerprint:" + secret.encode("utf-8")).hexdigest()[:16]
