"""Plan and apply, end to end: manifests + runtime -> Plan -> change sets.

This is the glue between the pure core (load, validate, diff) and the
runtime client; the CLI only parses flags and renders. Secrets files are
decrypted only when their content changed since the last apply (the
runtime records a digest) or when a change must send a value.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hubops.client import LiveTenant, RuntimeClient, RuntimeClientError
from hubops.manifest.desired import TenantConfig
from hubops.manifest.load import EncryptedFile, tenant_folders
from hubops.manifest.models import Partner
from hubops.manifest.project import Project, check_root, load_project, select_folders
from hubops.plan.model import Plan, TenantPlan
from hubops.plan.normalize import secrets_digest, tree_entry_addresses
from hubops.plan.planner import (
    LiveRecord,
    build_plan,
    change_set,
    needs_values,
    plan_tenant,
    tenant_secret_files,
)

COMMIT_ENVS = ("HUBOPS_COMMIT", "GITHUB_SHA")


def commit_from_env() -> str | None:
    return next((os.environ[name] for name in COMMIT_ENVS if os.environ.get(name)), None)


def _record(live: LiveTenant) -> LiveRecord:
    return LiveRecord(
        live.revision,
        live.state,
        live.secrets_digest,
        live.fingerprints,
        live.pending_connections,
    )


def decrypt_when_changed(live: dict[str, LiveRecord]) -> Callable[[EncryptedFile], bool]:
    """Decrypt a tenant's files unless the runtime recorded this exact content at its last apply."""

    @cache
    def unchanged(folder: Path) -> bool:
        record = live.get(folder.name)
        if record is None or record.secrets_digest is None:
            return False
        return secrets_digest(tenant_secret_files(folder)) == record.secrets_digest

    def wanted(file: EncryptedFile) -> bool:
        folder = file.path.parent
        record = live.get(folder.name)
        if not unchanged(folder) or record is None:
            return True
        return not tree_entry_addresses(file.tree) <= set(record.fingerprints)

    return wanted


def catalog_partners(project: Project) -> dict[str, Partner]:
    return {pid: entry.value for pid, entry in (project.catalog or {}).items()}


@dataclass
class Planned:
    plan: Plan
    project: Project
    live: dict[str, LiveRecord]


async def make_plan(
    client: RuntimeClient,
    root: Path,
    catalog: Path | None,
    only: Iterable[str] | None,
    runtime_label: str,
    on_fetched: Callable[[], None] | None = None,
) -> Planned:
    names = [f.name for f in select_folders(tenant_folders(check_root(root)), only)]
    key, live_tenants = await asyncio.gather(
        client.fingerprint_key(), client.get_tenants(names, on_fetched)
    )
    live = {name: _record(t) for name, t in live_tenants.items()}
    project = await asyncio.to_thread(
        load_project, root, catalog, names, decrypt_when_changed(live)
    )
    partners = catalog_partners(project)
    plan = build_plan(project.tenants, live, key, str(root), runtime_label, partners)
    # A change that sends a secret needs its value even when the file is unchanged
    # (the live secret drifted): decrypt just those tenants and plan them again.
    missing = [
        t.name for t in plan.tenants if needs_values(t) and project.tenants[t.name].secrets is None
    ]
    if missing:
        again = await asyncio.to_thread(load_project, root, catalog, missing, True)
        project.tenants.update(again.tenants)
        replanned = {
            t.name: plan_tenant(project.tenants[t.name], live[t.name], key, partners)
            for t in plan.tenants
            if t.name in missing
        }
        plan.tenants = [replanned.get(t.name, t) for t in plan.tenants]
    return Planned(plan, project, live)


@dataclass
class TenantResult:
    name: str
    revision: int | None = None
    error: str | None = None


async def apply_tenants(
    client: RuntimeClient,
    tenants: list[TenantPlan],
    configs: dict[str, TenantConfig],
    commit: str | None,
    on_done: Callable[[TenantResult], None] | None = None,
) -> list[TenantResult]:
    """Each tenant is its own atomic change set; one failing leaves the others applied."""

    async def one(plan: TenantPlan) -> TenantResult:
        try:
            payload = change_set(plan, configs[plan.name], commit)
            result = TenantResult(
                plan.name, revision=await client.apply_changes(plan.name, payload)
            )
        except RuntimeClientError as exc:
            result = TenantResult(plan.name, error=exc.format_message())
        if on_done is not None:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(t) for t in tenants if t.has_work)))
