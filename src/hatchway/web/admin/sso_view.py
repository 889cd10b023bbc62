"""The single sign-on page's contents: settings, history, test sign-ins and the ways back in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request

from hatchway.context import get_context
from hatchway.db.models import Environment, SsoSettings
from hatchway.environments import service as environments
from hatchway.errors import ValidationResult
from hatchway.sso import guard, history, staging
from hatchway.sso import service as sso
from hatchway.sso.checks import VerificationReport
from hatchway.web.admin.access import AdminVisit
from hatchway.web.common import environment_path

CHANGE_LABELS = {
    "Mode": "Mode",
    "Authority": "Authority",
    "ClientId": "Client ID",
    "KeyFingerprint": "Key",
    "KeyExpiresOn": "Key expiry",
    "AllowedTenants": "Allowed tenants",
}


@dataclass
class PageState:
    """The outcome of an action that the page reports, and the form to show again."""

    form: dict[str, str] | None = None
    draft_id: int | None = None
    errors: list[ValidationResult] = field(default_factory=list)
    notices: list[ValidationResult] = field(default_factory=list)
    warnings: list[ValidationResult] = field(default_factory=list)
    warnings_lead: str = "Saved although a check failed:"
    message: str | None = None
    verification: VerificationReport | None = None
    verification_heading: str | None = None


def _shown(name: str, value: Any) -> str:
    """Show a setting's value; text is quoted so that stray whitespace shows, dates are not."""
    if value is None or value == "" or value == []:
        return "not set"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if name == "KeyExpiresOn" or not isinstance(value, str):
        return str(value)
    return repr(value)


def describe_changes(changes: dict[str, Any]) -> list[str]:
    """Describe each changed setting of a version in words, the Key by its fingerprint only."""
    lines = []
    for name, change in changes.items():
        label = CHANGE_LABELS.get(name, name)
        before, after = change.get("From"), change.get("To")
        if name == "KeyFingerprint":
            if after is None:
                lines.append("Key removed")
            elif before is None:
                lines.append(f"Key set (fingerprint {after})")
            else:
                lines.append(f"Key replaced (fingerprint {before} → {after})")
            continue
        lines.append(f"{label}: {_shown(name, before)} → {_shown(name, after)}")
    return lines


def _history(session: Session, environment: Environment) -> list[dict[str, Any]]:
    current = sso.get_settings(session, environment)
    entries = []
    for version in history.list_versions(session, environment):
        view = history.version_view(version, current)
        view["ChangeLines"] = describe_changes(view["Changes"])
        entries.append(view)
    return entries


def _group_errors(errors: list[ValidationResult]) -> tuple[dict[str, list[str]], list[str]]:
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in errors:
        if error.member_names:
            by_field.setdefault(error.member_names[0], []).append(error.message)
        else:
            general.append(error.message)
    return by_field, general


def page_values(request: Request, visit: AdminVisit, state: PageState) -> dict[str, Any]:
    """Return the template values of the single sign-on page."""
    context = get_context(request)
    now = context.now()
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        settings = sso.get_settings(session, environment)
        view = sso.settings_view(settings, environment, context.settings.public_url, now.date())
        entries = _history(session, environment)
        tests = staging.recent_tests(session, environment, now)
        ways_in = guard.ways_in(session, environment)
        tested = _tested_values(session, environment, settings, visit.user_id, now)
        for test in tests:
            session.expunge(test)

    form = state.form
    if form is None:
        expires = view["KeyExpiresOn"]
        form = {
            "based_on_version": str(view["Version"]),
            "mode": view["Mode"],
            "authority": view["Authority"] or "",
            "client_id": view["ClientId"] or "",
            "key_expires_on": expires.isoformat() if expires else "",
            "skip_verification": "",
        }
        if tested is not None:
            form.update(mode="OAuth2", authority=tested.authority, client_id=tested.client_id)
    else:
        tested = None
    field_errors, general_errors = _group_errors(state.errors)
    return {
        "title": "Single sign-on",
        "environment_name": visit.environment.name,
        "visit": visit,
        "session_ends": visit.session_expires_at.strftime("%H:%M UTC"),
        "sso": view,
        "form": form,
        "draft_id": state.draft_id,
        "field_errors": field_errors,
        "general_errors": general_errors,
        "notices": [notice.message for notice in state.notices],
        "warnings": [warning.message for warning in state.warnings],
        "warnings_lead": state.warnings_lead,
        "saved_message": state.message,
        "verification": state.verification,
        "verification_heading": state.verification_heading,
        "history": entries,
        "tests": tests,
        "ways_in": ways_in,
        "local_sign_in": environment_path(context, visit.environment.name, "SignIn?local=1"),
        "emergency_request": environment_path(
            context, visit.environment.name, "AdminPage/RequestEmergencyAdminAccess"
        ),
        "page_path": environment_path(context, visit.environment.name, "AdminPage/SingleSignOn"),
        "draft_minutes": int(staging.STAGED_LIFETIME.total_seconds() // 60),
        "tested": tested,
    }


@dataclass(frozen=True)
class TestedValues:
    """Values that passed the administrator's test sign-in and are not saved; the Key stays out."""

    run_id: int
    authority: str
    client_id: str
    tested_at: str
    kept_until: str


def _tested_values(
    session: Session, environment: Environment, settings: SsoSettings, user_id: int, now: datetime
) -> TestedValues | None:
    """Return the values of the user's passed test sign-in to fill the form with, or None.

    None also when the test started before the settings last changed, so that the page does not
    offer to undo someone's later change, or when its values are the saved ones.
    """
    run = staging.find_tested_key(session, environment, user_id, now)
    if run is None or run.authority is None or run.client_id is None:
        return None
    if run.created_at < settings.updated_at or run.values_fingerprint == _saved_values(settings):
        return None
    return TestedValues(
        run.id,
        run.authority,
        run.client_id,
        run.created_at.strftime("%H:%M UTC"),
        run.expires_at.strftime("%H:%M UTC"),
    )


def _saved_values(settings: SsoSettings) -> str | None:
    if settings.mode != sso.SsoMode.OAUTH2.value:
        return None
    return staging.values_fingerprint(
        settings.authority, settings.client_id, settings.key_fingerprint, settings.allowed_tenants
    )


def verification_heading(report: VerificationReport) -> str:
    """Summarize a report in one line: passed, passed with warnings, or which checks failed."""
    warned = report.warning_names()
    if report.passed and warned:
        noun = "check has" if len(warned) == 1 else "checks have"
        return (
            f"Verification passed with warnings: every check passed, and {len(warned)} {noun} a "
            f"warning to read ({', '.join(warned)})."
        )
    if report.passed:
        return "Verification passed: every check passed."
    failed = report.failed_names()
    noun = "check" if len(failed) == 1 else "checks"
    return f"Verification failed: {len(failed)} {noun} failed ({', '.join(failed)})."
