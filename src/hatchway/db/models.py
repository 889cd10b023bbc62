"""SQLAlchemy models for every table Hatchway keeps.

Secrets never sit here in clear: the SSO Key and queued mail bodies are sealed, the
Provisioning Key, session ids and one-time links are stored as SHA-256 hashes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hatchway.db.types import UtcDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class ProvisioningKeyRecord(Base):
    """One Provisioning Key, by hash; the newest row without `revoked_at` is the valid one."""

    __tablename__ = "provisioning_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Environment(Base):
    __tablename__ = "environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(
        back_populates="environment", cascade="all, delete-orphan", passive_deletes=True
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("environment_id", "email_key", name="uq_users_environment_email"),
        UniqueConstraint(
            "environment_id", "idp_issuer", "idp_subject", name="uq_users_environment_subject"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    # The case-folded e-mail address: users are matched on this, never on `email`.
    email_key: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Set for a password Hatchway generated and mailed: the first sign-in must replace it.
    password_is_temporary: Mapped[bool] = mapped_column(Boolean, default=False)
    is_administrator: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    idp_issuer: Mapped[str | None] = mapped_column(String(2048))
    idp_subject: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]

    environment: Mapped[Environment] = relationship(back_populates="users")

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email


class SsoSettings(Base):
    """The current single sign-on configuration of one environment."""

    __tablename__ = "sso_settings"

    environment_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16), default="None")
    authority: Mapped[str | None] = mapped_column(String(2048))
    client_id: Mapped[str | None] = mapped_column(String(256))
    key_sealed: Mapped[str | None] = mapped_column(Text)
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    key_updated_at: Mapped[datetime | None]
    key_expires_on: Mapped[date | None] = mapped_column(Date)
    allowed_tenants: Mapped[list[Any] | None]
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_known_good_version: Mapped[int | None] = mapped_column(Integer)


class SsoVersion(Base):
    """One saved state of an environment's SSO settings, for history and rollback."""

    __tablename__ = "sso_versions"
    __table_args__ = (
        UniqueConstraint("environment_id", "version", name="uq_sso_versions_environment_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    authority: Mapped[str | None] = mapped_column(String(2048))
    client_id: Mapped[str | None] = mapped_column(String(256))
    key_sealed: Mapped[str | None] = mapped_column(Text)
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    key_expires_on: Mapped[date | None] = mapped_column(Date)
    allowed_tenants: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320))
    client_address: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any] | None]
    verification: Mapped[dict[str, Any] | None]
    verification_skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    restored_from: Mapped[int | None] = mapped_column(Integer)


class AuditRecord(Base):
    """Who changed what, when and from where; values pass the same redaction as GET responses."""

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_environment_time", "environment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL")
    )
    # Kept as text too, so that records outlive a deleted environment.
    environment_name: Mapped[str | None] = mapped_column(String(63))
    actor_type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320))
    client_address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(320))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    detail: Mapped[str | None] = mapped_column(Text)


class SessionRecord(Base):
    """A signed-in browser session; the cookie holds a random id, this row its SHA-256 hash."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    sso_version: Mapped[int | None] = mapped_column(Integer)


class EmergencyRequest(Base):
    """A request for emergency access and, for an administrator, its one-time link (by hash)."""

    __tablename__ = "emergency_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))
    delivery: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )


class OutboxMessage(Base):
    """A mail waiting for delivery, written in the same transaction as its cause."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purpose: Mapped[str] = mapped_column(String(32))
    environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL")
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    # Sealed, because bodies can carry one-time links; cleared once the message is settled.
    body_sealed: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    give_up_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_reply: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class OutboxAttempt(Base):
    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    reply: Mapped[str | None] = mapped_column(Text)


class RateLimitCounter(Base):
    """A fixed-window counter, in the database so that every worker sees the same count."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)


class KeyExpiryNotice(Base):
    """A notice sent about an SSO Key nearing its expiry, so each one goes out once."""

    __tablename__ = "key_expiry_notices"
    __table_args__ = (
        UniqueConstraint(
            "environment_id", "key_fingerprint", "days_before", name="uq_key_expiry_notice"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    days_before: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class SsoStagedSettings(Base):
    """OAuth2 values an administrator entered on the SSO page but has not saved.

    A row is either a draft, which keeps a typed Key while the page shows its form again
    (after Verify or a confirmation step), or a test sign-in run with its outcome. The Key is
    sealed and cleared once the row has served its purpose; rows are deleted after they expire.
    """

    __tablename__ = "sso_staged_settings"
    __table_args__ = (
        Index("ix_sso_staged_settings_environment_values", "environment_id", "values_fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    authority: Mapped[str | None] = mapped_column(String(2048))
    client_id: Mapped[str | None] = mapped_column(String(256))
    key_sealed: Mapped[str | None] = mapped_column(Text)
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    allowed_tenants: Mapped[list[Any] | None]
    # A hash of Authority, Client ID, Key fingerprint and allowed tenants: a later Save of the
    # same values finds the test sign-in that passed with them.
    values_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    created_by: Mapped[str] = mapped_column(String(320))
    created_by_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    completed_at: Mapped[datetime | None]
    signed_in_name: Mapped[str | None] = mapped_column(String(400))
    signed_in_email: Mapped[str | None] = mapped_column(String(320))
    signed_in_subject: Mapped[str | None] = mapped_column(String(512))
    signed_in_issuer: Mapped[str | None] = mapped_column(String(2048))
    message: Mapped[str | None] = mapped_column(Text)
