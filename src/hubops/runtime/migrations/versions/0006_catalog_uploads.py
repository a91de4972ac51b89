"""Catalog files: upload records, their errors, and catalog generations for atomic replaces.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name=f"fk_{table}_tenant_id"
    )


def upgrade() -> None:
    with op.batch_alter_table("catalog_items", recreate="always") as batch:
        batch.add_column(sa.Column("generation", sa.Integer, nullable=False, server_default="0"))
        batch.drop_constraint("pk_catalog_items", type_="primary")
        batch.create_primary_key("pk_catalog_items", ["tenant_id", "store", "generation", "sku"])
    op.create_table(
        "catalog_generations",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("store", sa.String(200), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "store", name="pk_catalog_generations"),
        _tenant_fk("catalog_generations"),
    )
    op.create_table(
        "catalog_uploads",
        sa.Column("seq", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("store", sa.String(200), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", _UTC, nullable=False),
        sa.Column("finished_at", _UTC, nullable=True),
        sa.Column("heartbeat_at", _UTC, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_catalog_uploads"),
        sa.UniqueConstraint("id", name="uq_catalog_uploads_id"),
        _tenant_fk("catalog_uploads"),
    )
    op.create_index("ix_catalog_uploads_history", "catalog_uploads", ["tenant_id", "store", "seq"])
    op.create_index("ix_catalog_uploads_status", "catalog_uploads", ["status"])
    op.create_table(
        "catalog_upload_errors",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("upload_seq", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_upload_errors"),
        sa.ForeignKeyConstraint(
            ["upload_seq"],
            ["catalog_uploads.seq"],
            ondelete="CASCADE",
            name="fk_catalog_upload_errors_upload_seq",
        ),
    )
    op.create_index(
        "ix_catalog_upload_errors_upload", "catalog_upload_errors", ["upload_seq", "id"]
    )


def downgrade() -> None:
    op.drop_table("catalog_upload_errors")
    op.drop_table("catalog_uploads")
    op.drop_table("catalog_generations")
    op.execute("DELETE FROM catalog_items WHERE generation <> 0")
    with op.batch_alter_table("catalog_items", recreate="always") as batch:
        batch.drop_constraint("pk_catalog_items", type_="primary")
        batch.create_primary_key("pk_catalog_items", ["tenant_id", "store", "sku"])
        batch.drop_column("generation")
