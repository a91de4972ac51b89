"""Webhooks as a product: `integration` in every webhook body, and health by time.

Webhook bodies gain `integration` (null unless the webhook is tied to an
Integration); writing it into the bodies applied before keeps `hubops plan`
from showing a change nobody made. Health figures read a webhook's attempts
by time, and replay its messages by creation time: an index each.

Revision ID: 0011
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None

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
    op.create_index(
        "ix_webhook_attempts_time", "webhook_attempts", ["tenant_id", "webhook", "attempted_at"]
    )
    op.create_index("ix_webhook_messages_time", "webhook_messages", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_messages_time", table_name="webhook_messages")
    op.drop_index("ix_webhook_attempts_time", table_name="webhook_attempts")
    _rewrite("drop")
