"""The JWKS cache: one refetch for an unknown `kid`, at most once a minute, merged."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hatchway.oidc.discovery import JWKS_REFETCH_INTERVAL_SECONDS, ProviderDirectory
from hatchway.oidc.errors import ProviderError
from tests.support.entra import TENANT_ID, FakeEntra

JWKS_URI = f"https://login.microsoftonline.com/{TENANT_ID}/discovery/v2.0/keys"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def http(fake_entra: FakeEntra) -> Iterator[httpx.Client]:
    with fake_entra.http_client() as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(http: httpx.Client, clock: Clock) -> ProviderDirectory:
    return ProviderDirectory(http, monotonic=clock)


def fetches(fake_entra: FakeEntra) -> int:
    return fake_entra.count("/discovery/v2.0/keys")


def test_known_kid_uses_cache(directory: ProviderDirectory, fake_entra: FakeEntra) -> None:
    kid = fake_entra.signing_key.kid
    directory.signing_key(JWKS_URI, kid)

    directory.signing_key(JWKS_URI, kid)

    assert fetches(fake_entra) == 1


def test_unknown_kid_refetches_once(directory: ProviderDirectory, fake_entra: FakeEntra) -> None:
    directory.signing_key(JWKS_URI, fake_entra.signing_key.kid)
    new_kid = fake_entra.rotate_keys().kid

    key = directory.signing_key(JWKS_URI, new_kid)

    assert key is not None
    assert fetches(fake_entra) == 2


def test_refetch_keeps_cached_keys(directory: ProviderDirectory, fake_entra: FakeEntra) -> None:
    old_kid = fake_entra.signing_key.kid
    directory.signing_key(JWKS_URI, old_kid)
    directory.signing_key(JWKS_URI, fake_entra.rotate_keys().kid)

    # The provider no longer publishes the old key, but tokens signed with it still verify.
    assert directory.signing_key(JWKS_URI, old_kid) is not None
    assert fetches(fake_entra) == 2


def test_second_unknown_kid_within_interval_not_refetched(
    directory: ProviderDirectory, fake_entra: FakeEntra, clock: Clock
) -> None:
    directory.signing_key(JWKS_URI, fake_entra.signing_key.kid)
    directory.signing_key(JWKS_URI, fake_entra.rotate_keys().kid)
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS - 1

    with pytest.raises(ProviderError, match="does not contain"):
        directory.signing_key(JWKS_URI, "made-up-kid")

    assert fetches(fake_entra) == 2


def test_unknown_kid_refetched_after_interval(
    directory: ProviderDirectory, fake_entra: FakeEntra, clock: Clock
) -> None:
    directory.signing_key(JWKS_URI, fake_entra.signing_key.kid)
    directory.signing_key(JWKS_URI, fake_entra.rotate_keys().kid)
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS

    directory.signing_key(JWKS_URI, fake_entra.rotate_keys().kid)

    assert fetches(fake_entra) == 3


def test_first_fetch_counts_as_refetch(directory: ProviderDirectory, fake_entra: FakeEntra) -> None:
    with pytest.raises(ProviderError, match="made-up-kid"):
        directory.signing_key(JWKS_URI, "made-up-kid")

    assert fetches(fake_entra) == 1
