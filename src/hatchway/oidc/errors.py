"""Why a sign-in through the identity provider failed, in words an administrator can act on."""

from __future__ import annotations

import enum


class SignInFailure(enum.StrEnum):
    SETTINGS_INCOMPLETE = "settings_incomplete"
    DISCOVERY_FAILED = "discovery_failed"
    PROVIDER_ERROR = "provider_error"
    ATTEMPT_UNKNOWN = "attempt_unknown"
    STATE_MISMATCH = "state_mismatch"
    ISSUER_MISMATCH = "issuer_mismatch"
    TOKEN_EXCHANGE_FAILED = "token_exchange_failed"  # noqa: S105 (a reason, not a secret)
    CLIENT_REJECTED = "client_rejected"
    ID_TOKEN_INVALID = "id_token_invalid"  # noqa: S105 (a reason, not a secret)
    CLAIM_MISSING = "claim_missing"
    EMAIL_UNVERIFIED = "email_unverified"
    USER_INACTIVE = "user_inactive"
    ENVIRONMENT_INACTIVE = "environment_inactive"


class SignInError(Exception):
    """A sign-in that cannot complete; `message` names the problem, `hint` the next step."""

    def __init__(self, reason: SignInFailure, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.hint = hint


class ProviderError(Exception):
    """The identity provider could not be reached or sent something unusable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
