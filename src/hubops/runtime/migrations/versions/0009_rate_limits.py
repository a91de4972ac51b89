"""Rate limits kept in the database, so that every replica counts a token's requests alike.

Revision ID: 0009
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("tat", sa.Double, nullable=False),
        sa.Column("granted", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("token_id", name="pk_rate_limits"),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], ondelete="CASCADE", name="fk_rate_limits_token_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
