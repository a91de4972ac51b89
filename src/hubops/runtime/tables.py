"""The runtime's tables (SQLAlchemy Core). Migrations in `migrations/` create them.

`resources` holds every normalized body, keyed by tenant and address, so
the state API reads a tenant in one query. Secret values never sit in a
body: `secret_values` keeps credentials and webhook secrets sealed (the
runtime must use them again), and `api_tokens` keeps only each token's
SHA-256 with the columns the Partner API authenticates by (scopes,
stores, expiry), looked up by hash. `change_sets` is the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC on the way out; SQLite would otherwise return naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("revision", Integer, nullable=False),
    Column("secrets_digest", String(200), nullable=True),
    Column("applied_fingerprints", JSON, nullable=False),
    # The configuration digest of the last apply that sent one, and the revision it made:
    # while the revision has not moved since, the tenant's live state is what those files
    # made it (`manifest.snapshot`, SPEC 8).
    Column("config_digest", String(200), nullable=True),
    Column("config_revision", Integer, nullable=True),
    Column("last_applied_at", UtcDateTime, nullable=True),
    Column("last_applied_by", String(200), nullable=True),
    Column("last_applied_commit", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

resources = Table(
    "resources",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("address", String(400), primary_key=True),
    Column("kind", String(20), nullable=False, index=True),
    Column("body", JSON, nullable=False),
)

secret_values = Table(
    "secret_values",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("address", String(400), primary_key=True),
    Column("path", String(200), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "address"],
        ["resources.tenant_id", "resources.address"],
        ondelete="CASCADE",
        name="fk_secret_values_resource",
    ),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("fingerprint", String(100), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("stores", JSON, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_api_tokens_tenant_name"),
)

# Each token's rate limit, shared by every replica (`partner.ratelimit`): the "theoretical
# arrival time" of the generic cell rate algorithm, in seconds since the epoch, and how many
# requests the last claim was granted. Removed with its token.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("token_id", ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("tat", Double, nullable=False),
    Column("granted", Integer, nullable=False),
)

change_sets = Table(
    "change_sets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("applied_by", String(200), nullable=False),
    Column("commit_ref", String(200), nullable=True),
    Column("changes", JSON, nullable=False),
    UniqueConstraint("tenant_id", "revision", name="uq_change_sets_tenant_revision"),
)

# --- webhooks ------------------------------------------------------------------------------

webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("id", String(40), primary_key=True),  # the Standard Webhooks `webhook-id`
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("order_id", String(64), nullable=True),  # None for events not about an order
    Column("body", Text, nullable=False),  # the exact JSON that is signed and sent
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_webhook_messages_time", "tenant_id", "created_at"),
)

# The outbox: one row per (message, matching webhook), written in the transaction that
# changed the order, worked off by the delivery worker.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", ForeignKey("webhook_messages.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("webhook", String(200), nullable=False),
    # Deliveries with one key reach a webhook in order: an order's id, or the event's own key.
    Column("ordering_key", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # pending | succeeded | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_ordering", "tenant_id", "webhook", "ordering_key", "id"),
)

# The delivery log: every attempt, newest first in the admin API.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("webhook", String(200), nullable=False),
    Column("message_id", String(40), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("order_id", String(64), nullable=True),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("response_excerpt", String(500), nullable=True),
    Index("ix_webhook_attempts_log", "tenant_id", "webhook", "id"),
    Index("ix_webhook_attempts_time", "tenant_id", "webhook", "attempted_at", "status_code"),
)

# Each webhook's endpoint health as its attempts leave it (one row per webhook, written with
# each attempt), so the state API shows it without reading the whole delivery log.
webhook_health = Table(
    "webhook_health",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("webhook", String(200), primary_key=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("last_failure_at", UtcDateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    # The first failure after the last success; None while the last attempt succeeded.
    Column("failing_since", UtcDateTime, nullable=True),
)

# --- Partner API -----------------------------------------------------------------------------

# Written at most once a minute per token (see partner/auth.py), never per request.
api_tokens.append_column(Column("last_used_at", UtcDateTime, nullable=True))

# Money is kept as the decimal string the API shows: SQLite has no exact decimal type.
orders = Table(
    "orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("store", String(200), nullable=False),
    Column("status", String(30), nullable=False),
    Column("items", JSON, nullable=False),
    Column("total", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_orders_page", "tenant_id", "created_at", "id"),
)

# The first successful response to each (token, Idempotency-Key), replayed on a retry.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("token_id", ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_age", "token_id", "created_at"),  # the daily sweep per token
)

# A store's catalog is the rows of its current generation (`catalog_generations`; 0 when
# absent). A replacing upload writes a new generation in chunks, then switches to it in one
# short transaction, so readers see the old catalog or the new one, never a mix.
catalog_items = Table(
    "catalog_items",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("store", String(200), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # the order of the uploaded list
    Column("name", String(200), nullable=False),
    Column("price", String(40), nullable=False),
    Column("available", Boolean, nullable=False),
)

promotions = Table(
    "promotions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("store", String(200), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("discount_percent", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=True),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_promotions_page", "tenant_id", "created_at", "id"),
)

# Signing secrets replaced by a change set, kept for a while so messages are signed with
# both the old and the new secret during a rotation.
webhook_secret_history = Table(
    "webhook_secret_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("webhook", String(200), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("retired_at", UtcDateTime, nullable=False),
)

# Parts of a change set sent in several requests (too large for one), kept until the last
# part arrives and all are applied in one transaction. Sealed: parts carry secret values.
change_set_parts = Table(
    "change_set_parts",
    metadata,
    Column("tenant", String(63), primary_key=True),  # the tenant may not exist yet
    Column("upload", String(64), primary_key=True),
    Column("part_index", Integer, primary_key=True),
    Column("part_count", Integer, nullable=False),
    Column("base_revision", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False, index=True),
)

# --- catalog files ---------------------------------------------------------------------------

catalog_generations = Table(
    "catalog_generations",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("store", String(200), primary_key=True),
    Column("generation", Integer, nullable=False),
)

# One row per uploaded file; `seq` orders the history and names a replace's generation.
catalog_uploads = Table(
    "catalog_uploads",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("store", String(200), nullable=False),
    Column("source", String(10), nullable=False),  # api | sftp | manual
    Column("file_name", String(255), nullable=True),
    Column("content_type", String(40), nullable=False),
    Column("mode", String(10), nullable=False),  # replace | update
    Column("status", String(20), nullable=False),  # processing | succeeded | partial | failed
    Column("received_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("heartbeat_at", UtcDateTime, nullable=False),  # moved by every processed chunk
    Column("rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Index("ix_catalog_uploads_history", "tenant_id", "store", "seq"),
    Index("ix_catalog_uploads_status", "status"),
)

catalog_upload_errors = Table(
    "catalog_upload_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_seq", ForeignKey("catalog_uploads.seq", ondelete="CASCADE"), nullable=False),
    Column("line", Integer, nullable=True),  # None: the file as a whole
    Column("sku", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("error", String(500), nullable=False),
    Index("ix_catalog_upload_errors_upload", "upload_seq", "id"),
)

# --- retailer connections --------------------------------------------------------------------

# Retailers' requests to connect to a brand and where each stands. A status set from git
# (`connections/default`) wins over one the runtime set at request time (instant ordering).
retailer_connections = Table(
    "retailer_connections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("retailer_id", String(100), nullable=False),
    Column("retailer_name", String(200), nullable=True),
    Column("retailer_email", String(254), nullable=True),
    Column("status", String(20), nullable=False),  # pending | approved | rejected
    Column("requested_at", UtcDateTime, nullable=True),  # None: decided before any request
    Column("decided_at", UtcDateTime, nullable=True),
    UniqueConstraint("tenant_id", "retailer_id", name="uq_retailer_connections_retailer"),
    Index("ix_retailer_connections_list", "tenant_id", "seq"),
)

orders.append_column(Column("retailer", String(100), nullable=True))

# --- the console -----------------------------------------------------------------------------

# The back-office users are the tenant's `admin/EMAIL` resources; this is what the runtime
# keeps beside them: the password (an argon2id hash) and the invitation (only its SHA-256).
console_users = Table(
    "console_users",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(254), primary_key=True),
    Column("password_hash", String(200), nullable=True),  # None: pending
    Column("activated_at", UtcDateTime, nullable=True),
    Column("invite_wanted", Boolean, nullable=False),  # an invitation is yet to be sent
    Column("invite_hash", String(64), nullable=True, unique=True),
    Column("invite_expires_at", UtcDateTime, nullable=True),
)

# A session is known by its cookie's SHA-256. An admin's session names its user, so removing
# the user (the admin left the manifests) removes its sessions with it.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),  # operator | viewer | admin
    Column("name", String(254), nullable=False),  # the admin token's name, or the e-mail
    Column("tenant_id", Integer, nullable=True),
    Column("email", String(254), nullable=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    ForeignKeyConstraint(
        ["tenant_id", "email"],
        ["console_users.tenant_id", "console_users.email"],
        ondelete="CASCADE",
        name="fk_console_sessions_user",
    ),
)

# Failed logins, by account and by address, for the lockout; older than its window: purged.
console_login_failures = Table(
    "console_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_console_login_failures_key", "key", "at"),
)

# The last `hubops plan --report` of each tenant: what the plan would change, and when.
plan_reports = Table(
    "plan_reports",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("add", Integer, nullable=False),
    Column("change", Integer, nullable=False),
    Column("destroy", Integer, nullable=False),
)
