"""Order webhooks: messages, the delivery outbox, the attempt log and rotated secrets.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name=f"fk_{table}_tenant_id"
    )


def upgrade() -> None:
    op.create_table(
        "webhook_messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_messages"),
        _tenant_fk("webhook_messages"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("webhook", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["webhook_messages.id"],
            ondelete="CASCADE",
            name="fk_webhook_deliveries_message_id",
        ),
        _tenant_fk("webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_order",
        "webhook_deliveries",
        ["tenant_id", "webhook", "order_id", "id"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer, nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("webhook", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("attempted_at", _UTC, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("response_excerpt", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            ondelete="CASCADE",
            name="fk_webhook_attempts_delivery_id",
        ),
        _tenant_fk("webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_log", "webhook_attempts", ["tenant_id", "webhook", "id"])
    op.create_table(
        "webhook_secret_history",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("webhook", sa.String(200), nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("retired_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_secret_history"),
        _tenant_fk("webhook_secret_history"),
    )


def downgrade() -> None:
    op.drop_table("webhook_secret_history")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_messages")
