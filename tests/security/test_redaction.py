"""The redaction helper and the token hashes stored in place of secrets."""

from __future__ import annotations

import pytest

from hatchway.security.redaction import REDACTED, is_secret_field, redact
from hatchway.security.tokens import fingerprint, hashes_match, new_token, token_hash


@pytest.mark.parametrize(
    "name",
    [
        "Key",
        "key",
        "Password",
        "ProvisioningKey",
        "client_secret",
        "ClientSecret",
        "client-secret",
        "id_token",
        "code_verifier",
        "Authorization",
        "Cookie",
        "SessionId",
    ],
)
def test_secret_field_names(name: str) -> None:
    assert is_secret_field(name)


@pytest.mark.parametrize("name", ["ClientId", "Authority", "KeySet", "KeyFingerprint", "Mode"])
def test_ordinary_field_names(name: str) -> None:
    assert not is_secret_field(name)


def test_redact_replaces_secret_values() -> None:
    redacted = redact({"ClientId": "app", "Key": "s3cr3t", "password": "hunter22"})

    assert redacted == {"ClientId": "app", "Key": REDACTED, "password": REDACTED}


def test_redact_recurses_into_mappings_and_lists() -> None:
    data = {
        "Changes": {"Key": {"From": "old", "To": "new"}},
        "Attempts": [{"code": "abc"}, {"Status": "ok"}, "plain"],
    }

    redacted = redact(data)

    assert redacted["Changes"] == {"Key": REDACTED}
    assert redacted["Attempts"] == [{"code": REDACTED}, {"Status": "ok"}, "plain"]


def test_redact_recurses_into_nested_lists() -> None:
    redacted = redact({"Pages": [[{"Key": "s3cr3t"}]], "Pair": ({"Token": "t"}, 1)})

    assert redacted == {"Pages": [[{"Key": REDACTED}]], "Pair": [{"Token": REDACTED}, 1]}


def test_redact_keeps_empty_values_visible() -> None:
    assert redact({"Key": None, "Password": ""}) == {"Key": None, "Password": ""}


def test_redact_leaves_input_unchanged() -> None:
    data = {"Key": "s3cr3t", "Nested": {"Token": "t"}}

    redact(data)

    assert data == {"Key": "s3cr3t", "Nested": {"Token": "t"}}


def test_token_hash_is_sha256_hex() -> None:
    digest = token_hash("abc")

    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_hashes_match_compares_presented_token() -> None:
    stored = token_hash("the-token")

    assert hashes_match("the-token", stored)
    assert not hashes_match("the-token ", stored)


def test_new_tokens_are_long_and_distinct() -> None:
    tokens = {new_token() for _ in range(50)}

    assert len(tokens) == 50
    assert all(len(token) >= 43 for token in tokens)


def test_fingerprint_tells_keys_apart_without_revealing() -> None:
    first, second = fingerprint("key-one"), fingerprint("key-two")

    assert first != second
    assert len(first) == 16
    assert "key" not in first
    assert first != token_hash("key-one")[:16]
