"""A typed client of Hatchway's Provisioning API, for scripts and for the hatchway command.

    from hatchway.client import HatchwayClient, HatchwayApiError

    with HatchwayClient("https://portal.example.com", provisioning_key) as client:
        try:
            change = client.set_oauth2(
                "contoso", authority=authority, client_id=client_id, key=client_secret
            )
        except HatchwayApiError as error:
            for result in error.results:
                print(result.member_names, result.error_message)

Errors:

    HatchwayClientError          base of both
    ├── HatchwayApiError         Hatchway answered with an error status; `status`, `results`
    │                            (the validation results of a 400), `error` and `message`
    │                            (the problem body of other statuses), `body`, `retry_after`
    └── HatchwayUnreachable      no answer (connection refused, DNS, TLS, timeout); `url`,
                                 `reason`, `timed_out`

Neither the Provisioning Key nor a Key or password sent in the failed call appears in an
error's message or repr, nor in the client's repr.
"""

from __future__ import annotations

from hatchway.client._client import HatchwayClient
from hatchway.client._connection import (
    DEFAULT_TIMEOUT_SECONDS,
    PROVISIONING_KEY_HEADER,
    check_provisioning_key,
    provisioning_base_url,
)
from hatchway.client._errors import (
    HatchwayApiError,
    HatchwayClientError,
    HatchwayUnreachable,
    ValidationResult,
)
from hatchway.client._models import (
    AuditPage,
    AuditRecord,
    CheckOutcome,
    Delivery,
    EmergencyAccessGrant,
    EmergencyRequest,
    Environment,
    RecordId,
    SsoSettings,
    SsoSettingsChange,
    SsoVersion,
    User,
    Verification,
    VerificationCheck,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "PROVISIONING_KEY_HEADER",
    "AuditPage",
    "AuditRecord",
    "CheckOutcome",
    "Delivery",
    "EmergencyAccessGrant",
    "EmergencyRequest",
    "Environment",
    "HatchwayApiError",
    "HatchwayClient",
    "HatchwayClientError",
    "HatchwayUnreachable",
    "RecordId",
    "SsoSettings",
    "SsoSettingsChange",
    "SsoVersion",
    "User",
    "ValidationResult",
    "Verification",
    "VerificationCheck",
    "check_provisioning_key",
    "provisioning_base_url",
]
