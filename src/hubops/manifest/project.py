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

from hubops.diagnostics import Diagnostic, did_you_mean
from hubops.errors import ConfigError, UsageError
from hubops.manifest.desired import Catalog, SecretKeys, TenantConfig
from hubops.manifest.load import (
    EncryptedFile,
    Sourced,
    read_catalog,
    read_tenant_folder,
    tenant_folders,
)
from hubops.manifest.partner_rules import check_catalog
from hubops.manifest.positions import resolve_sorted
from hubops.manifest.secret_checks import duplicate_tokens, secret_keys, secret_values
from hubops.manifest.secrets import decrypt_many
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


def default_catalog(root: Path) -> Path:
    return root.parent / "catalog.yaml"


def select_folders(folders: list[Path], only: Iterable[str] | None) -> list[Path]:
    """The folders of `only` (None: all of them; an empty selection selects none)."""
    if only is None:
        return folders
    by_name = {f.name: f for f in folders}
    missing = [name for name in only if name not in by_name]
    if missing:
        name = missing[0]
        raise UsageError(
            f'--tenant "{name}" has no folder in the tenants root{did_you_mean(name, by_name)}'
        )
    return [by_name[name] for name in dict.fromkeys(only)]


def check_root(root: Path) -> Path:
    if not root.is_dir():
        raise UsageError(
            f'tenants root "{root}" is not a folder; pass the folder holding one folder per tenant'
        )
    return root


_PLACEHOLDER_FINGERPRINT = "hmac-sha256:" + "0" * 32  # the size of a real one


def too_large(config: TenantConfig) -> list[Diagnostic]:
    """A resource too big to be sent even in a change set of several parts (SPEC 8)."""
    # A body's JSON is at most a few times the YAML declaring it: small tenants are skipped.
    files = [p for p in config.folder.iterdir() if p.suffix in (".yaml", ".yml")]
    if sum(p.stat().st_size for p in files) * 8 < PART_BUDGET:
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
    check_root(root)
    catalog_path = catalog_path or default_catalog(root)
    started = time.perf_counter()
    folders = select_folders(tenant_folders(root), only)
    catalog_doc, diags = read_catalog(catalog_path)
    sources = [read_tenant_folder(folder) for folder in folders]
    timings.parse += time.perf_counter() - started

    started = time.perf_counter()
    catalog: Catalog | None = None
    if catalog_doc is not None:
        catalog, catalog_diags = check_catalog(catalog_doc)
        diags += catalog_diags
    if not folders and only is None:
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
            tenants[tenant.name] = config
    diags += duplicate_tokens(all_values)
    for config in tenants.values():
        diags += too_large(config)
    timings.checks += time.perf_counter() - started

    started = time.perf_counter()
    located = resolve_sorted(diags)
    timings.positions += time.perf_counter() - started
    if any(d.severity == "error" for d in located):
        raise ConfigError(located)
    return Project(root, catalog_path, catalog, tenants, located)
