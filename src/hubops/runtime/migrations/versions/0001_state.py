"""Tenants, their resources, sealed secrets, API token hashes and the audit trail.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("secrets_digest", sa.String(200), nullable=True),
        sa.Column("applied_fingerprints", sa.JSON, nullable=False),
        sa.Column("last_applied_at", _UTC, nullable=True),
        sa.Column("last_applied_by", sa.String(200), nullable=True),
        sa.Column("last_applied_commit", sa.String(200), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("name", name="uq_tenants_name"),
    )
    op.create_table(
        "resources",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("address", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "address", name="pk_resources"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name="fk_resources_tenant_id"
        ),
    )
    op.create_index("ix_resources_kind", "resources", ["kind"])
    op.create_table(
        "secret_values",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("address", sa.String(400), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "address", "path", name="pk_secret_values"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "address"],
            ["resources.tenant_id", "resources.address"],
            ondelete="CASCADE",
            name="fk_secret_values_resource",
        ),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(100), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("stores", sa.JSON, nullable=True),
        sa.Column("expires_at", _UTC, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_api_tokens_tenant_name"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name="fk_api_tokens_tenant_id"
        ),
    )
    op.create_table(
        "change_sets",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
        sa.Column("commit_ref", sa.String(200), nullable=True),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_change_sets"),
        sa.UniqueConstraint("tenant_id", "revision", name="uq_change_sets_tenant_revision"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], ondelete="CASCADE", name="fk_change_sets_tenant_id"
        ),
    )
