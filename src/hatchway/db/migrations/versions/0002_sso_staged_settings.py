"""Keep staged SSO values for drafts and test sign-ins.

Revision ID: 0002_sso_staged_settings
Revises: 0001
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hatchway.db.types

revision: str = "0002_sso_staged_settings"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_staged_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("authority", sa.String(length=2048), nullable=True),
        sa.Column("client_id", sa.String(length=256), nullable=True),
        sa.Column("key_sealed", sa.Text(), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("allowed_tenants", sa.JSON(), nullable=True),
        sa.Column("values_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_by_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", hatchway.db.types.UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("completed_at", hatchway.db.types.UtcDateTime(), nullable=True),
        sa.Column("signed_in_name", sa.String(length=400), nullable=True),
        sa.Column("signed_in_email", sa.String(length=320), nullable=True),
        sa.Column("signed_in_subject", sa.String(length=512), nullable=True),
        sa.Column("signed_in_issuer", sa.String(length=2048), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sso_staged_settings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sso_staged_settings_environment_values",
            ["environment_id", "values_fingerprint"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sso_staged_settings", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_staged_settings_environment_values")
    op.drop_table("sso_staged_settings")
