"""The validated desired state of one tenant: what `validate` hands on to planning."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hubops.manifest.load import Source, Sourced
from hubops.manifest.models import (
    ApiToken,
    Integration,
    Partner,
    RetailerConnections,
    SftpUser,
    Tenant,
    Webhook,
)
from hubops.manifest.secrets import Secret


@dataclass
class SecretValues:
    """Decrypted values of a tenant's secrets files, kept in memory only."""

    credentials: dict[str, dict[str, Secret]] = field(default_factory=dict)
    tokens: dict[str, Secret] = field(default_factory=dict)
    webhooks: dict[str, Secret] = field(default_factory=dict)


@dataclass
class SecretKeys:
    """Which entries the secrets files hold, and where, read without decrypting."""

    credentials: dict[str, Sourced[frozenset[str]]] = field(default_factory=dict)
    tokens: dict[str, Source] = field(default_factory=dict)
    webhooks: dict[str, Source] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    # False when a secrets file could not be read: "missing entry" errors would be noise.
    complete: bool = True


@dataclass
class TenantConfig:
    name: str
    folder: Path
    tenant: Sourced[Tenant]
    integrations: dict[str, Sourced[Integration]]
    tokens: dict[str, Sourced[ApiToken]]
    webhooks: dict[str, Sourced[Webhook]]
    secret_keys: SecretKeys
    # None when the secrets were not decrypted (see `load_project(decrypt=...)`).
    secrets: SecretValues | None
    sftp_users: dict[str, Sourced[SftpUser]] = field(default_factory=dict)
    connections: Sourced[RetailerConnections] | None = None
    # From the snapshot the tenant was loaded from (`manifest.snapshot`): what apply records.
    secrets_digest: str | None = None
    config_digest: str | None = None


Catalog = dict[str, Sourced[Partner]]
