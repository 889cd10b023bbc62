"""The emergency access pages: the request form and the one-time link.

Routes:
    GET  /{env}/AdminPage/RequestEmergencyAdminAccess   the form (emergency/request.html)
    POST /{env}/AdminPage/RequestEmergencyAdminAccess   the same page for every address
    GET  /{env}/AdminPage/EmergencyAccess?token=...     a page with a button; redeems nothing
    GET  /{env}/AdminPage/EmergencyAccess               administrators: the recent requests
    POST /{env}/AdminPage/EmergencyAccess               redeems the link, starts the session

Opening a link only shows a button, because mail scanners fetch the links in a mail; only the
button's POST, which carries the CSRF token, signs in.
"""

from __future__ import annotations

import logging
import time

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hatchway.context import AppContext, client_address, get_context
from hatchway.emergency import service
from hatchway.emergency.service import LinkProblem, LinkRejection, OpenLink, format_time
from hatchway.environments import service as environments
from hatchway.environments.service import MAX_EMAIL_LENGTH
from hatchway.errors import RateLimited
from hatchway.web import csrf
from hatchway.web.admin.emergency_requests import emergency_requests_page
from hatchway.web.common import (
    PageEnvironment,
    environment_path,
    load_environment,
    set_session_cookie,
)
from hatchway.web.rendering import message_page, render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

REQUEST_PAGE = "AdminPage/RequestEmergencyAdminAccess"
LINK_PAGE = "AdminPage/EmergencyAccess"
LANDING_PAGE = "AdminPage/SingleSignOn"
# The request page responds no sooner than this for every address. Writing a link and its mails
# takes longer than ignoring an address, so without the floor the timing reveals administrators.
REQUEST_ANSWER_FLOOR_SECONDS = 0.25


def _csrf_ok(request: Request, submitted: str) -> bool:
    context = get_context(request)
    return csrf.is_valid(context.keyring, request.cookies.get(csrf.CSRF_COOKIE), submitted)


def _other_routes_hint(context: AppContext, environment_name: str) -> str:
    without_mail = (
        "the partner who manages this environment can issue a link without e-mail (POST "
        f"/Provisioning/{environment_name}/EmergencyAccess with Delivery 'Response'), and the "
        "server's operator can print one with 'hatchway emergency-link'."
    )
    if context.settings.smtp_url is None:
        return (
            "This server sends no e-mail: its operator finds each message as an .eml file in "
            "the mail folder of Hatchway's data folder. Besides, " + without_mail
        )
    return "If the mail does not arrive, " + without_mail


# The request form


