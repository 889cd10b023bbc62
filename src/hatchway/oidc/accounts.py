"""Binding a person signed in at the identity provider to a user of the environment."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor, ActorType
from hatchway.db.models import Environment, User
from hatchway.environments.service import email_key
from hatchway.oidc.errors import SignInError, SignInFailure
from hatchway.oidc.flow import EMAIL_CLAIMS, SignedInIdentity

logger = logging.getLogger(__name__)


def email_from_claims(claims: dict[str, Any]) -> str | None:
    """Take the e-mail address from `email`, then `preferred_username`, then `upn`."""
    for name in EMAIL_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and "@" in value.strip():
            return value.strip()
    return None


def _missing_email(claims: dict[str, Any]) -> SignInError:
    missing = [f"'{name}'" for name in EMAIL_CLAIMS if name not in claims]
    unusable = [f"'{name}'" for name in EMAIL_CLAIMS if name in claims]
    findings = []
    if missing:
        findings.append(f"the ID token has no {' or '.join(missing)} claim")
    if unusable:
        findings.append(f"{' and '.join(unusable)} holds no e-mail address")
    return SignInError(
        SignInFailure.CLAIM_MISSING,
        f"The identity provider sent no e-mail address for this person: {' and '.join(findings)}.",
        "An administrator should add the optional claims 'email' and 'upn' to the ID token in "
        "the app registration's 'Token configuration' page (Entra ID), or make the provider "
        "send the 'email' claim.",
    )


def _name_parts(claims: dict[str, Any]) -> tuple[str, str]:
    given = claims.get("given_name")
    family = claims.get("family_name")
    if isinstance(given, str) or isinstance(family, str):
        return (given if isinstance(given, str) else ""), (
            family if isinstance(family, str) else ""
        )
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        first, _, last = name.strip().partition(" ")
        return first, last
    return "", ""


def bind_user(
    session: Session, environment: Environment, identity: SignedInIdentity, *, now: datetime
) -> User:
    """Find the user by issuer and subject, else by e-mail (binding it), else create one.

    A person who is not yet a user becomes one without administrator rights.
    """
    user = session.scalar(
        select(User).where(
            User.environment_id == environment.id,
            User.idp_issuer == identity.issuer,
            User.idp_subject == identity.subject,
        )
    )
    email = email_from_claims(identity.claims)
    if user is None:
        if email is None:
            raise _missing_email(identity.claims)
        user = session.scalar(
            select(User).where(
                User.environment_id == environment.id, User.email_key == email_key(email)
            )
        )
        if user is not None:
            _refuse_unverified_email(identity.claims, email)
            # NOTE: Entra ID sends no 'email_verified', so for it the binding trusts the tenant
            # named by the Authority; multi-tenant Authorities need an allowed-tenants list.
            user.idp_issuer = identity.issuer
            user.idp_subject = identity.subject
            logger.info("signin.user_bound environment=%s user=%d", environment.name, user.id)
        else:
            user = _create_user(session, environment, identity, email, now)

    if not user.is_active:
        raise SignInError(
            SignInFailure.USER_INACTIVE,
            f"The account {user.email!r} is deactivated in this environment.",
            "Ask an administrator of the environment to activate it.",
        )
    user.last_sign_in_at = now
    return user


def _refuse_unverified_email(claims: dict[str, Any], email: str) -> None:
    """Bind an existing account by e-mail only when the provider does not deny verifying it."""
    if claims.get("email_verified") is False:
        raise SignInError(
            SignInFailure.EMAIL_UNVERIFIED,
            f"The identity provider says the e-mail address {email!r} is not verified, so it "
            "cannot be linked to the existing account with that address.",
            "Verify the address at the identity provider, then sign in again.",
        )


def _create_user(
    session: Session,
    environment: Environment,
    identity: SignedInIdentity,
    email: str,
    now: datetime,
) -> User:
    first, last = _name_parts(identity.claims)
    user = User(
        environment_id=environment.id,
        email=email,
        email_key=email_key(email),
        first_name=first[:200],
        last_name=last[:200],
        password_hash=None,
        is_administrator=False,
        is_active=True,
        idp_issuer=identity.issuer,
        idp_subject=identity.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        Actor(ActorType.SYSTEM, "single sign-on"),
        audit.AuditAction.USER_CREATE,
        email,
        now=now,
        environment=environment,
        after={"EmailAddress": email, "IsAdministrator": False},
        detail="created at first sign-in through the identity provider",
    )
    logger.info("signin.user_created environment=%s user=%d", environment.name, user.id)
    return user
