"""The administration overview; the single sign-on page lives in `hatchway.web.admin.sso`.

Routes:
    GET  /{env}/AdminPage/                     overview (admin/home.html)
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from hatchway.context import get_context
from hatchway.environments import service as environments
from hatchway.sso import service as sso
from hatchway.web.admin.access import AdminVisit, admin_visit
from hatchway.web.common import environment_path
from hatchway.web.rendering import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def _page_values(visit: AdminVisit, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "environment_name": visit.environment.name,
        "visit": visit,
        "session_ends": visit.session_expires_at.strftime("%H:%M UTC"),
    }


def _settings_view(request: Request, visit: AdminVisit) -> dict[str, Any]:
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        settings = sso.get_settings(session, environment)
        return sso.settings_view(
            settings, environment, context.settings.public_url, context.now().date()
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
    values = _page_values(visit, "Administration")
    values["sso"] = _settings_view(request, visit)
    return render(request, "admin/home.html", values)
