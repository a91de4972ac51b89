"""What each console page shows, read from the runtime's tables in one snapshot per page.

Plain data for the templates: figures are computed here, never in a
template, and secrets never leave this module as anything but field names
(a credential is "stored"; tokens and signing secrets are not shown at all).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from hubops.runtime import store
from hubops.runtime.console import users
from hubops.runtime.console.catalog import PartnerInfo
from hubops.runtime.db import reading
from hubops.runtime.lookups import tenant_id
from hubops.runtime.tables import (
    api_tokens,
    catalog_uploads,
    plan_reports,
    resources,
    tenants,
)
from hubops.runtime.webhooks import endpoint_health
from hubops.state import State, parse_address

UNCATEGORIZED = "uncategorized"


@dataclass(frozen=True)
class TenantRow:
    name: str
    display_name: str
    revision: int
    stores: int
    licensed: int
    quantity: int | None
    active: int
    inactive: int
    last_applied_at: datetime | None
    last_applied_by: str | None
    drift: str | None  # "drifted" | "in sync" | "changed since the check" | None: not reported
    checked_at: datetime | None


@dataclass(frozen=True)
class Integration:
    name: str
    partner: str
    partner_name: str
    category: str
    enabled: bool
    stores: list[str]
    config: dict[str, str]
    credential_fields: list[str]
    shop_mapping: str  # "complete" | "incomplete" | "not needed"


@dataclass(frozen=True)
class Token:
    name: str
    scopes: list[str]
    stores: list[str] | None
    expires_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class Health:
    success_rate_24h: float | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failing_since: datetime | None


@dataclass(frozen=True)
class Webhook:
    name: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    health: Health


@dataclass
class TenantPage:
    row: TenantRow
    by_category: dict[str, list[Integration]] = field(default_factory=dict)
    active: list[Integration] = field(default_factory=list)
    inactive: list[Integration] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)


def _of(state: State, kind: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    found = []
    for addr, body in sorted(state.items()):
        k, name, store = parse_address(addr)
        if k == kind:
            found.append((name, store, body))
    return found


def _integration_names(state: State) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for name, at, body in _of(state, "integration"):
        grouped[name].append((at or "", body))
    return grouped


def _row(conn: Connection, tenant: Any, state: State) -> TenantRow:
    grouped = _integration_names(state)
    enabled = [n for n, parts in grouped.items() if any(b["enabled"] for _, b in parts)]
    license_body = state.get("license/integrationHub", {"quantity": None, "stores": []})
    report = conn.execute(select(plan_reports).where(plan_reports.c.tenant_id == tenant.id)).first()
    drift = None
    if report is not None:
        if report.revision != tenant.revision:
            drift = "changed since the check"
        else:
            drift = "drifted" if report.add + report.change + report.destroy else "in sync"
    tenant_body = state.get(f"tenant/{tenant.name}", {})
    return TenantRow(
        name=tenant.name,
        display_name=str(tenant_body.get("displayName", tenant.name)),
        revision=tenant.revision,
        stores=len(_of(state, "store")),
        licensed=len(license_body["stores"]),
        quantity=license_body["quantity"],
        active=len(enabled),
        inactive=len(grouped) - len(enabled),
        last_applied_at=tenant.last_applied_at,
        last_applied_by=tenant.last_applied_by,
        drift=drift,
        checked_at=None if report is None else report.checked_at,
    )


def tenant_rows(engine: Engine, only: int | None) -> list[TenantRow]:
    """The tenants page: every tenant, or only the admin's own."""
    with reading(engine) as conn:
        query = select(tenants).order_by(tenants.c.name)
        if only is not None:
            query = query.where(tenants.c.id == only)
        return [_row(conn, t, store.load_state(conn, t.id)) for t in conn.execute(query).all()]


def _integrations(state: State, partners: dict[str, PartnerInfo]) -> list[Integration]:
    shown = []
    for name, parts in sorted(_integration_names(state).items()):
        first = parts[0][1]
        info = partners.get(first["partner"])
        creds = state.get(f"credentials/{first['credentials']}") if first["credentials"] else None
        shop_ids = [b["shopId"] for _, b in parts]
        needed = info.requires_shop_mapping if info else any(shop_ids)
        mapping = ("complete" if all(shop_ids) else "incomplete") if needed else "not needed"
        shown.append(
            Integration(
                name=name,
                partner=first["partner"],
                partner_name=info.name if info else first["partner"],
                category=info.category if info else UNCATEGORIZED,
                enabled=any(b["enabled"] for _, b in parts),
                stores=[s for s, _ in parts],
                config=dict(first["config"]),
                credential_fields=sorted((creds or {}).get("fields", {})),
                shop_mapping=mapping,
            )
        )
    return shown


