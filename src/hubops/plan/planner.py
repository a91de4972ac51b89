"""Desired vs live -> Plan, and Plan -> change sets; pure functions over data.

The live side arrives as `live.LiveTenant`s, so this module knows nothing
of HTTP; the desired side as `TenantConfig`s carrying the digests their
snapshot computed, so it reads no file either. A tenant's secrets are
fingerprinted from their values when its secrets files were decrypted, else
from what the last apply recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from hubops.fingerprint import is_marker, tenant_key
from hubops.live import LiveTenant
from hubops.manifest.desired import TenantConfig
from hubops.manifest.models import Partner
from hubops.plan.approval import (
    ApprovalContext,
    credential_partners,
    involved_partners,
    mark_approvals,
)
from hubops.plan.diff import diff_states
from hubops.plan.model import Plan, ResourceChange, TenantPlan
from hubops.plan.normalize import Fingerprints, desired_state, secret_value
from hubops.state import (
    CONNECTIONS_ADDRESS,
    State,
    parse_address,
    secret_address,
    secret_paths,
)


def connection_note(desired: State, pending: list[str]) -> str | None:
    """`N connection requests await review: ids` for requests the manifests do not decide."""
    decided = desired.get(CONNECTIONS_ADDRESS) or {}
    waiting = sorted(
        set(pending) - set(decided.get("approved", [])) - set(decided.get("rejected", []))
    )
    if not waiting:
        return None
    return f"{len(waiting)} connection requests await review: {', '.join(waiting)}"


def changed_secret_paths(change: ResourceChange) -> list[str]:
    """Body paths of the secrets this change must send (all on create, changed on update)."""
    if change.action == "delete" or change.after is None:
        return []
    kind, _, _ = parse_address(change.address)
    paths = secret_paths(kind, change.after)
    if change.action == "create":
        return paths
    changed = {f.path for f in change.fields if is_marker(f.after)}
    return [p for p in paths if p in changed]


def plan_tenant(
    config: TenantConfig,
    live: LiveTenant,
    fingerprint_key: bytes,
    partners: Mapping[str, Partner],
) -> TenantPlan:
    fps = Fingerprints(tenant_key(fingerprint_key, config.name), config.secrets, live.fingerprints)
    desired = desired_state(config, fps)
    context = ApprovalContext(partners, credential_partners([desired, live.state]))
    changes = mark_approvals(diff_states(desired, live.state), context)
    plan = TenantPlan(config.name, live.revision, changes)
    plan.partners = involved_partners(changes, context)
    note = connection_note(desired, live.pending_connections)
    if note is not None:
        plan.notes.append(note)
    for change in changes:
        for path in changed_secret_paths(change):
            addr = secret_address(change.address, path)
            plan.sends[addr] = fps(addr)
    if config.secrets is not None:
        digest = config.secrets_digest
        entries = fps.all_entries(config.secret_keys)
        if digest != live.secrets_digest or entries != live.fingerprints:
            plan.secrets_digest, plan.entry_fingerprints = digest, entries
    if not live.unchanged_since_apply(config.config_digest):
        plan.config_digest = config.config_digest
    return plan


def unchanged_tenant(live: LiveTenant) -> TenantPlan:
    """The plan of a tenant whose files and live state are those of its last apply."""
    plan = TenantPlan(live.name, live.revision, skipped=True)
    # Live state is what the manifests made it, so it holds their decisions too.
    note = connection_note(live.state, live.pending_connections)
    if note is not None:
        plan.notes.append(note)
    return plan


def build_plan(
    configs: Mapping[str, TenantConfig],
    live: Mapping[str, LiveTenant],
    fingerprint_key: bytes,
    root: str,
    runtime: str,
    partners: Mapping[str, Partner],
    unchanged: Iterable[str] = (),
) -> Plan:
    """The plan of every parsed tenant in `configs` and of the `unchanged` ones (not parsed)."""
    planned = {
        name: plan_tenant(configs[name], live[name], fingerprint_key, partners) for name in configs
    }
    planned.update({name: unchanged_tenant(live[name]) for name in unchanged})
    tenants = [planned[name] for name in sorted(planned)]
    return Plan(tenants=tenants, created_at=datetime.now(UTC), root=root, runtime=runtime)


def needs_values(plan: TenantPlan) -> bool:
    return bool(plan.sends)


def change_set(plan: TenantPlan, config: TenantConfig, commit: str | None) -> dict[str, Any]:
    """The JSON body of `POST …/changes`: the plan's changes plus the secret values they send."""
    if plan.sends and config.secrets is None:
        raise ValueError(f"tenant {plan.name}: secrets are needed but were not decrypted")
    changes: list[dict[str, Any]] = []
    for change in plan.changes:
        item: dict[str, Any] = {"address": change.address, "action": change.action}
        if change.after is not None and change.action != "delete":
            item["body"] = change.after
        values: dict[str, str] = {}
        for path in changed_secret_paths(change):
            assert config.secrets is not None
            secret = secret_value(config.secrets, secret_address(change.address, path))
            if secret is None:
                raise ValueError(f"tenant {plan.name}: no value for {change.address} {path}")
            values[path] = secret.reveal()
        if values:
            item["secrets"] = values
        changes.append(item)
    payload: dict[str, Any] = {"baseRevision": plan.base_revision, "changes": changes}
    if plan.secrets_digest is not None:
        payload["secretsDigest"] = plan.secrets_digest
        payload["appliedFingerprints"] = plan.entry_fingerprints or {}
    if plan.config_digest is not None:
        payload["configDigest"] = plan.config_digest
    if commit:
        payload["commit"] = commit
    return payload
