"""Static checks of Authority, Client ID and Key, without the HTTP layer."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hatchway.db.models import SsoSettings
from hatchway.errors import ValidationFailed
from hatchway.sso.inputs import check_authority, check_client_id, check_key, describe_character
from hatchway.sso.service import OAuth2Input, check_oauth2_input

KEY = "Zx8Q~kEY-valUE.0123456789"


def _stored(**values: object) -> SsoSettings:
    settings = SsoSettings(
        environment_id=1, mode="None", version=0, updated_at=datetime(2030, 1, 1, tzinfo=UTC)
    )
    for name, value in values.items():
        setattr(settings, name, value)
    return settings


def test_check_key_keeps_clean_key() -> None:
    checked = check_key(KEY)

    assert checked.value == KEY
    assert checked.errors == []
    assert checked.notices == []


def test_check_key_trims_and_notes_without_value() -> None:
    checked = check_key(f"\n{KEY}\n")

    assert checked.value == KEY
    assert [notice.message for notice in checked.notices] == [
        "Key started or ended with line breaks, now trimmed."
    ]


def test_check_key_names_spaces_and_line_breaks() -> None:
    checked = check_key(f"{KEY} \r\n")

    assert [notice.message for notice in checked.notices] == [
        "Key started or ended with line breaks and spaces, now trimmed."
    ]


def test_check_key_counts_position_after_trimming() -> None:
    checked = check_key("   ab\u00a0cd")

    assert "at position 3 of 5" in checked.errors[0].message


def test_check_key_reports_only_first_bad_character() -> None:
    checked = check_key("a\u201cb\u201dc")

    assert len(checked.errors) == 1
    assert "position 2" in checked.errors[0].message


def test_check_key_reports_length_and_character() -> None:
    checked = check_key("\u200b" + "k" * 600)

    messages = [error.message for error in checked.errors]
    assert any("Key has 601 characters" in message for message in messages)
    assert any("U+200B" in message for message in messages)


def test_check_key_messages_never_contain_key() -> None:
    for raw in (f" {KEY} ", f"{KEY}\u201c", KEY * 30, f"{KEY}\x00"):
        checked = check_key(raw)
        for result in [*checked.errors, *checked.notices]:
            assert KEY not in result.message
            assert result.member_names == ("Key",)


@pytest.mark.parametrize("placeholder", ["<client secret value>", " <secret> "])
def test_check_key_refuses_placeholder_in_brackets(placeholder: str) -> None:
    checked = check_key(placeholder)

    assert [error.message for error in checked.errors] == [
        "Key is enclosed in angle brackets, like the placeholder of an example; paste the "
        "client secret's Value itself, without the brackets."
    ]


def test_check_key_accepts_brackets_inside_value() -> None:
    assert check_key("a<b>c~Q8").errors == []


def test_check_client_id_refuses_placeholder_in_brackets() -> None:
    checked = check_client_id("<application (client) id>")

    assert checked.errors[0].member_names == ("ClientId",)
    assert checked.errors[0].message.startswith(
        "ClientId '<application (client) id>' is the placeholder of an example;"
    )


@pytest.mark.parametrize(
    ("authority", "loopback_http", "suggestion"),
    [
        ("127.0.0.1:9000", True, "'http://127.0.0.1:9000'"),
        ("127.0.0.1:9000", False, "'https://127.0.0.1:9000'"),
        (
            "login.microsoftonline.com/contoso.onmicrosoft.com",
            True,
            "'https://login.microsoftonline.com/contoso.onmicrosoft.com'",
        ),
    ],
)
def test_check_authority_without_scheme_suggests_one(
    authority: str, loopback_http: bool, suggestion: str
) -> None:
    checked = check_authority(authority, allow_loopback_http=loopback_http)

    assert [error.message for error in checked.errors] == [
        f"Authority {authority!r} is not an absolute https URL; send {suggestion}."
    ]


def test_check_client_id_shows_trimmed_value() -> None:
    checked = check_client_id(" app-id ")

    assert checked.value == "app-id"
    assert checked.notices[0].message.endswith("the value used is 'app-id'.")


@pytest.mark.parametrize(
    ("character", "expected"),
    [
        ("\u201c", "U+201C (LEFT DOUBLE QUOTATION MARK), a typographic quote"),
        ("\u200b", "U+200B (ZERO WIDTH SPACE), an invisible zero-width character"),
        ("\u00a0", "U+00A0 (NO-BREAK SPACE), a non-breaking space"),
        ("\x1b", "U+001B, a control character"),
        ("\u2003", "U+2003 (EM SPACE), a space other than the ASCII space"),
        ("\u00fc", "U+00FC (LATIN SMALL LETTER U WITH DIAERESIS), a character outside"),
    ],
)
def test_describe_character(character: str, expected: str) -> None:
    assert describe_character(character).startswith(expected)


@pytest.mark.parametrize(
    "authority",
    [
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        "https://login.windows.net/contoso.onmicrosoft.com",
        "https://idp.contoso.test./realm",
        "https://203.0.113.10:8443/",
        "https://[2001:db8::1]/",
    ],
)
def test_check_authority_accepts(authority: str) -> None:
    assert check_authority(authority, allow_loopback_http=False).errors == []


@pytest.mark.parametrize(
    "authority", ["http://127.0.0.1:5000", "http://[::1]/", "http://localhost"]
)
def test_check_authority_loopback_http_needs_flag(authority: str) -> None:
    refused = check_authority(authority, allow_loopback_http=False)
    allowed = check_authority(authority, allow_loopback_http=True)

    assert "HATCHWAY_INSECURE_LOOPBACK_IDP=true" in refused.errors[0].message
    assert allowed.errors == []


def test_check_authority_http_elsewhere_refused_with_flag() -> None:
    checked = check_authority("http://10.0.0.5/realm", allow_loopback_http=True)

    assert "uses http" in checked.errors[0].message


def test_oauth2_input_keeps_stored_values() -> None:
    stored = _stored(
        authority="https://idp.contoso.test",
        client_id="app",
        key_sealed="f1:sealed",
        key_expires_on=date(2031, 1, 1),
    )

    values = check_oauth2_input(OAuth2Input(), stored, allow_loopback_http=False)

    assert (values.authority, values.client_id, values.key) == (
        "https://idp.contoso.test",
        "app",
        None,
    )
    assert values.key_expires_on == date(2031, 1, 1)


def test_oauth2_input_new_key_forgets_old_expiry() -> None:
    stored = _stored(
        authority="https://idp.contoso.test",
        client_id="app",
        key_sealed="f1:sealed",
        key_expires_on=date(2031, 1, 1),
    )

    values = check_oauth2_input(OAuth2Input(key="new"), stored, allow_loopback_http=False)

    assert values.key == "new"
    assert values.key_expires_on is None


def test_oauth2_input_collects_every_error() -> None:
    change = OAuth2Input(authority="ftp://x", client_id="", key="\u201c")

    with pytest.raises(ValidationFailed) as raised:
        check_oauth2_input(change, _stored(), allow_loopback_http=False)

    members = [result.member_names for result in raised.value.results]
    assert members == [("Authority",), ("ClientId",), ("Key",)]
