"""The administration overview: the state of sign-in and the ways back in, at a glance.

Routes:
    GET /{env}/AdminPage/    overview (admin/home.html)
    GET /{env}/AdminPage     redirects to the path with the slash
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.context import get_context
from hatchway.db.models import Environment, SsoSettings, SsoVersion
from hatchway.emergency import service as emergency
from hatchway.emergency.service import RequestView
from hatchway.environments import service as environments
from hatchway.sso import service as sso
from hatchway.web.admin.access import AdminVisit, admin_visit, render_admin
from hatchway.web.common import environment_path

router = APIRouter(include_in_schema=False)

RECENT_EMERGENCY_REQUESTS = 5
# The overview warns from this many days before the Key expires; the first mailed notice
# goes out 30 days before as well.
KEY_EXPIRY_WARNING_DAYS = 30


class SsoHealth(enum.StrEnum):
    """Whether single sign-on works, as far as Hatchway has seen."""

    OFF = "off"
    INCOMPLETE = "incomplete"
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Overview:
    """The facts the overview shows, read in one transaction."""

    sso: dict[str, Any]
    sso_health: SsoHealth
    sso_health_text: str
    key_warning: bool
    user_count: int
    active_administrators: int
    administrators_with_password: int
    emergency_requests: list[RequestView]


def sso_health(settings: SsoSettings, good_values_current: bool = False) -> tuple[SsoHealth, str]:
    """Compare the current version with the last version that signed someone in.

    `good_values_current` is True when the current values are those of that version, as after
    restoring it.
    """
    if settings.mode == sso.SsoMode.NONE.value:
        return SsoHealth.OFF, "Single sign-on is off: everyone signs in with a password."
    if not sso.is_complete(settings):
        return (
            SsoHealth.INCOMPLETE,
            "The settings are incomplete, so sign-in cannot reach the identity provider; enter "
            "the missing Authority, Client ID or Key.",
        )
    good = settings.last_known_good_version
    if good == settings.version:
        return (
            SsoHealth.CONFIRMED,
            f"Working: the current version {settings.version} has signed a user in.",
        )
    if good is None:
        return (
            SsoHealth.UNCONFIRMED,
            f"Not confirmed: no sign-in through the identity provider has succeeded yet with "
            f"version {settings.version} or any earlier version.",
        )
    if good_values_current:
        return (
            SsoHealth.UNCONFIRMED,
            f"Not confirmed: the current version {settings.version} has the values of version "
            f"{good}, which signed a user in before, but no sign-in has succeeded since. If "
            "sign-in fails, run Verify on the single sign-on page: the identity provider may "
            "reject these values now.",
        )
    return (
        SsoHealth.UNCONFIRMED,
        f"Not confirmed: no sign-in has succeeded with the current version "
        f"{settings.version} yet. Version {good} was the last one that worked; the single "
        f"sign-on page can restore it.",
    )


def _has_good_values(session: Session, environment: Environment, settings: SsoSettings) -> bool:
    """Tell whether the current values are those of the last version that signed someone in."""
    good = settings.last_known_good_version
    if good is None or good == settings.version:
        return False
    version = session.scalar(
        select(SsoVersion).where(
            SsoVersion.environment_id == environment.id, SsoVersion.version == good
        )
    )
    if version is None:
        return False
    return (
        version.authority,
        version.client_id,
        version.key_fingerprint,
        version.allowed_tenants,
    ) == (
        settings.authority,
        settings.client_id,
        settings.key_fingerprint,
        settings.allowed_tenants,
    )


def _key_warning(days_left: int | None) -> bool:
    return days_left is not None and days_left <= KEY_EXPIRY_WARNING_DAYS


def read_overview(request: Request, visit: AdminVisit) -> Overview:
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        settings = sso.get_settings(session, environment)
        view = sso.settings_view(
            settings, environment, context.settings.public_url, context.now().date()
        )
        health, health_text = sso_health(
            settings, _has_good_values(session, environment, settings)
        )
        return Overview(
            sso=view,
            sso_health=health,
            sso_health_text=health_text,
            key_warning=_key_warning(view["KeyDaysLeft"]),
            user_count=environments.count_users(session, environment),
            active_administrators=environments.active_administrator_count(session, environment),
            administrators_with_password=environments.active_administrators_with_password(
                session, environment
            ),
            emergency_requests=emergency.list_requests(
                session, environment, RECENT_EMERGENCY_REQUESTS
            ),
        )


@router.get("/{environment_name}/AdminPage")
def admin_home_without_slash(request: Request, environment_name: str) -> Response:
    context = get_context(request)
    target = environment_path(context, environment_name.lower(), "AdminPage/")
    return RedirectResponse(target, status_code=308)


@router.get("/{environment_name}/AdminPage/")
def admin_home(request: Request, environment_name: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    overview = read_overview(request, visit)
    return render_admin(request, visit, "admin/home.html", "Administration", {"overview": overview})
