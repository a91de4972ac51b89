"""Retailer connections, and the retailer an order came from.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "retailer_connections",
        sa.Column("seq", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("retailer_id", sa.String(100), nullable=False),
        sa.Column("retailer_name", sa.String(200), nullable=True),
        sa.Column("retailer_email", sa.String(254), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_at", _UTC, nullable=True),
        sa.Column("decided_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_retailer_connections"),
        sa.UniqueConstraint("id", name="uq_retailer_connections_id"),
        sa.UniqueConstraint("tenant_id", "retailer_id", name="uq_retailer_connections_retailer"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            ondelete="CASCADE",
            name="fk_retailer_connections_tenant_id",
        ),
    )
    op.create_index("ix_retailer_connections_list", "retailer_connections", ["tenant_id", "seq"])
    op.add_column("orders", sa.Column("retailer", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("retailer")
    op.drop_table("retailer_connections")
