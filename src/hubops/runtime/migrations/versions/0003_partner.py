"""Partner API data: orders, idempotency records, catalogs, promotions, token last use.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name=f"fk_{table}_tenant_id"
    )


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("last_used_at", _UTC, nullable=True))
    op.create_table(
        "orders",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("store", sa.String(200), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("total", sa.String(40), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        _tenant_fk("orders"),
    )
    op.create_index("ix_orders_page", "orders", ["tenant_id", "created_at", "id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("token_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            ondelete="CASCADE",
            name="fk_idempotency_keys_token_id",
        ),
    )
    op.create_table(
        "catalog_items",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("store", sa.String(200), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "store", "sku", name="pk_catalog_items"),
        _tenant_fk("catalog_items"),
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("store", sa.String(200), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("discount_percent", sa.Integer, nullable=False),
        sa.Column("starts_at", _UTC, nullable=True),
        sa.Column("ends_at", _UTC, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_promotions"),
        _tenant_fk("promotions"),
    )
    op.create_index("ix_promotions_page", "promotions", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("promotions")
    op.drop_table("catalog_items")
    op.drop_table("idempotency_keys")
    op.drop_table("orders")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
