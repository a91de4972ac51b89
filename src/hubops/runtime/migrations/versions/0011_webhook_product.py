"""Webhooks as a product: `integration` in every webhook body, and endpoint health.

Webhook bodies gain `integration` (null unless the webhook is tied to an
Integration); writing it into the bodies applied before keeps `hubops plan`
from showing a change nobody made. `webhook_health` keeps each webhook's last
success, last failure and failing-since; the 24-hour success rate reads its
attempts by time, and replay its messages by creation time: an index each.

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)

_resources = sa.table(
    "resources",
    sa.column("tenant_id", sa.Integer),
    sa.column("address", sa.String),
    sa.column("kind", sa.String),
    sa.column("body", sa.JSON),
)


def _rewrite(change: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_resources.c.tenant_id, _resources.c.address, _resources.c.body).where(
            _resources.c.kind == "webhook"
        )
    ).all()
    for row in rows:
        body = dict(row.body)
        if change == "add":
            body.setdefault("integration", None)
        else:
            body.pop("integration", None)
        conn.execute(
            sa.update(_resources)
            .where(_resources.c.tenant_id == row.tenant_id, _resources.c.address == row.address)
            .values(body=body)
        )


def upgrade() -> None:
    _rewrite("add")
    op.create_table(
        "webhook_health",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("webhook", sa.String(200), nullable=False),
        sa.Column("last_success_at", _UTC, nullable=True),
        sa.Column("last_failure_at", _UTC, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("failing_since", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "webhook", name="pk_webhook_health"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name="fk_webhook_health_tenant_id"
        ),
    )
    op.create_index(
        "ix_webhook_attempts_time",
        "webhook_attempts",
        ["tenant_id", "webhook", "attempted_at", "status_code"],
    )
    op.create_index("ix_webhook_messages_time", "webhook_messages", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_messages_time", table_name="webhook_messages")
    op.drop_index("ix_webhook_attempts_time", table_name="webhook_attempts")
    op.drop_table("webhook_health")
    _rewrite("drop")
