"""Create the initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-12-04 19:53:21.669738
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hatchway.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "provisioning_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("window_started_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket"),
    )
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=True),
        sa.Column("environment_name", sa.String(length=63), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=320), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_records_action"), ["action"], unique=False)
        batch_op.create_index(
            "ix_audit_records_environment_time", ["environment_id", "id"], unique=False
        )

    op.create_table(
        "key_expiry_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("sent_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "environment_id", "key_fingerprint", "days_before", name="uq_key_expiry_notice"
        ),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_sealed", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("give_up_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("locked_until", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("last_reply", sa.Text(), nullable=True),
        sa.Column("sent_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "sso_settings",
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("authority", sa.String(length=2048), nullable=True),
        sa.Column("client_id", sa.String(length=256), nullable=True),
        sa.Column("key_sealed", sa.Text(), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("key_updated_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.Column("key_expires_on", sa.Date(), nullable=True),
        sa.Column("allowed_tenants", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("last_known_good_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("environment_id"),
    )
    op.create_table(
        "sso_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("authority", sa.String(length=2048), nullable=True),
        sa.Column("client_id", sa.String(length=256), nullable=True),
        sa.Column("key_sealed", sa.Text(), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("key_expires_on", sa.Date(), nullable=True),
        sa.Column("allowed_tenants", sa.JSON(), nullable=True),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("verification", sa.JSON(), nullable=True),
        sa.Column("verification_skipped", sa.Boolean(), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "environment_id", "version", name="uq_sso_versions_environment_version"
        ),
    )
    with op.batch_alter_table("sso_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sso_versions_environment_id"), ["environment_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("password_is_temporary", sa.Boolean(), nullable=False),
        sa.Column("is_administrator", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("idp_issuer", sa.String(length=2048), nullable=True),
        sa.Column("idp_subject", sa.String(length=512), nullable=True),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("last_sign_in_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("environment_id", "email_key", name="uq_users_environment_email"),
        sa.UniqueConstraint(
            "environment_id", "idp_issuer", "idp_subject", name="uq_users_environment_subject"
        ),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_environment_id"), ["environment_id"], unique=False
        )

    op.create_table(
        "emergency_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.Column("redeemed_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_message_id"], ["outbox_messages.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("emergency_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_requests_environment_id"), ["environment_id"], unique=False
        )

    op.create_table(
        "outbox_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_attempts_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("ended_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("sso_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sessions_environment_id"), ["environment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_environment_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("outbox_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_attempts_message_id"))

    op.drop_table("outbox_attempts")
    with op.batch_alter_table("emergency_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_requests_environment_id"))

    op.drop_table("emergency_requests")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_environment_id"))

    op.drop_table("users")
    with op.batch_alter_table("sso_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_versions_environment_id"))

    op.drop_table("sso_versions")
    op.drop_table("sso_settings")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_due")

    op.drop_table("outbox_messages")
    op.drop_table("key_expiry_notices")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_environment_time")
        batch_op.drop_index(batch_op.f("ix_audit_records_action"))

    op.drop_table("audit_records")
    op.drop_table("rate_limits")
    op.drop_table("provisioning_keys")
    op.drop_table("environments")
