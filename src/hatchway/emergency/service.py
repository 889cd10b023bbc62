"""Emergency access: one-time sign-in links for administrators locked out of single sign-on.

A link carries 256 random bits; only their SHA-256 hash is stored. It is valid for 15 minutes,
works once, and belongs to one administrator of one environment. It reaches the administrator
by one of three routes: mailed through the outbox (request page or Provisioning API), returned
in the Provisioning API's response, or printed by `hatchway emergency-link` on the server.
Redeeming it starts an emergency session (60 minutes, administration pages only) and mails a
notice to every other active administrator.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor, ActorType
from hatchway.config import Settings
from hatchway.db.models import EmergencyRequest, Environment, OutboxMessage, User
from hatchway.environments.service import MAX_EMAIL_LENGTH, find_user_by_email
from hatchway.errors import Conflict, NotFound, ValidationFailed
from hatchway.mail import outbox
from hatchway.mail.outbox import Purpose
from hatchway.security import ratelimit
from hatchway.security.ratelimit import RateLimit
from hatchway.security.sealing import Keyring
from hatchway.security.tokens import new_token, token_hash
from hatchway.web.sessions import LIFETIMES, SessionKind, create_session

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = LIFETIMES[SessionKind.EMERGENCY]
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100

# The page and the API count in separate buckets, so that someone flooding the public request
# page cannot block the partner's route through the Provisioning API.
PAGE_PER_ENVIRONMENT = ratelimit.EMERGENCY_PAGE_PER_ENVIRONMENT
PAGE_PER_CLIENT = ratelimit.EMERGENCY_PAGE_PER_CLIENT
API_PER_ENVIRONMENT = ratelimit.EMERGENCY_API_PER_ENVIRONMENT
API_PER_CLIENT = ratelimit.EMERGENCY_API_PER_CLIENT


class Channel(enum.StrEnum):
    """The route a request came through."""

    REQUEST_PAGE = "RequestPage"
    PROVISIONING_API = "ProvisioningApi"
    COMMAND_LINE = "CommandLine"


class Delivery(enum.StrEnum):
    """The way the link reaches the administrator."""

    EMAIL = "Email"
    RESPONSE = "Response"
    PRINTED = "Printed"


class LinkProblem(enum.StrEnum):
    """The reason a link cannot be redeemed."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    OTHER_ENVIRONMENT = "other_environment"
    NOT_ADMINISTRATOR = "not_administrator"


@dataclass(frozen=True)
class LinkRejection:
    """A link that does not sign in, with what the page needs to explain it."""

    problem: LinkProblem
    expired_at: datetime | None = None
    redeemed_at: datetime | None = None


@dataclass(frozen=True)
class IssuedLink:
    """A new request and its link; `url` is the only copy of the token anywhere."""

    request_id: int
    email: str
    delivery: Delivery
    expires_at: datetime
    delivery_status: str
    url: str = field(repr=False)


@dataclass(frozen=True)
class OpenLink:
    """A link that can still be redeemed, as its GET page shows it."""

    request_id: int
    expires_at: datetime


@dataclass(frozen=True)
class Redemption:
    """A redeemed link: the new emergency session's cookie value and whom it signs in."""

    request_id: int
    user_id: int
    session_expires_at: datetime
    session_token: str = field(repr=False)


@dataclass(frozen=True)
class RequestView:
    """One request as `GET /Provisioning/{env}/EmergencyAccess` lists it."""

    request_id: int
    requested_at: datetime
    channel: str
    delivery: str
    email: str | None
    delivery_status: str
    attempts: int
    last_reply: str | None
    sent_at: datetime | None
    expires_at: datetime | None
    redeemed_at: datetime | None


def link_url(settings: Settings, environment_name: str, token: str) -> str:
    """Build the one-time URL; the token goes in the query string, which no log line prints."""
    return settings.public_link(f"/{environment_name}/AdminPage/EmergencyAccess?token={token}")


def address_label(keyring: Keyring, email: str) -> str:
    """Return a keyed hash of an e-mail address, so that logs can tell requests apart."""
    key = keyring.signing_keys("log-address")[0]
    normalized = email.strip().casefold().encode("utf-8")
    return hmac.new(key, normalized, hashlib.sha256).hexdigest()[:12]


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# Requests


