"""Typed records of the Provisioning API's responses.

Every record keeps the parsed JSON body it was read from in `raw`, with the server's PascalCase
member names, so that a caller can pass on exactly what Hatchway sent (`hatchway ... --json`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hatchway.client._errors import ValidationResult
from hatchway.client._reader import Json, Reader

RecordId = int | str


class Delivery(enum.StrEnum):
    """The delivery channel of a one-time emergency sign-in link."""

    EMAIL = "Email"
    RESPONSE = "Response"


@dataclass(frozen=True)
class Environment:
    name: str
    is_active: bool
    created_on: datetime
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> Environment:
        reader = Reader(data, "Environment")
        return cls(
            name=reader.text("EnvironmentName"),
            is_active=reader.flag("IsActive"),
            created_on=reader.timestamp("CreatedOn"),
            raw=data,
        )


@dataclass(frozen=True)
class User:
    id: int
    email_address: str
    first_name: str
    last_name: str
    is_administrator: bool
    is_active: bool
    has_password: bool
    bound_to_identity_provider: bool
    created_on: datetime
    last_sign_in_on: datetime | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> User:
        reader = Reader(data, "User")
        return cls(
            id=reader.number("Id"),
            email_address=reader.text("EmailAddress"),
            first_name=reader.text("FirstName"),
            last_name=reader.text("LastName"),
            is_administrator=reader.flag("IsAdministrator"),
            is_active=reader.flag("IsActive"),
            has_password=reader.flag("HasPassword"),
            bound_to_identity_provider=reader.flag("BoundToIdentityProvider"),
            created_on=reader.timestamp("CreatedOn"),
            last_sign_in_on=reader.optional_timestamp("LastSignInOn"),
            raw=data,
        )


@dataclass(frozen=True)
class SsoSettings:
    """An environment's SSO settings as GET shows them: the Key only as `key_set`.

    `etag` is the ETag header of the response. Pass it as `if_match` to a later change, so
    that the change fails with 412 when someone else changed the settings in between.
    """

    mode: str
    authority: str | None
    client_id: str | None
    key_set: bool
    key_updated_on: datetime | None
    key_expires_on: date | None
    key_days_left: int | None
    version: int
    updated_on: datetime
    last_known_good_version: int | None
    redirect_uri: str
    etag: str | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json, etag: str | None = None) -> SsoSettings:
        reader = Reader(data, "SingleSignOnSettings")
        return cls(
            mode=reader.text("Mode"),
            authority=reader.optional_text("Authority"),
            client_id=reader.optional_text("ClientId"),
            key_set=reader.flag("KeySet"),
            key_updated_on=reader.optional_timestamp("KeyUpdatedOn"),
            key_expires_on=reader.optional_date("KeyExpiresOn"),
            key_days_left=reader.optional_number("KeyDaysLeft"),
            version=reader.number("Version"),
            updated_on=reader.timestamp("UpdatedOn"),
            last_known_good_version=reader.optional_number("LastKnownGoodVersion"),
            redirect_uri=reader.text("RedirectUri"),
            etag=etag,
            raw=data,
        )


class CheckOutcome(enum.StrEnum):
    """The outcome of one verification check."""

    PASSED = "Passed"
    WARNING = "Warning"
    FAILED = "Failed"
    NOT_CHECKED = "NotChecked"


# Servers older than the `Outcome` field report a check only with `Passed` and a sentence. For
# them, a check that did not run has `Passed: false` and a message that starts with these words,
# and a check that passed with a warning repeats one of the verification's `Notices`.
NOT_CHECKED_PREFIX = "Not checked, because"


@dataclass(frozen=True)
class VerificationCheck:
    """One check of a verification, named Authority, KeyFormat, Discovery, Jwks,
    ClientCredentials or RedirectUri."""

    name: str
    passed: bool
    message: str
    outcome: CheckOutcome

    @classmethod
    def from_json(cls, data: Json, warnings: frozenset[str] = frozenset()) -> VerificationCheck:
        """Read one check; `warnings` are the notice sentences that mark a passed check."""
        reader = Reader(data, "Check")
        passed = reader.flag("Passed")
        message = reader.text("Message")
        reported = data.get("Outcome")
        if reported in CheckOutcome.__members__.values():
            outcome = CheckOutcome(reported)
        else:
            outcome = _outcome_from_wording(passed, message, warnings)
        return cls(reader.text("Name"), passed, message, outcome)


def _outcome_from_wording(passed: bool, message: str, warnings: frozenset[str]) -> CheckOutcome:
    if passed:
        return CheckOutcome.WARNING if message in warnings else CheckOutcome.PASSED
    if message.startswith(NOT_CHECKED_PREFIX):
        return CheckOutcome.NOT_CHECKED
    return CheckOutcome.FAILED


@dataclass(frozen=True)
class Verification:
    """The outcome of checking SSO settings against the identity provider."""

    passed: bool
    authority: str
    tenant_id: str | None
    redirect_uri: str
    checks: tuple[VerificationCheck, ...]
    notices: tuple[ValidationResult, ...]
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> Verification:
        reader = Reader(data, "Verification")
        notices = reader.results("Notices")
        warnings = frozenset(notice.error_message for notice in notices)
        return cls(
            passed=reader.flag("Passed"),
            authority=reader.text("Authority"),
            tenant_id=reader.optional_text("TenantId"),
            redirect_uri=reader.text("RedirectUri"),
            checks=tuple(
                VerificationCheck.from_json(item, warnings) for item in reader.items("Checks")
            ),
            notices=notices,
            raw=data,
        )

    def failed_checks(self) -> list[VerificationCheck]:
        """Return the checks that ran and failed, without those that did not run."""
        return [check for check in self.checks if check.outcome is CheckOutcome.FAILED]


@dataclass(frozen=True)
class SsoSettingsChange:
    """The response to a PUT of OAuth2 settings or to a restore of a version.

    `changed` is False when the values sent (or restored) equal the stored ones. `notices` says
    what Hatchway adjusted (whitespace trimmed, Authority normalized). `verification` is the
    outcome of the checks when the server ran them, and `warnings` the failed checks of a
    change saved anyway: without verification, or a restore that Hatchway allowed because an
    administrator has a password.
    """

    settings: SsoSettings
    changed: bool
    notices: tuple[ValidationResult, ...]
    warnings: tuple[ValidationResult, ...]
    verification: Verification | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json, etag: str | None = None) -> SsoSettingsChange:
        reader = Reader(data, "SingleSignOnSettings")
        verification = reader.mapping("Verification")
        return cls(
            settings=SsoSettings.from_json(data, etag),
            changed=reader.optional_flag("Changed", default=True),
            notices=reader.results("Notices"),
            warnings=reader.results("Warnings"),
            verification=Verification.from_json(verification) if verification else None,
            raw=data,
        )


@dataclass(frozen=True)
class SsoVersion:
    """One version of an environment's SSO settings, with the Key only as its fingerprint."""

    version: int
    created_on: datetime
    actor_type: str
    actor: str
    client_address: str | None
    mode: str
    authority: str | None
    client_id: str | None
    key_fingerprint: str | None
    key_expires_on: date | None
    changes: Json
    verification_skipped: bool
    restored_from: int | None
    is_current: bool
    is_last_known_good: bool
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> SsoVersion:
        reader = Reader(data, "Version")
        return cls(
            version=reader.number("Version"),
            created_on=reader.timestamp("CreatedOn"),
            actor_type=reader.text("ActorType"),
            actor=reader.text("Actor"),
            client_address=reader.optional_text("ClientAddress"),
            mode=reader.text("Mode"),
            authority=reader.optional_text("Authority"),
            client_id=reader.optional_text("ClientId"),
            key_fingerprint=reader.optional_text("KeyFingerprint"),
            key_expires_on=reader.optional_date("KeyExpiresOn"),
            changes=reader.data.get("Changes"),
            verification_skipped=reader.optional_flag("VerificationSkipped"),
            restored_from=reader.optional_number("RestoredFrom"),
            is_current=reader.optional_flag("IsCurrent"),
            is_last_known_good=reader.optional_flag("IsLastKnownGood"),
            raw=data,
        )


