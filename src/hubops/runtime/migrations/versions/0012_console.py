"""The console: back-office users, sessions, failed logins, and reported plans.

Revision ID: 0012
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name=f"fk_{table}_tenant_id"
    )


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("activated_at", _UTC, nullable=True),
        sa.Column("invite_wanted", sa.Boolean, nullable=False),
        sa.Column("invite_hash", sa.String(64), nullable=True),
        sa.Column("invite_expires_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "email", name="pk_console_users"),
        sa.UniqueConstraint("invite_hash", name="uq_console_users_invite_hash"),
        _tenant_fk("console_users"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(254), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_console_sessions"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "email"],
            ["console_users.tenant_id", "console_users.email"],
            ondelete="CASCADE",
            name="fk_console_sessions_user",
        ),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_console_login_failures"),
    )
    op.create_index("ix_console_login_failures_key", "console_login_failures", ["key", "at"])
    op.create_table(
        "plan_reports",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("checked_at", _UTC, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("add", sa.Integer, nullable=False),
        sa.Column("change", sa.Integer, nullable=False),
        sa.Column("destroy", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_plan_reports"),
        _tenant_fk("plan_reports"),
    )


def downgrade() -> None:
    op.drop_table("plan_reports")
    op.drop_table("console_login_failures")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