def find_active_administrator(
    session: Session, environment: Environment, email: str
) -> User | None:
    if not email.strip() or len(email) > MAX_EMAIL_LENGTH:
        return None
    user = find_user_by_email(session, environment, email)
    if user is None or not user.is_administrator or not user.is_active:
        return None
    return user


def request_from_page(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    environment: Environment,
    email: str,
    *,
    client_address: str | None,
    now: datetime,
) -> None:
    """Mail a link when `email` is an active administrator; otherwise only audit the request.

    Returns nothing either way, so that the page cannot tell who is an administrator.
    Raises `RateLimited` when the client or the environment made too many requests.
    """
    _consume(session, PAGE_PER_CLIENT, client_address or "unknown", now)
    _consume(session, PAGE_PER_ENVIRONMENT, environment.name, now)
    actor = Actor(ActorType.ANONYMOUS, "emergency request page", client_address)

    user = find_active_administrator(session, environment, email)
    if user is None:
        audit.record(
            session,
            actor,
            audit.AuditAction.EMERGENCY_REQUEST,
            "(no active administrator)",
            now=now,
            environment=environment,
            outcome="ignored",
            detail="The address entered on the request page is not an active administrator "
            f"of this environment (address hash {address_label(keyring, email)}).",
        )
        logger.info(
            "emergency.request_ignored environment=%s address=%s",
            environment.name,
            address_label(keyring, email),
        )
        return
    _issue(
        session,
        keyring,
        settings,
        environment,
        user,
        Channel.REQUEST_PAGE,
        Delivery.EMAIL,
        actor=actor,
        now=now,
    )


def request_from_api(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    environment: Environment,
    email: str | None,
    delivery: Delivery,
    *,
    actor: Actor,
    now: datetime,
) -> IssuedLink:
    """Issue a link for the holder of the Provisioning Key, who may learn who is an admin."""
    if email is None or not email.strip():
        raise ValidationFailed.single(
            "EmailAddress", "EmailAddress is missing; send the administrator's e-mail address."
        )
    _consume(session, API_PER_CLIENT, actor.client_address or "unknown", now)
    _consume(session, API_PER_ENVIRONMENT, environment.name, now)
    user = _get_administrator(session, environment, email)
    return _issue(
        session,
        keyring,
        settings,
        environment,
        user,
        Channel.PROVISIONING_API,
        delivery,
        actor=actor,
        now=now,
    )


def request_from_command_line(
    session: Session,
    settings: Settings,
    environment: Environment,
    email: str,
    *,
    actor: Actor,
    now: datetime,
) -> IssuedLink:
    """Issue a link for the operator on the server's host; nothing is mailed."""
    user = _get_administrator(session, environment, email)
    return _issue(
        session,
        None,
        settings,
        environment,
        user,
        Channel.COMMAND_LINE,
        Delivery.PRINTED,
        actor=actor,
        now=now,
    )


