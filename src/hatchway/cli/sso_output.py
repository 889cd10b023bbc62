"""Tables and text of the `hatchway sso ...` commands: settings, verifications, history."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import RenderableType
from rich.text import Text

from hatchway.cli.output import fields_table, results_text, table
from hatchway.client import (
    CheckOutcome,
    SsoSettings,
    SsoSettingsChange,
    SsoVersion,
    Verification,
)


def settings_fields(settings: SsoSettings) -> RenderableType:
    key_state = "set" if settings.key_set else "not set"
    expires: object = settings.key_expires_on
    if settings.key_expires_on is not None and settings.key_days_left is not None:
        days = settings.key_days_left
        unit = "day" if days == 1 else "days"
        expires = f"{settings.key_expires_on.isoformat()} ({days} {unit} left)"
    return fields_table(
        [
            ("Mode", settings.mode),
            ("Authority", settings.authority),
            ("Client ID", settings.client_id),
            ("Key", key_state),
            ("Key updated", settings.key_updated_on),
            ("Key expires", expires),
            ("Version", settings.version),
            ("ETag", settings.etag),
            ("Updated", settings.updated_on),
            ("Last known good version", settings.last_known_good_version),
            ("Redirect URI", settings.redirect_uri),
        ]
    )


# The Result column: a failure in capitals, so that it is easy to find in a long table.
RESULT_WORDS = {
    CheckOutcome.PASSED: "pass",
    CheckOutcome.WARNING: "warning",
    CheckOutcome.FAILED: "FAIL",
    CheckOutcome.NOT_CHECKED: "not checked",
}


def verification_renderables(verification: Verification) -> list[RenderableType]:
    outcome = "passed" if verification.passed else "failed"
    tenant = f" (tenant {verification.tenant_id})" if verification.tenant_id else ""
    parts: list[RenderableType] = [
        Text(f"Verification {outcome} for {verification.authority}{tenant}:"),
        table(
            ["Check", "Result", "Message"],
            (
                (check.name, RESULT_WORDS[check.outcome], check.message)
                for check in verification.checks
            ),
        ),
    ]
    if verification.notices:
        parts += [Text("Notices:"), results_text(verification.notices)]
    parts.append(Text(f"Redirect URI to register: {verification.redirect_uri}"))
    return parts


def change_renderables(change: SsoSettingsChange) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if change.verification is not None:
        parts += verification_renderables(change.verification)
    if change.warnings:
        parts += [
            Text("Saved without verification; these checks failed:"),
            results_text(change.warnings),
        ]
    if change.notices:
        parts += [Text("Notices:"), results_text(change.notices)]
    if change.changed:
        parts.append(Text(f"Saved version {change.settings.version}."))
    else:
        parts.append(Text("Nothing changed: the values equal the stored ones."))
    parts.append(settings_fields(change.settings))
    return parts


def restore_renderables(number: int, change: SsoSettingsChange) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if change.verification is not None:
        parts += verification_renderables(change.verification)
    if change.warnings:
        parts += [
            Text("Restored although these checks failed; sign-in may fail until they pass:"),
            results_text(change.warnings),
        ]
    if change.changed:
        parts.append(
            Text(
                f"Restored version {number}; the settings are now at version "
                f"{change.settings.version}."
            )
        )
    else:
        parts.append(Text(f"Nothing changed: version {number} has the current values."))
    parts.append(settings_fields(change.settings))
    return parts


def history_table(versions: Iterable[SsoVersion]) -> RenderableType:
    def marks(version: SsoVersion) -> str:
        words = []
        if version.is_current:
            words.append("current")
        if version.is_last_known_good:
            words.append("last known good")
        if version.restored_from is not None:
            words.append(f"restored from {version.restored_from}")
        if version.verification_skipped:
            words.append("not verified")
        return ", ".join(words)

    def changed_fields(version: SsoVersion) -> str:
        changes = version.changes
        return ", ".join(sorted(changes)) if isinstance(changes, dict) else ""

    return table(
        [
            "Version",
            "Created",
            "Actor",
            "Address",
            "Mode",
            "Authority",
            "Client ID",
            "Key",
            "Changed",
            "Notes",
        ],
        (
            (
                version.version,
                version.created_on,
                f"{version.actor_type}: {version.actor}",
                version.client_address,
                version.mode,
                version.authority,
                version.client_id,
                version.key_fingerprint,
                changed_fields(version),
                marks(version),
            )
            for version in versions
        ),
    )