@dataclass(frozen=True)
class EmergencyAccessGrant:
    """The response to an emergency access request.

    `url` is the one-time sign-in link, present only for `Delivery.RESPONSE`. Whoever holds it
    can sign in as the administrator once, so it is left out of the repr.
    """

    request_id: RecordId
    delivery: str
    expires_on: datetime | None
    delivery_status: str
    url: str | None = field(repr=False)
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> EmergencyAccessGrant:
        reader = Reader(data, "EmergencyAccess")
        return cls(
            request_id=reader.identifier("RequestId"),
            delivery=reader.text("Delivery"),
            expires_on=reader.optional_timestamp("ExpiresOn"),
            delivery_status=reader.text("DeliveryStatus"),
            url=reader.optional_text("Url"),
            raw=data,
        )


@dataclass(frozen=True)
class EmergencyRequest:
    """One emergency access request and what became of its delivery."""

    request_id: RecordId
    requested_on: datetime
    channel: str | None
    delivery: str
    email_address: str | None
    delivery_status: str
    attempts: int
    last_reply: str | None
    sent_on: datetime | None
    expires_on: datetime | None
    redeemed_on: datetime | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> EmergencyRequest:
        reader = Reader(data, "EmergencyRequest")
        return cls(
            request_id=reader.identifier("RequestId"),
            requested_on=reader.timestamp("RequestedOn"),
            channel=reader.optional_text("Channel"),
            delivery=reader.text("Delivery"),
            email_address=reader.optional_text("EmailAddress"),
            delivery_status=reader.text("DeliveryStatus"),
            attempts=reader.optional_number("Attempts") or 0,
            last_reply=reader.optional_text("LastReply"),
            sent_on=reader.optional_timestamp("SentOn"),
            expires_on=reader.optional_timestamp("ExpiresOn"),
            redeemed_on=reader.optional_timestamp("RedeemedOn"),
            raw=data,
        )