def _consume(session: Session, rule: RateLimit, subject: str, now: datetime) -> None:
    minutes = max(1, rule.window_seconds // 60)
    ratelimit.consume(
        session,
        rule,
        subject,
        now,
        f"Too many emergency access requests: at most {rule.limit} per {minutes} minutes "
        f"{'from one address' if rule.per is ratelimit.Per.ADDRESS else 'for one environment'}.",
    )


def _get_administrator(session: Session, environment: Environment, email: str) -> User:
    if not environment.is_active:
        raise Conflict(
            "EnvironmentDeactivated",
            f"Environment '{environment.name}' is deactivated, so nobody can sign in to it; "
            f"activate it with PUT /Provisioning/Environment/{environment.name}/Activate first.",
        )
    user = find_active_administrator(session, environment, email)
    if user is None:
        error = NotFound("Administrator", email.strip())
        error.args = (
            f"No active administrator has EmailAddress {email.strip()!r} in environment "
            f"'{environment.name}'; check the address, or make the user an administrator with "
            f"PUT /Provisioning/{environment.name}/User/ first.",
        )
        raise error
    return user


def _issue(
    session: Session,
    keyring: Keyring | None,
    settings: Settings,
    environment: Environment,
    user: User,
    channel: Channel,
    delivery: Delivery,
    *,
    actor: Actor,
    now: datetime,
) -> IssuedLink:
    token = new_token(TOKEN_BYTES)
    url = link_url(settings, environment.name, token)
    request = EmergencyRequest(
        environment_id=environment.id,
        user_id=user.id,
        requested_at=now,
        channel=channel.value,
        delivery=delivery.value,
        token_hash=token_hash(token),
        expires_at=now + LINK_LIFETIME,
        client_address=actor.client_address,
    )
    session.add(request)
    session.flush()

    message = None
    if delivery is Delivery.EMAIL:
        assert keyring is not None, "mailing a link needs the keyring that seals the body"
        message = outbox.enqueue(
            session,
            keyring,
            recipient=user.email,
            subject=f"Emergency sign-in link for '{environment.name}'",
            body=_link_mail(environment, url, request, actor),
            purpose=Purpose.EMERGENCY_LINK.value,
            now=now,
            environment=environment,
        )
        request.outbox_message_id = message.id

    audit.record(
        session,
        actor,
        audit.AuditAction.EMERGENCY_REQUEST,
        user.email,
        now=now,
        environment=environment,
        detail=f"Request {request.id} through {channel.value}, delivery {delivery.value}; "
        f"the link expires at {format_time(request.expires_at or now)}.",
    )
    logger.info(
        "emergency.requested environment=%s request=%d user=%d channel=%s delivery=%s",
        environment.name,
        request.id,
        user.id,
        channel.value,
        delivery.value,
    )
    return IssuedLink(
        request_id=request.id,
        email=user.email,
        delivery=delivery,
        expires_at=now + LINK_LIFETIME,
        delivery_status=outbox.delivery_status(message),
        url=url,
    )


def _link_mail(environment: Environment, url: str, request: EmergencyRequest, actor: Actor) -> str:
    origin = f" from the address {actor.client_address}" if actor.client_address else ""
    expires = format_time(request.expires_at) if request.expires_at else "15 minutes from now"
    return (
        f"Emergency administrator access to the workspace environment '{environment.name}' was "
        f"requested{origin} at {format_time(request.requested_at)}.\n\n"
        "Open this link and press the button on the page to sign in:\n\n"
        f"{url}\n\n"
        f"The link works once and expires at {expires}. The session it starts lasts 60 minutes "
        "and reaches only the administration pages, where you can correct the single sign-on "
        "settings.\n\n"
        "If you did not ask for this, ignore this mail. The other administrators are told "
        "when a link is used.\n"
    )


# Links


def _find_request(session: Session, token: str) -> EmergencyRequest | None:
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return session.scalar(
        select(EmergencyRequest).where(EmergencyRequest.token_hash == token_hash(token))
    )


def _problem(
    session: Session, request: EmergencyRequest | None, environment: Environment, now: datetime
) -> LinkRejection | None:
    if request is None or request.expires_at is None:
        return LinkRejection(LinkProblem.UNKNOWN)
    if request.environment_id != environment.id:
        return LinkRejection(LinkProblem.OTHER_ENVIRONMENT)
    if request.redeemed_at is not None:
        return LinkRejection(LinkProblem.USED, redeemed_at=request.redeemed_at)
    if request.expires_at <= now:
        return LinkRejection(LinkProblem.EXPIRED, expired_at=request.expires_at)
    user = session.get(User, request.user_id) if request.user_id is not None else None
    if user is None or not user.is_administrator or not user.is_active:
        return LinkRejection(LinkProblem.NOT_ADMINISTRATOR)
    return None


def inspect_link(
    session: Session, environment: Environment, token: str, now: datetime
) -> OpenLink | LinkRejection:
    """Tell whether a link can be redeemed, changing nothing (the GET page)."""
    request = _find_request(session, token)
    problem = _problem(session, request, environment, now)
    if problem is not None:
        return problem
    assert request is not None and request.expires_at is not None
    return OpenLink(request.id, request.expires_at)


def redeem_link(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    environment: Environment,
    token: str,
    *,
    client_address: str | None,
    now: datetime,
) -> Redemption | LinkRejection:
    """Redeem a link at most once, however many requests race, and start an emergency session.

    The conditional UPDATE is the single point of truth: of concurrent transactions, only the
    one whose UPDATE changed the row goes on; the others see a used link.
    """
    request = _find_request(session, token)
    problem = _problem(session, request, environment, now)
    if problem is None:
        assert request is not None
        marked = session.execute(
            update(EmergencyRequest)
            .where(
                EmergencyRequest.id == request.id,
                EmergencyRequest.redeemed_at.is_(None),
                EmergencyRequest.expires_at > now,
            )
            .values(redeemed_at=now)
            .execution_options(synchronize_session=False)
        )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            problem = LinkRejection(LinkProblem.USED)
    if problem is not None:
        _audit_rejection(session, environment, request, problem, client_address, now)
        return problem

    assert request is not None and request.user_id is not None
    user = session.get_one(User, request.user_id)
    session_token = create_session(
        session,
        environment,
        user,
        SessionKind.EMERGENCY,
        now=now,
        client_address=client_address,
    )
    audit.record(
        session,
        Actor(ActorType.EMERGENCY_SESSION, user.email, client_address),
        audit.AuditAction.EMERGENCY_REDEEM,
        user.email,
        now=now,
        environment=environment,
        detail=f"Request {request.id} ({request.channel}) redeemed; the emergency session ends "
        f"at {format_time(now + SESSION_LIFETIME)}.",
    )
    notified = _notify_other_administrators(
        session, keyring, settings, environment, user, request, client_address, now
    )
    logger.info(
        "emergency.redeemed environment=%s request=%d user=%d notified=%d",
        environment.name,
        request.id,
        user.id,
        notified,
    )
    return Redemption(request.id, user.id, now + SESSION_LIFETIME, session_token)


def _audit_rejection(
    session: Session,
    environment: Environment,
    request: EmergencyRequest | None,
    rejection: LinkRejection,
    client_address: str | None,
    now: datetime,
) -> None:
    described = f"request {request.id}" if request is not None else "an unknown link"
    audit.record(
        session,
        Actor(ActorType.ANONYMOUS, "emergency link", client_address),
        audit.AuditAction.EMERGENCY_REDEEM,
        described,
        now=now,
        environment=environment,
        outcome="rejected",
        detail=f"The link was not redeemed: {rejection.problem.value}.",
    )
    logger.info(
        "emergency.link_rejected environment=%s request=%s problem=%s",
        environment.name,
        request.id if request is not None else "-",
        rejection.problem.value,
    )


def _notify_other_administrators(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    environment: Environment,
    user: User,
    request: EmergencyRequest,
    client_address: str | None,
    now: datetime,
) -> int:
    others = session.scalars(
        select(User).where(
            User.environment_id == environment.id,
            User.is_administrator.is_(True),
            User.is_active.is_(True),
            User.id != user.id,
        )
    ).all()
    origin = f" from the address {client_address}" if client_address else ""
    audit_page = settings.public_link(f"/{environment.name}/AdminPage/")
    body = (
        f"{user.display_name} ({user.email}) signed in to the workspace environment "
        f"'{environment.name}' with emergency access at {format_time(now)}{origin}. "
        f"The link was requested through {request.channel} at "
        f"{format_time(request.requested_at)}.\n\n"
        "An emergency session lasts 60 minutes and reaches only the administration pages. If "
        "you did not expect this, check the single sign-on settings and the audit log at\n\n"
        f"{audit_page}\n"
    )
    for other in others:
        outbox.enqueue(
            session,
            keyring,
            recipient=other.email,
            subject=f"Emergency access was used in '{environment.name}'",
            body=body,
            purpose=Purpose.EMERGENCY_NOTICE.value,
            now=now,
            environment=environment,
        )
    return len(others)


# Listing


def list_requests(session: Session, environment: Environment, limit: int = 50) -> list[RequestView]:
    """Return the environment's newest requests with the delivery state of their mail."""
    rows = session.execute(
        select(EmergencyRequest, User, OutboxMessage)
        .outerjoin(User, User.id == EmergencyRequest.user_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == EmergencyRequest.outbox_message_id)
        .where(EmergencyRequest.environment_id == environment.id)
        .order_by(EmergencyRequest.id.desc())
        .limit(limit)
    ).all()
    return [
        RequestView(
            request_id=request.id,
            requested_at=request.requested_at,
            channel=request.channel,
            delivery=request.delivery,
            email=user.email if user is not None else None,
            delivery_status=outbox.delivery_status(message),
            attempts=message.attempt_count if message is not None else 0,
            last_reply=message.last_reply if message is not None else None,
            sent_at=message.sent_at if message is not None else None,
            expires_at=request.expires_at,
            redeemed_at=request.redeemed_at,
        )
        for request, user, message in rows
    ]
