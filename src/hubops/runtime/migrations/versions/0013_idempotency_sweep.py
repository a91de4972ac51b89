"""An index for sweeping a token's expired Idempotency-Keys.

Each request with an Idempotency-Key first deletes that token's keys older
than a day. The primary key (token_id, key) found the token's rows but not
the old ones among them, so the sweep read every key the token had used in
the last day: at a status change a second, 86,400 rows per request.

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_age", "idempotency_keys", ["token_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_age", table_name="idempotency_keys")
