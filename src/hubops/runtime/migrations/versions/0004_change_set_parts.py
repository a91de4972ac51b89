"""Staged parts of change sets sent in several requests.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_set_parts",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("upload", sa.String(64), nullable=False),
        sa.Column("part_index", sa.Integer, nullable=False),
        sa.Column("part_count", sa.Integer, nullable=False),
        sa.Column("base_revision", sa.Integer, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "upload", "part_index", name="pk_change_set_parts"),
    )
    op.create_index("ix_change_set_parts_received_at", "change_set_parts", ["received_at"])


def downgrade() -> None:
    op.drop_table("change_set_parts")
