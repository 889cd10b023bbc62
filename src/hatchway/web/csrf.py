"""CSRF protection for every form: a signed double-submit token.

The browser holds a random value in the `hatchway_csrf` cookie (httponly, SameSite=Lax); each form
carries an HMAC of that value under a key derived from the sealing keys. A forged form from
another site can neither read the cookie nor compute the HMAC.
"""

from __future__ import annotations

import base64
import hmac
from hashlib import sha256

from starlette.requests import Request

from hatchway.security.sealing import Keyring
from hatchway.security.tokens import new_token

CSRF_COOKIE = "hatchway_csrf"
CSRF_FIELD = "csrf_token"
_PURPOSE = "csrf"


def _sign(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode("ascii"), sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def cookie_value(request: Request) -> tuple[str, bool]:
    """Return the browser's CSRF cookie value, or a new one and True when it must be set."""
    current = request.cookies.get(CSRF_COOKIE)
    if current and 20 <= len(current) <= 100 and current.isascii():
        return current, False
    return new_token(24), True


def form_token(keyring: Keyring, cookie: str) -> str:
    return _sign(keyring.signing_keys(_PURPOSE)[0], cookie)


def is_valid(keyring: Keyring, cookie: str | None, submitted: str | None) -> bool:
    """Check a submitted form token against the cookie under any current signing key."""
    if not cookie or not submitted or not cookie.isascii():
        return False
    return any(
        hmac.compare_digest(_sign(key, cookie), submitted) for key in keyring.signing_keys(_PURPOSE)
    )
