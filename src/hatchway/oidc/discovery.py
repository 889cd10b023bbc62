"""Provider metadata from OpenID Connect discovery, and signing keys from the JWKS, cached.

Both are fetched through the SSRF guard. Metadata is cached for an hour per Authority, keys for
an hour per JWKS URI. A token whose `kid` is unknown triggers one refetch, merged with the cached
keys so that a provider in the middle of a key rotation keeps working. Such refetches happen at
most once a minute per JWKS URI, so tokens with made-up `kid` values cannot flood the provider.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from hatchway.oidc.errors import ProviderError
from hatchway.security.ssrf import MIB, OutboundError, fetch_json

logger = logging.getLogger(__name__)

METADATA_TTL_SECONDS = 3600.0
JWKS_TTL_SECONDS = 3600.0
JWKS_REFETCH_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    token_endpoint_auth_methods: tuple[str, ...] = ("client_secret_basic",)
    code_challenge_methods: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def discovery_url(authority: str) -> str:
    return authority.rstrip("/") + "/.well-known/openid-configuration"


def parse_metadata(document: Any, url: str) -> ProviderMetadata:
    """Read the fields Hatchway needs from a discovery document, naming any that is missing."""
    if not isinstance(document, dict):
        raise ProviderError(f"The discovery document at '{url}' is not a JSON object.")
    missing = [
        name
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(document.get(name), str) or not document.get(name)
    ]
    if missing:
        raise ProviderError(
            f"The discovery document at '{url}' lacks {', '.join(missing)}; check that the "
            "Authority is the provider's OpenID Connect issuer URL."
        )
    methods = document.get("token_endpoint_auth_methods_supported")
    challenges = document.get("code_challenge_methods_supported")
    return ProviderMetadata(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint") or None,
        end_session_endpoint=document.get("end_session_endpoint") or None,
        token_endpoint_auth_methods=(
            tuple(str(m) for m in methods)
            if isinstance(methods, list)
            else ("client_secret_basic",)
        ),
        code_challenge_methods=(
            tuple(str(m) for m in challenges) if isinstance(challenges, list) else ()
        ),
        raw=document,
    )


def parse_key_set(document: Any, url: str) -> dict[str, RSAKey]:
    """Return the RSA signing keys of a JWKS by `kid`; other keys are skipped, not refused."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ProviderError(f"The JWKS at '{url}' is not a JSON object with a 'keys' list.")
    keys: dict[str, RSAKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use") == "enc":
            continue
        try:
            key = RSAKey.import_key(entry)
        except (JoseError, ValueError, TypeError):
            logger.warning("oidc.jwks.key_skipped jwks_uri=%s kid=%s", url, entry.get("kid"))
            continue
        keys[str(entry.get("kid", ""))] = key
    if not keys:
        raise ProviderError(f"The JWKS at '{url}' has no RSA signing key.")
    return keys


@dataclass
class _CachedKeys:
    keys: dict[str, RSAKey]
    fetched_at: float


class ProviderDirectory:
    """Discovery and JWKS caches of one process, shared by every environment."""

    def __init__(
        self, client: httpx.Client, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._metadata: dict[str, tuple[ProviderMetadata, float]] = {}
        self._keys: dict[str, _CachedKeys] = {}
        self._unknown_kid_refetches: dict[str, float] = {}

    def _fetch(self, url: str, what: str) -> Any:
        try:
            fetched = fetch_json(self._client, "GET", url, max_bytes=MIB)
        except OutboundError as error:
            raise ProviderError(
                f"The {what} at '{url}' could not be fetched: {error.reason}."
            ) from None
        if fetched.status_code != 200:
            raise ProviderError(
                f"The {what} at '{url}' returned HTTP {fetched.status_code} instead of 200."
            )
        return fetched.document

    def metadata(self, authority: str, *, refresh: bool = False) -> ProviderMetadata:
        """Return the provider metadata for an Authority, from the cache when under an hour old."""
        now = self._monotonic()
        with self._lock:
            cached = self._metadata.get(authority)
        if cached is not None and not refresh and now - cached[1] < METADATA_TTL_SECONDS:
            return cached[0]
        url = discovery_url(authority)
        metadata = parse_metadata(self._fetch(url, "discovery document"), url)
        with self._lock:
            self._metadata[authority] = (metadata, now)
        logger.info("oidc.discovery.fetched authority=%s issuer=%s", authority, metadata.issuer)
        return metadata

    def signing_key(self, jwks_uri: str, kid: str | None) -> RSAKey:
        """Return the key for `kid`, refetching the JWKS once when `kid` is not cached."""
        cached, fetched_now = self._cached_keys(jwks_uri)
        key = _pick(cached.keys, kid)
        if key is not None:
            return key
        if not fetched_now and self._may_refetch_for_unknown_kid(jwks_uri):
            cached = self._refetch_keys(jwks_uri, merge_with=cached.keys)
            key = _pick(cached.keys, kid)
            if key is not None:
                return key
        raise ProviderError(
            f"The ID token was signed with key '{kid}', which the provider's JWKS at "
            f"'{jwks_uri}' does not contain."
        )

    def _may_refetch_for_unknown_kid(self, jwks_uri: str) -> bool:
        now = self._monotonic()
        with self._lock:
            last = self._unknown_kid_refetches.get(jwks_uri)
            if last is not None and now - last < JWKS_REFETCH_INTERVAL_SECONDS:
                logger.info("oidc.jwks.refetch_skipped jwks_uri=%s", jwks_uri)
                return False
            self._unknown_kid_refetches[jwks_uri] = now
        return True

    def key_set(self, jwks_uri: str) -> KeySet:
        return KeySet(list(self._cached_keys(jwks_uri)[0].keys.values()))

    def _cached_keys(self, jwks_uri: str) -> tuple[_CachedKeys, bool]:
        """Return the cached keys and whether they had to be fetched just now."""
        with self._lock:
            cached = self._keys.get(jwks_uri)
        if cached is not None and self._monotonic() - cached.fetched_at < JWKS_TTL_SECONDS:
            return cached, False
        return self._refetch_keys(jwks_uri, merge_with={}), True

    def _refetch_keys(self, jwks_uri: str, merge_with: dict[str, RSAKey]) -> _CachedKeys:
        fresh = parse_key_set(self._fetch(jwks_uri, "JWKS"), jwks_uri)
        cached = _CachedKeys({**merge_with, **fresh}, self._monotonic())
        with self._lock:
            self._keys[jwks_uri] = cached
        logger.info("oidc.jwks.fetched jwks_uri=%s keys=%d", jwks_uri, len(fresh))
        return cached

    def forget(self, authority: str) -> None:
        """Drop the cached metadata of an Authority, after its settings changed."""
        with self._lock:
            self._metadata.pop(authority, None)


def _pick(keys: dict[str, RSAKey], kid: str | None) -> RSAKey | None:
    if kid is not None:
        return keys.get(kid)
    # A token without `kid` can only be checked when the provider publishes a single key.
    return next(iter(keys.values())) if len(keys) == 1 else None
