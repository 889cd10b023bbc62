"""Response bodies of Provisioning API calls, in the shapes the contract fixes.

Tests of the client and of the client commands serve these from a stand-in for the endpoints
that this branch of Hatchway does not serve yet: Verify, History, Restore, EmergencyAccess and
AuditLog.
"""

from __future__ import annotations

from typing import Any

TENANT_ID = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
CLIENT_ID = "3f2a9c4e-8b1d-4e6f-a7c2-5d9e0b1f4a68"
REDIRECT_URI = "https://portal.example.com/contoso/OAuth2/HandleAuthorityResponse"
ONE_TIME_URL = (
    "https://portal.example.com/contoso/AdminPage/EmergencyAccess?token=sample-token-8d2f"
)

SETTINGS_VIEW: dict[str, Any] = {
    "Mode": "OAuth2",
    "Authority": AUTHORITY,
    "ClientId": CLIENT_ID,
    "KeySet": True,
    "KeyUpdatedOn": "2025-03-01T09:30:00Z",
    "KeyExpiresOn": "2026-03-01",
    "KeyDaysLeft": 300,
    "Version": 3,
    "UpdatedOn": "2025-03-02T10:00:00Z",
    "LastKnownGoodVersion": 1,
    "RedirectUri": REDIRECT_URI,
}


def verification(*, passed: bool) -> dict[str, Any]:
    """A verification whose ClientCredentials check fails unless `passed`."""
    return {
        "Passed": passed,
        "Authority": AUTHORITY,
        "TenantId": TENANT_ID,
        "RedirectUri": REDIRECT_URI,
        "Checks": [
            {"Name": "Authority", "Passed": True, "Message": "Authority is a v2.0 endpoint."},
            {"Name": "KeyFormat", "Passed": True, "Message": "Key looks like a secret value."},
            {"Name": "Discovery", "Passed": True, "Message": "Discovery document fetched."},
            {"Name": "Jwks", "Passed": True, "Message": "Signing keys fetched."},
            {
                "Name": "ClientCredentials",
                "Passed": passed,
                "Message": "The token endpoint accepted the credentials."
                if passed
                else "The token endpoint refused the Key (AADSTS7000215): paste the secret's "
                "Value, not its Secret ID.",
            },
            {"Name": "RedirectUri", "Passed": True, "Message": f"Register {REDIRECT_URI}."},
        ],
        "Notices": [{"MemberNames": ["Authority"], "ErrorMessage": "Authority was normalized."}],
    }


GUID_KEY_NOTICE = (
    "Key is shaped like a GUID, as a client secret's Secret ID is; the Key must be the "
    "secret's Value."
)


def verification_discovery_failed() -> dict[str, Any]:
    """A verification whose Discovery check failed, so that Jwks and ClientCredentials did
    not run. The server reports them as not passed, with a message that starts 'Not checked'."""
    body = verification(passed=False)
    body["Checks"][2:5] = [
        {
            "Name": "Discovery",
            "Passed": False,
            "Message": "The discovery document could not be fetched.",
        },
        {
            "Name": "Jwks",
            "Passed": False,
            "Message": "Not checked, because the Discovery check failed.",
        },
        {
            "Name": "ClientCredentials",
            "Passed": False,
            "Message": "Not checked, because the Discovery check failed.",
        },
    ]
    return body


def verification_guid_key() -> dict[str, Any]:
    """A passed verification whose KeyFormat check repeats the notice about a GUID-shaped Key."""
    body = verification(passed=True)
    body["Checks"][1] = {"Name": "KeyFormat", "Passed": True, "Message": GUID_KEY_NOTICE}
    body["Notices"] = [{"MemberNames": ["Key"], "ErrorMessage": GUID_KEY_NOTICE}]
    return body


HISTORY: list[dict[str, Any]] = [
    {
        "Version": 2,
        "CreatedOn": "2025-03-02T10:00:00Z",
        "ActorType": "ProvisioningKey",
        "Actor": "provisioning-key-1",
        "ClientAddress": "192.0.2.10",
        "Mode": "OAuth2",
        "Authority": AUTHORITY,
        "ClientId": CLIENT_ID,
        "KeyFingerprint": "sha256:ab12cd34",
        "KeyExpiresOn": "2026-03-01",
        "Changes": {"Authority": {"From": None, "To": AUTHORITY}},
        "VerificationSkipped": True,
        "RestoredFrom": None,
        "IsCurrent": True,
        "IsLastKnownGood": False,
    },
    {
        "Version": 1,
        "CreatedOn": "2025-03-01T09:30:00Z",
        "ActorType": "Administrator",
        "Actor": "admin@contoso.test",
        "ClientAddress": None,
        "Mode": "OAuth2",
        "Authority": AUTHORITY,
        "ClientId": CLIENT_ID,
        "KeyFingerprint": "sha256:99ee88ff",
        "KeyExpiresOn": None,
        "Changes": {},
        "VerificationSkipped": False,
        "RestoredFrom": None,
        "IsCurrent": False,
        "IsLastKnownGood": True,
    },
]

EMERGENCY_GRANT: dict[str, Any] = {
    "RequestId": 7,
    "Delivery": "Response",
    "ExpiresOn": "2025-03-02T10:15:00Z",
    "DeliveryStatus": "NotMailed",
    "Url": ONE_TIME_URL,
}

EMERGENCY_REQUESTS: list[dict[str, Any]] = [
    {
        "RequestId": 7,
        "RequestedOn": "2025-03-02T10:00:00Z",
        "Channel": "ProvisioningApi",
        "Delivery": "Email",
        "EmailAddress": "admin@contoso.test",
        "DeliveryStatus": "Retrying",
        "Attempts": 2,
        "LastReply": "451 4.3.0 Mailbox temporarily unavailable",
        "SentOn": None,
        "ExpiresOn": "2025-03-02T10:15:00Z",
        "RedeemedOn": None,
    }
]


def audit_record(record_id: int, action: str = "sso.update") -> dict[str, Any]:
    return {
        "Id": record_id,
        "OccurredOn": "2025-03-02T10:00:00Z",
        "ActorType": "ProvisioningKey",
        "Actor": "provisioning-key-1",
        "ClientAddress": "192.0.2.10",
        "Action": action,
        "Target": "contoso",
        "Outcome": "success",
        "Before": {"Mode": "None"},
        "After": {"Mode": "OAuth2", "Key": "[redacted]"},
        "Detail": None,
    }