@dataclass(frozen=True)
class AuditRecord:
    """An audit record: who changed what, when and from where.

    Hatchway redacts secrets before it stores `before` and `after`.
    """

    id: RecordId
    occurred_on: datetime
    actor_type: str
    actor: str
    client_address: str | None
    action: str
    target: str | None
    outcome: str | None
    before: Json
    after: Json
    detail: str | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> AuditRecord:
        reader = Reader(data, "AuditRecord")
        return cls(
            id=reader.identifier("Id"),
            occurred_on=reader.timestamp("OccurredOn"),
            actor_type=reader.text("ActorType"),
            actor=reader.text("Actor"),
            client_address=reader.optional_text("ClientAddress"),
            action=reader.text("Action"),
            target=reader.optional_text("Target"),
            outcome=reader.optional_text("Outcome"),
            before=reader.data.get("Before"),
            after=reader.data.get("After"),
            detail=reader.optional_text("Detail"),
            raw=data,
        )


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first; pass `next_before` as `before` for the next."""

    records: tuple[AuditRecord, ...]
    next_before: RecordId | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> AuditPage:
        reader = Reader(data, "AuditLog")
        return cls(
            records=tuple(AuditRecord.from_json(item) for item in reader.items("Records")),
            next_before=reader.optional_identifier("NextBefore"),
            raw=data,
        )


def as_json_value(value: Any) -> Json:
    """Return a value as it goes into a request body: dates as ISO 8601 text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
