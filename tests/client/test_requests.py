"""The exact requests HatchwayClient sends, and how it reads answers, through httpx.MockTransport.

Tests marked `stub_endpoint` read bodies of endpoints that this branch of Hatchway does not
serve yet (Verify, History, Restore, EmergencyAccess, AuditLog), in the shapes the contract
fixes; test_live_endpoints.py runs the same calls against Hatchway once it serves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from hatchway.client import (
    Delivery,
    HatchwayApiError,
    HatchwayClient,
    HatchwayUnreachable,
    provisioning_base_url,
)
from tests.support import contract_samples as samples
from tests.support.hatchway import PROVISIONING_KEY

BASE = "https://portal.example.com"


class Recorder:
    """A MockTransport handler that records each request and answers with one response."""

    def __init__(
        self, body: Any = None, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body, headers=self.headers)

    @property
    def request(self) -> httpx.Request:
        assert len(self.requests) == 1
        return self.requests[0]

    def sent_json(self) -> Any:
        return json.loads(self.request.content) if self.request.content else None


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> HatchwayClient:
    return HatchwayClient(BASE, PROVISIONING_KEY, transport=httpx.MockTransport(handler))


USER = {
    "Id": 5,
    "EmailAddress": "bo@contoso.test",
    "FirstName": "Bo",
    "LastName": "User",
    "IsAdministrator": False,
    "IsActive": True,
    "HasPassword": False,
    "BoundToIdentityProvider": False,
    "CreatedOn": "2025-03-01T09:30:00Z",
    "LastSignInOn": None,
}


# Base URL and headers


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://portal.example.com", "https://portal.example.com/Provisioning"),
        ("https://portal.example.com/", "https://portal.example.com/Provisioning"),
        ("https://portal.example.com/Provisioning/", "https://portal.example.com/Provisioning"),
        ("https://portal.example.com/provisioning", "https://portal.example.com/provisioning"),
        ("https://example.com/portal", "https://example.com/portal/Provisioning"),
        (" http://127.0.0.1:8000 ", "http://127.0.0.1:8000/Provisioning"),
    ],
)
def test_base_url_forms(given: str, expected: str) -> None:
    assert provisioning_base_url(given) == expected


@pytest.mark.parametrize(
    "given", ["portal.example.com", "ftp://portal.example.com", "https://portal.example.com?x=1"]
)
def test_base_url_rejects_non_http_url(given: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        provisioning_base_url(given)


def test_request_carries_provisioning_key_header() -> None:
    recorder = Recorder([])

    _client(recorder).list_environments()

    assert recorder.request.headers["ProvisioningKey"] == PROVISIONING_KEY
    assert recorder.request.url == f"{BASE}/Provisioning/Environment"


def test_provisioning_key_with_line_break_rejected() -> None:
    with pytest.raises(ValueError, match="outside printable ASCII") as failure:
        HatchwayClient(BASE, "5C1B7E2A\n-0D4F")

    assert "5C1B7E2A" not in str(failure.value)


def test_provisioning_key_error_names_character() -> None:
    with pytest.raises(ValueError) as failure:
        HatchwayClient(BASE, f"\u201c{PROVISIONING_KEY}\u201d")

    message = str(failure.value)
    assert "U+201C (LEFT DOUBLE QUOTATION MARK) at position 1 of 38" in message
    assert PROVISIONING_KEY not in message


def test_environment_name_stays_one_path_segment() -> None:
    recorder = Recorder([])

    _client(recorder).list_users("../Environment")

    assert recorder.request.url.raw_path == b"/Provisioning/..%2FEnvironment/User"


# Request shapes


def test_create_environment_mailing_password_sends_version() -> None:
    recorder = Recorder("contoso")

    _client(recorder).create_environment_mailing_password(
        "contoso", email_address="admin@contoso.test", first_name="Ada", last_name="Admin"
    )

    assert recorder.request.url.params["version"] == "2.0"
    assert recorder.sent_json() == {
        "EnvironmentName": "contoso",
        "EmailAddress": "admin@contoso.test",
        "FirstName": "Ada",
        "LastName": "Admin",
    }


def test_update_user_by_email_sends_it_in_body() -> None:
    recorder = Recorder(USER)

    _client(recorder).update_user("contoso", "bo@contoso.test", is_active=False)

    assert recorder.request.method == "PUT"
    assert recorder.request.url.path == "/Provisioning/contoso/User"
    assert recorder.sent_json() == {"EmailAddress": "bo@contoso.test", "IsActive": False}


def test_delete_user_by_email_uses_query() -> None:
    recorder = Recorder(USER)

    _client(recorder).delete_user("contoso", "bo@contoso.test")

    assert recorder.request.method == "DELETE"
    assert recorder.request.url.params["EmailAddress"] == "bo@contoso.test"
    assert recorder.request.content == b""


def test_set_oauth2_sends_only_given_values() -> None:
    recorder = Recorder(samples.SETTINGS_VIEW)

    _client(recorder).set_oauth2("contoso", key="new-secret-value")

    assert recorder.sent_json() == {"Key": "new-secret-value"}
    assert "verify" not in recorder.request.url.params
    assert "If-Match" not in recorder.request.headers


def test_set_oauth2_without_verification_sends_query() -> None:
    recorder = Recorder(samples.SETTINGS_VIEW)

    _client(recorder).set_oauth2(
        "contoso",
        authority=samples.AUTHORITY,
        client_id=samples.CLIENT_ID,
        key="new-secret-value",
        key_expires_on=date(2026, 3, 1),
        verify=False,
    )

    assert recorder.request.url.params["verify"] == "false"
    assert recorder.sent_json()["KeyExpiresOn"] == "2026-03-01"


@pytest.mark.parametrize(("given", "sent"), [("3", '"3"'), ('"3"', '"3"'), ("*", "*")])
def test_if_match_accepts_version_number(given: str, sent: str) -> None:
    recorder = Recorder(samples.SETTINGS_VIEW)

    _client(recorder).disable_oauth2("contoso", if_match=given)

    assert recorder.request.headers["If-Match"] == sent


def test_etag_read_from_response_header() -> None:
    recorder = Recorder(samples.SETTINGS_VIEW, headers={"ETag": '"3"'})

    settings = _client(recorder).get_sso_settings("contoso")

    assert settings.etag == '"3"'
    assert settings.key_expires_on == date(2026, 3, 1)


# Errors


def test_error_scrubs_key_sent_in_request() -> None:
    echoed = [{"MemberNames": ["Key"], "ErrorMessage": "Key 'canary-secret-1' is wrong."}]
    recorder = Recorder(echoed, status=400)

    with pytest.raises(HatchwayApiError) as failure:
        _client(recorder).set_oauth2("contoso", key="canary-secret-1")

    assert failure.value.results[0].error_message == "Key '[redacted]' is wrong."
    assert "canary-secret-1" not in json.dumps(failure.value.body)


def test_error_scrubs_provisioning_key() -> None:
    echoed = {"Error": "ProvisioningKeyInvalid", "Message": f"Key {PROVISIONING_KEY} unknown."}
    recorder = Recorder(echoed, status=403)

    with pytest.raises(HatchwayApiError) as failure:
        _client(recorder).list_environments()

    assert failure.value.message == "Key [redacted] unknown."


def test_error_reads_retry_after() -> None:
    problem = {"Error": "TooManyRequests", "Message": "Too many requests; wait."}
    recorder = Recorder(problem, status=429, headers={"Retry-After": "30"})

    with pytest.raises(HatchwayApiError) as failure:
        _client(recorder).list_environments()

    assert failure.value.retry_after == 30
    assert failure.value.error == "TooManyRequests"


def test_error_without_json_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with pytest.raises(HatchwayApiError) as failure:
        _client(handler).list_environments()

    assert failure.value.status == 502
    assert failure.value.message == "Hatchway answered 502 Bad Gateway without a JSON body."


def test_redirect_not_followed() -> None:
    recorder = Recorder(None, status=307, headers={"Location": "https://elsewhere.example/x"})

    with pytest.raises(HatchwayApiError) as failure:
        _client(recorder).list_environments()

    assert failure.value.error == "Redirect"
    assert "https://elsewhere.example/x" in failure.value.message
    assert len(recorder.requests) == 1


def test_unexpected_shape_is_api_error() -> None:
    recorder = Recorder({"Name": "contoso"})

    with pytest.raises(HatchwayApiError) as failure:
        _client(recorder).get_environment("contoso")

    assert failure.value.error == "UnexpectedResponse"
    assert "has no member 'EnvironmentName'" in failure.value.message


def test_timeout_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(HatchwayUnreachable) as failure:
        _client(handler).list_environments()

    assert failure.value.timed_out is True
    assert "no answer within 30 s" in str(failure.value)


# Endpoints this branch does not serve yet


@pytest.mark.stub_endpoint
def test_verify_without_values_sends_empty_object() -> None:
    recorder = Recorder(samples.verification(passed=True))

    _client(recorder).verify_oauth2("contoso")

    assert recorder.request.url.path == "/Provisioning/contoso/SingleSignOnSettings/OAuth2/Verify"
    assert recorder.sent_json() == {}


@pytest.mark.stub_endpoint
def test_verify_reads_checks() -> None:
    recorder = Recorder(samples.verification(passed=False))

    result = _client(recorder).verify_oauth2("contoso", key="new-secret-value")

    assert result.passed is False
    assert result.tenant_id == samples.TENANT_ID
    assert [check.name for check in result.checks if not check.passed] == ["ClientCredentials"]
    assert result.notices[0].member_names == ("Authority",)


@pytest.mark.stub_endpoint
def test_set_oauth2_reads_verification_and_warnings() -> None:
    body = {
        **samples.SETTINGS_VIEW,
        "Changed": True,
        "Notices": [],
        "Warnings": [{"MemberNames": ["Key"], "ErrorMessage": "The Key was refused."}],
        "Verification": samples.verification(passed=False),
    }
    recorder = Recorder(body)

    change = _client(recorder).set_oauth2("contoso", key="new-secret-value", verify=False)

    assert change.verification is not None
    assert change.verification.passed is False
    assert [str(warning) for warning in change.warnings] == ["Key: The Key was refused."]


@pytest.mark.stub_endpoint
def test_history_reads_versions() -> None:
    recorder = Recorder(samples.HISTORY)

    versions = _client(recorder).sso_history("contoso")

    assert [version.version for version in versions] == [2, 1]
    assert versions[0].verification_skipped is True
    assert versions[1].is_last_known_good is True
    assert versions[1].client_address is None


@pytest.mark.stub_endpoint
def test_restore_posts_to_version_path() -> None:
    recorder = Recorder(samples.SETTINGS_VIEW)

    change = _client(recorder).restore_sso_version("contoso", 1, if_match="3")

    assert recorder.request.method == "POST"
    assert recorder.request.url.path == (
        "/Provisioning/contoso/SingleSignOnSettings/History/1/Restore"
    )
    assert recorder.request.headers["If-Match"] == '"3"'
    assert change.settings.version == 3


@pytest.mark.stub_endpoint
def test_restore_reads_verification_and_warnings() -> None:
    warnings = [{"MemberNames": ["Key"], "ErrorMessage": "The token endpoint refused the Key."}]
    body = {
        **samples.SETTINGS_VIEW,
        "Changed": True,
        "Verification": samples.verification(passed=False),
        "Warnings": warnings,
    }
    recorder = Recorder(body)

    change = _client(recorder).restore_sso_version("contoso", 1)

    assert change.verification is not None
    assert change.verification.passed is False
    assert [warning.error_message for warning in change.warnings] == [
        "The token endpoint refused the Key."
    ]


@pytest.mark.stub_endpoint
def test_emergency_request_reads_url() -> None:
    recorder = Recorder(samples.EMERGENCY_GRANT)

    grant = _client(recorder).request_emergency_access(
        "contoso", "admin@contoso.test", delivery=Delivery.RESPONSE
    )

    assert recorder.sent_json() == {"EmailAddress": "admin@contoso.test", "Delivery": "Response"}
    assert grant.url == samples.ONE_TIME_URL
    assert samples.ONE_TIME_URL not in repr(grant)


@pytest.mark.stub_endpoint
def test_emergency_list_reads_delivery_status() -> None:
    recorder = Recorder(samples.EMERGENCY_REQUESTS)

    requests = _client(recorder).list_emergency_requests("contoso")

    assert requests[0].delivery_status == "Retrying"
    assert requests[0].attempts == 2
    assert requests[0].last_reply == "451 4.3.0 Mailbox temporarily unavailable"


@pytest.mark.stub_endpoint
def test_audit_log_sends_filters() -> None:
    recorder = Recorder({"Records": [samples.audit_record(9)], "NextBefore": 9})

    page = _client(recorder).audit_log("contoso", limit=1, before=10, action="sso.update")

    assert dict(recorder.request.url.params) == {
        "limit": "1",
        "before": "10",
        "action": "sso.update",
    }
    assert page.next_before == 9
    assert page.records[0].after == {"Mode": "OAuth2", "Key": "[redacted]"}


@pytest.mark.stub_endpoint
def test_iter_audit_records_follows_pages() -> None:
    pages = {
        None: {"Records": [samples.audit_record(3), samples.audit_record(2)], "NextBefore": 2},
        "2": {"Records": [samples.audit_record(1)], "NextBefore": None},
    }
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        before = request.url.params.get("before")
        seen.append(before)
        return httpx.Response(200, json=pages[before])

    records = list(_client(handler).iter_audit_records("contoso", page_size=2))

    assert [record.id for record in records] == [3, 2, 1]
    assert seen == [None, "2"]
