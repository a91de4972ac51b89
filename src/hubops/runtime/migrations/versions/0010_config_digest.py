"""What a tenant's last apply was made from: the configuration digest, and its revision.

Revision ID: 0010
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("config_digest", sa.String(200), nullable=True))
        batch.add_column(sa.Column("config_revision", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("config_revision")
        batch.drop_column("config_digest")
