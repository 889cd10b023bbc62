"""ID token checks: signature by kid with RS256 only, then issuer, audience, times and nonce."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from hatchway.oidc.errors import ProviderError, SignInError
from hatchway.oidc.id_token import IdTokenExpectations, check_claims, verify_signature

ISSUER = "https://idp.test"
CLIENT_ID = "hatchway-client"
NONCE = "n-0S6_WzA2Mj"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "248289761001",
        "nonce": NONCE,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(payload: dict[str, Any], key: Any = SIGNING_KEY, alg: str = "RS256") -> str:
    header = {"alg": alg, "kid": "key-1"}
    return jwt.encode(header, payload, key, algorithms=[alg])


def known_key(kid: str | None) -> RSAKey:
    if kid != "key-1":
        raise ProviderError(f"no key '{kid}'")
    return SIGNING_KEY


EXPECTED = IdTokenExpectations(issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE, now=NOW)


def refusal(payload: dict[str, Any]) -> str:
    with pytest.raises(SignInError) as caught:
        check_claims(payload, EXPECTED)
    return caught.value.message


def test_valid_token_passes_every_check() -> None:
    verified = verify_signature(sign(claims()), known_key)

    check_claims(verified, EXPECTED)

    assert verified["sub"] == "248289761001"


def test_signature_by_another_key_is_refused() -> None:
    other = RSAKey.generate_key(2048, private=True)

    with pytest.raises(SignInError) as caught:
        verify_signature(sign(claims(), other), known_key)

    assert "signature does not verify" in caught.value.message


def test_hs256_token_is_refused_before_any_key_lookup() -> None:
    secret = OctKey.generate_key(256)

    with pytest.raises(SignInError) as caught:
        verify_signature(sign(claims(), secret, "HS256"), known_key)

    assert "algorithm 'HS256'" in caught.value.message
    assert "RS256" in caught.value.message


def test_unknown_kid_names_the_key() -> None:
    token = jwt.encode({"alg": "RS256", "kid": "rotated"}, claims(), SIGNING_KEY)

    with pytest.raises(SignInError) as caught:
        verify_signature(token, known_key)

    assert "rotated" in caught.value.message


def test_garbage_is_not_a_signed_jwt() -> None:
    with pytest.raises(SignInError) as caught:
        verify_signature("not.a.jwt", known_key)

    assert "not a signed JWT" in caught.value.message


def test_issuer_mismatch_names_both_issuers() -> None:
    message = refusal(claims(iss="https://other.test"))

    assert "'https://other.test'" in message
    assert f"'{ISSUER}'" in message


def test_audience_mismatch_names_the_client_id() -> None:
    message = refusal(claims(aud="someone-else"))

    assert "'someone-else'" in message
    assert f"'{CLIENT_ID}'" in message


def test_audience_list_needs_azp_of_this_client() -> None:
    message = refusal(claims(aud=[CLIENT_ID, "api"], azp="api"))

    assert "'azp' is 'api'" in message


def test_audience_list_with_matching_azp_passes() -> None:
    check_claims(claims(aud=[CLIENT_ID, "api"], azp=CLIENT_ID), EXPECTED)


def test_expired_token_is_refused_beyond_the_leeway() -> None:
    message = refusal(claims(exp=int(NOW.timestamp()) - 121))

    assert "expired 121 seconds ago" in message


def test_expiry_within_the_leeway_passes() -> None:
    check_claims(claims(exp=int(NOW.timestamp()) - 60), EXPECTED)


def test_token_issued_slightly_in_the_future_passes() -> None:
    check_claims(claims(iat=int(NOW.timestamp()) + 4), EXPECTED)


def test_token_issued_far_in_the_future_is_refused() -> None:
    message = refusal(claims(iat=int(NOW.timestamp()) + 600))

    assert "600 seconds in the future" in message


def test_not_before_far_in_the_future_is_refused() -> None:
    message = refusal(claims(nbf=int(NOW.timestamp()) + 600))

    assert "valid only from 600 seconds from now" in message


def test_missing_expiry_is_refused() -> None:
    assert "no 'exp' claim" in refusal(claims(exp=None))


def test_non_numeric_expiry_is_refused() -> None:
    assert "not a NumericDate" in refusal(claims(exp="tomorrow"))


def test_nonce_mismatch_is_refused() -> None:
    assert "nonce does not match" in refusal(claims(nonce="replayed"))


def test_missing_subject_is_refused() -> None:
    assert "no 'sub' claim" in refusal(claims(sub=None))


def test_clock_is_injected_not_read() -> None:
    later = IdTokenExpectations(
        issuer=ISSUER,
        client_id=CLIENT_ID,
        nonce=NONCE,
        now=datetime.fromtimestamp(time.time() + 10 * 365 * 86400, UTC),
    )

    with pytest.raises(SignInError):
        check_claims(claims(), later)
