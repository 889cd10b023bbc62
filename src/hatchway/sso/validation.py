"""Static checks of a whole OAuth2 change, merged with the stored settings.

They run before anything is sent to the identity provider: missing values, the Authority's
normalization, Entra ID's Client ID rules, a Key that is really another value of the app
registration, the allowed tenants and the Key's expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from hatchway.db.models import SsoSettings
from hatchway.errors import ValidationFailed, ValidationResult
from hatchway.security.tokens import fingerprint
from hatchway.sso.authority import (
    EntraAuthority,
    TenantKind,
    check_entra_client_id,
    is_guid,
    normalize_authority,
)
from hatchway.sso.inputs import check_client_id, check_key


@dataclass(frozen=True)
class OAuth2Input:
    """The body of a PUT .../SingleSignOnSettings/OAuth2; None means 'not sent, keep stored'."""

    authority: str | None = None
    client_id: str | None = None
    key: str | None = field(default=None, repr=False)
    key_expires_on: date | None = None
    allowed_tenants: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OAuth2Values:
    """Checked values ready to verify or save; `key` is the clear Key or None to keep the stored.

    `entra` describes the Authority when it is a Microsoft Entra ID sign-in host.
    """

    authority: str
    client_id: str
    key: str | None = field(repr=False)
    key_expires_on: date | None
    notices: tuple[ValidationResult, ...] = ()
    allowed_tenants: tuple[str, ...] = ()
    entra: EntraAuthority | None = None


def _required(
    errors: list[ValidationResult], member: str, sent: str | None, kept: str | None, advice: str
) -> str | None:
    if sent is None and not kept:
        errors.append(ValidationResult((member,), f"{member} is missing; {advice}"))
    return sent


def check_allowed_tenants(raw: tuple[str, ...]) -> tuple[tuple[str, ...], list[ValidationResult]]:
    """Check that every allowed tenant is a Directory (tenant) ID; return them lower-cased."""
    tenants: list[str] = []
    errors: list[ValidationResult] = []
    for entry in raw:
        tenant = entry.strip().lower()
        if not is_guid(tenant):
            errors.append(
                ValidationResult(
                    ("AllowedTenants",),
                    f"AllowedTenants entry {entry!r} is not a Directory (tenant) ID; list "
                    "tenants by their GUID, which ID tokens carry in the 'tid' claim.",
                )
            )
        elif tenant not in tenants:
            tenants.append(tenant)
    return tuple(tenants), errors


def _check_key_mix_ups(
    key: str, client_id: str
) -> tuple[list[ValidationResult], list[ValidationResult]]:
    """Return errors and notices about a Key that is really another value of the app."""
    if key == client_id:
        error = ValidationResult(
            ("Key",),
            "Key is the same as the ClientId; paste the client secret's value instead (in Entra "
            "ID, from the app registration's 'Certificates & secrets' page).",
        )
        return [error], []
    if is_guid(key):
        notice = ValidationResult(("Key",), GUID_KEY_NOTICE)
        return [], [notice]
    return [], []


GUID_KEY_NOTICE = (
    "Key is shaped like a GUID, as a client secret's Secret ID is; the Key must be the "
    "secret's Value (in Entra ID about 40 characters, shown only right after it is created). "
    "If the provider rejects it, create a new secret and paste its Value."
)


def _expiry_kept(stored: SsoSettings, key: str | None) -> tuple[date | None, date | None]:
    """Return the expiry date to keep when none is sent, and the stored date that a new Key drops.

    The date describes one client secret: it stays while the Key stays (not sent, or sent
    again unchanged) and goes with a different Key.
    """
    if key is None or fingerprint(key) == stored.key_fingerprint:
        return stored.key_expires_on, None
    return None, stored.key_expires_on


def _about_stored_client_id(error: ValidationResult) -> ValidationResult:
    """Return the error reworded for the stored ClientId, which this request did not send."""
    return ValidationResult(
        error.member_names,
        f"The stored {error.message} This request sent no ClientId, so the stored one was "
        "checked against the new Authority; send ClientId with it.",
    )


def check_oauth2_input(
    change: OAuth2Input,
    stored: SsoSettings,
    *,
    allow_loopback_http: bool,
    today: date | None = None,
) -> OAuth2Values:
    """Run the static checks and normalize; values not sent fall back to the stored ones."""
    errors: list[ValidationResult] = []
    notices: list[ValidationResult] = []

    authority_raw = _required(
        errors,
        "Authority",
        change.authority,
        stored.authority,
        "send the identity provider's URL, such as "
        "'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0'.",
    )
    client_id_raw = _required(
        errors,
        "ClientId",
        change.client_id,
        stored.client_id,
        "send the Application (client) ID of the app registration.",
    )
    key_raw = _required(
        errors,
        "Key",
        change.key,
        stored.key_sealed,
        "send the client secret's Value (a PUT without Key keeps the stored one, but none is "
        "stored yet).",
    )

    authority = normalize_authority(
        authority_raw if authority_raw is not None else stored.authority or "",
        allow_loopback_http=allow_loopback_http,
    )
    if authority_raw is not None or stored.authority:
        errors += authority.errors
        notices += authority.notices
    client_id = stored.client_id or ""
    client_id_rejected = False
    if client_id_raw is not None:
        checked = check_client_id(client_id_raw)
        errors += checked.errors
        notices += checked.notices
        client_id = checked.value
        client_id_rejected = bool(checked.errors)
    # A Client ID already rejected gets one error, not a second one about the GUID form.
    if authority.entra is not None and client_id and not client_id_rejected:
        client_id_errors = check_entra_client_id(client_id, authority.entra)
        if client_id_raw is None:
            client_id_errors = [_about_stored_client_id(error) for error in client_id_errors]
        errors += client_id_errors
    key: str | None = None
    if key_raw is not None:
        checked = check_key(key_raw)
        errors += checked.errors
        notices += checked.notices
        key = checked.value
        if not checked.errors:
            key_errors, key_notices = _check_key_mix_ups(key, client_id)
            errors += key_errors
            notices += key_notices

    allowed = tuple(stored.allowed_tenants or ())
    if change.allowed_tenants is not None:
        allowed, tenant_errors = check_allowed_tenants(change.allowed_tenants)
        errors += tenant_errors
    if errors:
        raise ValidationFailed(errors)
    if allowed and (authority.entra is None or authority.entra.kind is not TenantKind.MULTI_TENANT):
        notices.append(
            ValidationResult(
                ("AllowedTenants",),
                "AllowedTenants applies only to the multi-tenant Authorities 'organizations' and "
                "'common'; the list is kept but has no effect with this Authority.",
            )
        )

    expires = change.key_expires_on
    if expires is None:
        expires, cleared = _expiry_kept(stored, key)
        if cleared is not None:
            notices.append(
                ValidationResult(
                    ("KeyExpiresOn",),
                    f"KeyExpiresOn {cleared.isoformat()} belongs to the Key that this one "
                    "replaces, so the new Key has no expiry date and no expiry reminders are "
                    "sent; send KeyExpiresOn with the new Key to have them.",
                )
            )
    if expires is not None and today is not None and expires < today:
        notices.append(
            ValidationResult(
                ("KeyExpiresOn",),
                f"KeyExpiresOn {expires.isoformat()} is in the past. Check the date against the "
                "secret's 'Expires' column; if the secret has expired, create a new one and send "
                "its Value as the Key.",
            )
        )
    return OAuth2Values(
        authority.value,
        client_id,
        key,
        expires,
        tuple(notices),
        allowed,
        authority.entra,
    )
