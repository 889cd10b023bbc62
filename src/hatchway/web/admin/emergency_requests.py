"""The emergency access page: recent requests with the delivery of their mail.

Route:
    GET /{env}/AdminPage/EmergencyAccess   (admin/emergency_access.html)

The same path with `?token=...` is the one-time link's page, so `hatchway.emergency.pages`
owns the route and calls `emergency_requests_page` when the query has no token. The rows come
from the service function behind `GET /Provisioning/{env}/EmergencyAccess`.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from hatchway.context import get_context
from hatchway.emergency import service as emergency
from hatchway.environments import service as environments
from hatchway.web.admin.access import admin_visit, render_admin

RECENT_REQUESTS = 50


def emergency_requests_page(request: Request, environment_name: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        requests = emergency.list_requests(session, environment, RECENT_REQUESTS)
    return render_admin(
        request,
        visit,
        "admin/emergency_access.html",
        "Emergency access",
        {"requests": requests, "shown_at_most": RECENT_REQUESTS, "now": context.now()},
    )
