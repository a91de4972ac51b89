"""Loading a whole tenants root into validated desired state, or every reason it cannot be.

The pipeline is read -> decrypt -> check -> locate. Decryption is the only
step that may be skipped per file (`decrypt=`), because a plan against a
runtime that already holds an unchanged secrets file needs its keys but not
its values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubops.diagnostics import Diagnostic
from hubops.errors import ConfigError
from hubops.manifest.desired import Catalog, SecretKeys, TenantConfig
from hubops.manifest.load import EncryptedFile, Sourced, read_catalog, read_tenant_folder
from hubops.manifest.partner_rules import check_catalog
from hubops.manifest.positions import resolve_sorted
from hubops.manifest.secret_checks import duplicate_tokens, secret_keys, secret_values
from hubops.manifest.secrets import decrypt_many
from hubops.manifest.snapshot import Snapshot, take_snapshot
from hubops.manifest.validate import check_tenant
from hubops.plan.normalize import desired_state
from hubops.plan.parts import PART_BUDGET, limit_text, oversized_bodies
from hubops.state import parse_address


@dataclass
class Timings:
    """Seconds spent per stage, for benchmarks and `--verbose` output."""

    parse: float = 0.0
    sops: float = 0.0
    checks: float = 0.0
    positions: float = 0.0


@dataclass
class Project:
    root: Path
    catalog_path: Path
    catalog: Catalog | None
    tenants: dict[str, TenantConfig]
    warnings: list[Diagnostic] = field(default_factory=list)


_PLACEHOLDER_FINGERPRINT = "hmac-sha256:" + "0" * 32  # the size of a real one


def too_large(config: TenantConfig, yaml_bytes: int) -> list[Diagnostic]:
    """A resource too big to be sent even in a change set of several parts (SPEC 8)."""
    # A body's JSON is at most a few times the YAML declaring it: small tenants are skipped.
    if yaml_bytes * 8 < PART_BUDGET:
        return []
    state = desired_state(config, lambda _addr: _PLACEHOLDER_FINGERPRINT)
    diags = []
    for addr, size in oversized_bodies(state):
        kind, name, _ = parse_address(addr)
        by_kind: dict[str, Mapping[str, Sourced[Any]]] = {
            "integration": config.integrations,
            "token": config.tokens,
            "webhook": config.webhooks,
        }
        documents = by_kind.get(kind, {})
        declared = documents.get(name, config.tenant).source
        diags.append(
            declared.diag(
                f"tenant {config.name} is too large to apply: {addr} would be sent as one change "
                f"of {size:,} bytes, more than one request to the runtime may carry (its limit is "
                f"{limit_text()}, and a resource is never split); make it smaller",
                "spec",
            )
        )
    return diags


def load_project(
    root: Path,
    catalog_path: Path | None = None,
    only: Iterable[str] | None = None,
    decrypt: bool | Callable[[EncryptedFile], bool] = True,
    timings: Timings | None = None,
) -> Project:
    """Validated desired state of every (or every selected) tenant; raises ConfigError."""
    timings = timings if timings is not None else Timings()
    started = time.perf_counter()
    snapshot = take_snapshot(root, catalog_path, only)
    timings.parse += time.perf_counter() - started
    return load_snapshot(snapshot, None, decrypt, timings)


def load_snapshot(
    snapshot: Snapshot,
    names: Iterable[str] | None = None,
    decrypt: bool | Callable[[EncryptedFile], bool] = True,
    timings: Timings | None = None,
) -> Project:
    """`load_project` of what `snapshot` read: every tenant in it, or just `names`.

    The catalog is always checked. Each tenant gets its secrets and
    configuration digests from the snapshot, so nothing is read twice.
    """
    timings = timings if timings is not None else Timings()
    root, catalog_path = snapshot.root, snapshot.catalog_path
    started = time.perf_counter()
    chosen = [snapshot.tenants[n] for n in (snapshot.tenants if names is None else names)]
    catalog_doc, diags = read_catalog(catalog_path, snapshot.catalog)
    sources = [read_tenant_folder(t.folder, t.files, t.contents) for t in chosen]
    timings.parse += time.perf_counter() - started

    started = time.perf_counter()
    catalog: Catalog | None = None
    if catalog_doc is not None:
        catalog, catalog_diags = check_catalog(catalog_doc)
        diags += catalog_diags
    if not snapshot.tenants and snapshot.whole_root:
        diags.append(
            Diagnostic(file=str(root), message="holds no tenant folders; add one folder per tenant")
        )
    keys: dict[str, SecretKeys] = {}
    for tenant in sources:
        diags += tenant.diagnostics
        keys[tenant.name], key_diags = secret_keys(tenant.secrets_files)
        keys[tenant.name].complete &= not tenant.broken_secrets
        diags += key_diags
    timings.checks += time.perf_counter() - started

    started = time.perf_counter()
    wanted: dict[Path, dict[str, Any]] = {
        f.path: f.tree
        for tenant in sources
        for f in tenant.secrets_files
        if decrypt is True or (callable(decrypt) and decrypt(f))
    }
    decrypted = decrypt_many(wanted)
    timings.sops += time.perf_counter() - started

    started = time.perf_counter()
    tenants: dict[str, TenantConfig] = {}
    all_values = []
    for tenant in sources:
        values, value_diags = secret_values(tenant.secrets_files, decrypted)
        if values is not None:
            all_values.append((tenant.name, values, keys[tenant.name]))
        config, rule_diags = check_tenant(tenant, catalog, keys[tenant.name], values)
        diags += value_diags + rule_diags
        if config is not None:
            files = snapshot.tenants[tenant.name]
            config.secrets_digest = files.secrets_digest
            config.config_digest = snapshot.config_digest(tenant.name)
            tenants[tenant.name] = config
    diags += duplicate_tokens(all_values)
    for config in tenants.values():
        diags += too_large(config, snapshot.tenants[config.name].size)
    timings.checks += time.perf_counter() - started

    started = time.perf_counter()
    located = resolve_sorted(diags)
    timings.positions += time.perf_counter() - started
    if any(d.severity == "error" for d in located):
        raise ConfigError(located)
    return Project(root, catalog_path, catalog, tenants, located)
