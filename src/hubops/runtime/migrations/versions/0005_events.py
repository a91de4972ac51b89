"""Events beyond orders: an optional order id and a general ordering key per delivery.

Revision ID: 0005
Revises: 0004

`webhook_deliveries.order_id` becomes `ordering_key` (an order's events keep
using the order id, so existing rows stay in per-order order); messages and
attempts keep `order_id`, now empty for events that are not about an order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_messages") as batch:
        batch.alter_column("order_id", existing_type=sa.String(64), nullable=True)
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.alter_column("order_id", existing_type=sa.String(64), nullable=True)
    op.drop_index("ix_webhook_deliveries_order", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column(
            "order_id",
            new_column_name="ordering_key",
            existing_type=sa.String(64),
            type_=sa.String(100),
            existing_nullable=False,
        )
    op.create_index(
        "ix_webhook_deliveries_ordering",
        "webhook_deliveries",
        ["tenant_id", "webhook", "ordering_key", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_ordering", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column(
            "ordering_key",
            new_column_name="order_id",
            existing_type=sa.String(100),
            type_=sa.String(64),
            existing_nullable=False,
        )
    op.create_index(
        "ix_webhook_deliveries_order",
        "webhook_deliveries",
        ["tenant_id", "webhook", "order_id", "id"],
    )
    op.execute("DELETE FROM webhook_attempts WHERE order_id IS NULL")
    op.execute("DELETE FROM webhook_messages WHERE order_id IS NULL")
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.alter_column("order_id", existing_type=sa.String(64), nullable=False)
    with op.batch_alter_table("webhook_messages") as batch:
        batch.alter_column("order_id", existing_type=sa.String(64), nullable=False)