def _request_form(
    request: Request,
    environment: PageEnvironment,
    *,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "emergency/request.html",
        {
            "title": "Request emergency access",
            "environment_name": environment.name,
            "email": email,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/{environment_name}/AdminPage/RequestEmergencyAdminAccess")
def request_form(request: Request, environment_name: str) -> Response:
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    return _request_form(request, environment)


@router.post("/{environment_name}/AdminPage/RequestEmergencyAdminAccess")
async def submit_request(request: Request, environment_name: str) -> Response:
    started = time.monotonic()
    form = await request.form()
    email = str(form.get("email", ""))
    submitted = str(form.get(csrf.CSRF_FIELD, ""))
    answer = await run_in_threadpool(_submit_request, request, environment_name, email, submitted)
    await anyio.sleep(max(0.0, REQUEST_ANSWER_FLOOR_SECONDS - (time.monotonic() - started)))
    return answer


def _submit_request(
    request: Request, environment_name: str, email: str, submitted_token: str
) -> Response:
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    if not _csrf_ok(request, submitted_token):
        return _request_form(
            request,
            environment,
            email=email,
            error="The form has expired. Please send it again.",
            status_code=403,
        )
    email = email.strip()
    if not email or "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        return _request_form(
            request,
            environment,
            email=email,
            error="Enter the e-mail address of your administrator account, such as "
            "'admin@contoso.com'.",
            status_code=400,
        )

    try:
        with context.database.write() as session:
            db_environment = environments.get_environment(session, environment.name)
            service.request_from_page(
                session,
                context.keyring,
                context.settings,
                db_environment,
                email,
                client_address=client_address(request),
                now=context.now(),
            )
    except RateLimited as limited:
        return _rate_limited_page(request, environment, limited)

    mailed = context.settings.smtp_url is not None
    return render(
        request,
        "emergency/requested.html",
        {
            "title": "Check your e-mail" if mailed else "Ask the server's operator",
            "mailed": mailed,
            "environment_name": environment.name,
            "other_routes": _other_routes_hint(context, environment.name),
        },
    )


def _rate_limited_page(
    request: Request, environment: PageEnvironment, limited: RateLimited
) -> Response:
    minutes = max(1, round(limited.retry_after / 60))
    response = message_page(
        request,
        "Too many requests",
        f"{limited} Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        hint=_other_routes_hint(get_context(request), environment.name),
        status_code=429,
    )
    response.headers["Retry-After"] = str(limited.retry_after)
    return response


# The link


def _rejection_page(
    request: Request, context: AppContext, environment: PageEnvironment, rejection: LinkRejection
) -> Response:
    name = environment.name
    titles = {
        LinkProblem.UNKNOWN: ("This emergency link is not valid", 404),
        LinkProblem.OTHER_ENVIRONMENT: ("This emergency link is for another environment", 404),
        LinkProblem.EXPIRED: ("This emergency link has expired", 410),
        LinkProblem.USED: ("This emergency link was already used", 410),
        LinkProblem.NOT_ADMINISTRATOR: ("This emergency link no longer signs in", 403),
    }
    messages = {
        LinkProblem.UNKNOWN: "Hatchway does not know this link. Mail programs sometimes break "
        "long links over two lines: open the whole link, or ask for a new one.",
        LinkProblem.OTHER_ENVIRONMENT: f"The link was issued for a different environment than "
        f"'{name}'. Open it exactly as you received it, or ask for a new link for '{name}'.",
        LinkProblem.EXPIRED: "Each link is valid for 15 minutes; this one expired at "
        f"{format_time(rejection.expired_at) if rejection.expired_at else 'an earlier time'}. "
        "Ask for a new link.",
        LinkProblem.USED: "Each link signs in once, and this one has been used"
        f"{' at ' + format_time(rejection.redeemed_at) if rejection.redeemed_at else ''}. "
        "Ask for a new link. If you did not use it, tell the other administrators.",
        LinkProblem.NOT_ADMINISTRATOR: "The account this link was issued for is no longer an "
        f"active administrator of '{name}'.",
    }
    title, status_code = titles[rejection.problem]
    # A used link has arrived, so the routes for a mail that does not arrive do not apply.
    hint = None if rejection.problem is LinkProblem.USED else _other_routes_hint(context, name)
    return message_page(
        request,
        title,
        messages[rejection.problem],
        hint=hint,
        links=[
            ("Request a new emergency link", environment_path(context, name, REQUEST_PAGE)),
            ("Sign in", environment_path(context, name, "SignIn")),
        ],
        status_code=status_code,
    )


def _link_page(
    request: Request,
    environment: PageEnvironment,
    token: str,
    link: OpenLink,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "emergency/link.html",
        {
            "title": "Emergency access",
            "environment_name": environment.name,
            "token": token,
            "expires": format_time(link.expires_at),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/{environment_name}/AdminPage/EmergencyAccess")
def open_link(request: Request, environment_name: str) -> Response:
    """Show the button that redeems the link; a GET never redeems it.

    Without a `token` in the query this is the administrators' list of emergency requests.
    """
    if "token" not in request.query_params:
        return emergency_requests_page(request, environment_name)
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    token = request.query_params.get("token", "")
    with context.database.read() as session:
        db_environment = environments.get_environment(session, environment.name)
        link = service.inspect_link(session, db_environment, token, context.now())
    if isinstance(link, LinkRejection):
        return _rejection_page(request, context, environment, link)
    return _link_page(request, environment, token, link)


@router.post("/{environment_name}/AdminPage/EmergencyAccess")
async def redeem_link(request: Request, environment_name: str) -> Response:
    form = await request.form()
    token = str(form.get("token", "")) or request.query_params.get("token", "")
    submitted = str(form.get(csrf.CSRF_FIELD, ""))
    return await run_in_threadpool(_redeem_link, request, environment_name, token, submitted)


def _redeem_link(
    request: Request, environment_name: str, token: str, submitted_token: str
) -> Response:
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment

    if not _csrf_ok(request, submitted_token):
        with context.database.read() as session:
            db_environment = environments.get_environment(session, environment.name)
            link = service.inspect_link(session, db_environment, token, context.now())
        if isinstance(link, LinkRejection):
            return _rejection_page(request, context, environment, link)
        return _link_page(
            request,
            environment,
            token,
            link,
            error="The page has expired. Press the button again to sign in.",
            status_code=403,
        )

    with context.database.write() as session:
        db_environment = environments.get_environment(session, environment.name)
        outcome = service.redeem_link(
            session,
            context.keyring,
            context.settings,
            db_environment,
            token,
            client_address=client_address(request),
            now=context.now(),
        )
    if isinstance(outcome, LinkRejection):
        return _rejection_page(request, context, environment, outcome)

    response = RedirectResponse(
        environment_path(context, environment.name, LANDING_PAGE), status_code=303
    )
    set_session_cookie(response, context, environment.name, outcome.session_token)
    return response