def health(conn: Connection, tid: int, webhook: str, now: datetime) -> Health:
    """The webhook's endpoint health, as the state API shows it (`endpoint_health`)."""
    found = endpoint_health.figures(conn, tid, [webhook], now)[webhook]
    return Health(
        success_rate_24h=found.success_rate_24h,
        last_success_at=found.last_success_at,
        last_failure_at=found.last_failure_at,
        last_error=found.last_error,
        failing_since=found.failing_since,
    )


def webhook_health(engine: Engine, tid: int, name: str, now: datetime) -> Health | None:
    """The webhook page's health figures; None when the tenant has no such webhook."""
    with reading(engine) as conn:
        if f"webhook/{name}" not in store.load_state(conn, tid):
            return None
        return health(conn, tid, name, now)


def tenant_page(
    engine: Engine, name: str, partners: dict[str, PartnerInfo], now: datetime
) -> TenantPage | None:
    with reading(engine) as conn:
        tenant = conn.execute(select(tenants).where(tenants.c.name == name)).first()
        if tenant is None:
            return None
        state = store.load_state(conn, tenant.id)
        page = TenantPage(row=_row(conn, tenant, state))
        page.stores = [n for n, _, _ in _of(state, "store")]
        for item in _integrations(state, partners):
            page.by_category.setdefault(item.category, []).append(item)
            (page.active if item.enabled else page.inactive).append(item)
        page.by_category = dict(sorted(page.by_category.items()))
        used = {
            r.name: r.last_used_at
            for r in conn.execute(
                select(api_tokens.c.name, api_tokens.c.last_used_at).where(
                    api_tokens.c.tenant_id == tenant.id
                )
            )
        }
        for tname, _, body in _of(state, "token"):
            expires = datetime.fromisoformat(body["expiresAt"]) if body["expiresAt"] else None
            page.tokens.append(
                Token(tname, body["scopes"], body["stores"], expires, used.get(tname))
            )
        for wname, _, body in _of(state, "webhook"):
            page.webhooks.append(
                Webhook(
                    wname,
                    body["url"],
                    body["events"],
                    body["enabled"],
                    body.get("disabledReason"),
                    health(conn, tenant.id, wname, now),
                )
            )
    return page


@dataclass(frozen=True)
class Admin:
    email: str
    role: str
    status: users.Status
    invitation_until: datetime | None  # a pending admin's link is valid until then


def admins(engine: Engine, tid: int) -> list[Admin]:
    with reading(engine) as conn:
        known = users.statuses(conn, tid)
        invited = users.invitations_of(conn, tid)
        return [
            Admin(name, body["role"], known.get(name, "pending"), invited.get(name))
            for name, _, body in _of(store.load_state(conn, tid), "admin")
        ]


def role_of(engine: Engine, tid: int, email: str) -> str | None:
    with reading(engine) as conn:
        body = conn.execute(
            select(resources.c.body).where(
                resources.c.tenant_id == tid, resources.c.address == f"admin/{email}"
            )
        ).scalar()
    return None if body is None else str(body["role"])


def tenant_id_of(engine: Engine, name: str) -> int | None:
    with reading(engine) as conn:
        return tenant_id(conn, name)


def webhook_exists(engine: Engine, tid: int, name: str) -> bool:
    with reading(engine) as conn:
        return f"webhook/{name}" in store.load_state(conn, tid)


def stores(engine: Engine, tid: int) -> list[str]:
    with reading(engine) as conn:
        return [n for n, _, _ in _of(store.load_state(conn, tid), "store")]


def upload_history(engine: Engine, tid: int, limit: int = 100) -> list[Any]:
    with reading(engine) as conn:
        return list(
            conn.execute(
                select(catalog_uploads)
                .where(catalog_uploads.c.tenant_id == tid)
                .order_by(catalog_uploads.c.seq.desc())
                .limit(limit)
            ).all()
        )
