"""Plan, apply and status, end to end: manifests + runtime -> Plan -> change sets.

This is the glue between the pure core (load, validate, diff, the guards in
`plan.guards`) and the runtime client. Each command has one entry here
(`plan`, `apply`, `status`; each opens the runtime the command names), so
the CLI only parses flags, asks and renders: what it shows and asks while
an apply runs, it does through the `Presenter` it passes in. The tenants
root is read once (`manifest.snapshot`); a tenant whose files and live
revision are those of its last apply is not even parsed, and secrets files
are decrypted only when their content changed since the last apply (the
runtime records both digests) or when a change must send a value.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

from hubops.client import RuntimeClient, describe
from hubops.errors import RuntimeClientError
from hubops.live import FailingWebhook, LiveTenant
from hubops.manifest.desired import TenantConfig
from hubops.manifest.load import EncryptedFile
from hubops.manifest.models import Partner
from hubops.manifest.project import Project, load_snapshot
from hubops.manifest.snapshot import Snapshot, take_snapshot
from hubops.plan.drift import Drift, drift
from hubops.plan.guards import DestroyLimit, check_destroy, check_runtime, check_saved
from hubops.plan.model import Plan, TenantPlan
from hubops.plan.normalize import tree_entry_addresses
from hubops.plan.planner import build_plan, change_set, needs_values, plan_tenant

Stage = Literal["reading", "applying"]  # reading live state, applying change sets
Advance = Callable[[], None]
Progress = Callable[[Stage, int], AbstractContextManager[Advance]]


@contextmanager
def no_progress(_stage: Stage, _total: int) -> Iterator[Advance]:
    yield lambda: None


COMMIT_ENVS = ("HUBOPS_COMMIT", "GITHUB_SHA")


def commit_from_env() -> str | None:
    return next((os.environ[name] for name in COMMIT_ENVS if os.environ.get(name)), None)


def decrypt_when_changed(
    snapshot: Snapshot, live: dict[str, LiveTenant]
) -> Callable[[EncryptedFile], bool]:
    """Decrypt a tenant's files unless the runtime recorded this exact content at its last apply."""

    @cache
    def unchanged(folder: Path) -> bool:
        record = live.get(folder.name)
        if record is None or record.secrets_digest is None:
            return False
        return snapshot.tenants[folder.name].secrets_digest == record.secrets_digest

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
    live: dict[str, LiveTenant]
    # Tenants whose counts were reported to the runtime (`plan --report`).
    reported: list[str] = field(default_factory=list)


async def make_plan(
    client: RuntimeClient,
    root: Path,
    catalog: Path | None,
    only: Iterable[str] | None,
    progress: Progress = no_progress,
    full: bool = False,
) -> Planned:
    """The plan of the tenants under `root` (or of `only`) against the runtime's live state.

    A tenant whose files and live revision are those of its last apply is
    reported unchanged without being parsed (SPEC 8), unless `full`.
    """
    snapshot = await asyncio.to_thread(take_snapshot, root, catalog, only)
    names = list(snapshot.tenants)
    with progress("reading", len(names)) as advance:
        # Summaries first (unless `full`): only the tenants to diff need their whole state.
        key, live = await asyncio.gather(
            client.fingerprint_key(), client.get_tenants(names, advance, summary=not full)
        )
        unchanged = set() if full else unchanged_tenants(snapshot, live)
        parse = [name for name in names if name not in unchanged]
        if not full and parse:
            live.update(await client.get_tenants(parse))
    project = await asyncio.to_thread(
        load_snapshot, snapshot, parse, decrypt_when_changed(snapshot, live)
    )
    partners = catalog_partners(project)
    plan = build_plan(
        project.tenants, live, key, str(root), client.target, partners, sorted(unchanged)
    )
    # A change that sends a secret needs its value even when the file is unchanged
    # (the live secret drifted): decrypt just those tenants and plan them again.
    missing = [
        t.name
        for t in plan.tenants
        if needs_values(t) and not t.skipped and project.tenants[t.name].secrets is None
    ]
    if missing:
        again = await asyncio.to_thread(load_snapshot, snapshot, missing, True)
        project.tenants.update(again.tenants)
        replanned = {
            t.name: plan_tenant(project.tenants[t.name], live[t.name], key, partners)
            for t in plan.tenants
            if t.name in missing
        }
        plan.tenants = [replanned.get(t.name, t) for t in plan.tenants]
    return Planned(plan, project, live)


def unchanged_tenants(snapshot: Snapshot, live: dict[str, LiveTenant]) -> set[str]:
    """The tenants whose digest and live revision are those of their last apply."""
    return {
        name
        for name in snapshot.tenants
        if live[name].unchanged_since_apply(snapshot.config_digest(name))
    }


async def plan(
    runtime: str,
    root: Path,
    catalog: Path | None = None,
    names: list[str] | None = None,
    progress: Progress = no_progress,
    report: bool = False,
    full: bool = False,
) -> Planned:
    """`make_plan` against the runtime `runtime` names (a URL, or a SQLite file).

    With `report`, each tenant's counts go to the runtime (which the console shows as
    drifted or in sync); a tenant the runtime does not hold yet has nothing to report on.
    """
    async with RuntimeClient.open(runtime) as client:
        planned = await make_plan(client, root, catalog, names, progress, full)
        if report:
            held = [t for t in planned.plan.tenants if t.base_revision > 0]
            sent = await asyncio.gather(
                *(client.report_plan(t.name, t.base_revision, t.counts) for t in held)
            )
            planned.reported = [t.name for t, ok in zip(held, sent, strict=True) if ok]
        return planned


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


# --- apply ------------------------------------------------------------------------------


class Presenter(Protocol):
    """What the edge does while an apply runs: show progress and the plan, ask for approval."""

    def progress(self, stage: Stage, total: int) -> AbstractContextManager[Advance]: ...

    def show(self, planned: Planned, saved: bool) -> None:
        """The plan's warnings, and the plan itself unless it is a saved one."""

    def confirm(self, plan: Plan) -> None:
        """Return to apply; raise to stop (nothing has been sent yet)."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply: the manifests under `root` (or `names` of them), or exactly `saved`."""

    root: Path
    catalog: Path | None = None
    names: list[str] | None = None
    saved: Plan | None = None
    destroy: DestroyLimit = field(default_factory=DestroyLimit)
    commit: str | None = None


@dataclass
class Applied:
    planned: Planned
    work: list[TenantPlan]  # the tenants that had something to send
    results: list[TenantResult]


async def apply(runtime: str, request: ApplyRequest, presenter: Presenter) -> Applied:
    """Plan, check the guards, ask, and apply each tenant with work as its own change set.

    A saved plan is planned again and applied only if nothing moved since
    (`guards.check_saved`); it is not shown again, and not asked about: it was
    reviewed when it was made. One made against another runtime is refused
    before that runtime is even opened.
    """
    saved = request.saved
    root, names = request.root, request.names
    if saved is not None:
        check_runtime(saved, describe(runtime))
        root, names = Path(saved.root), [t.name for t in saved.tenants]
    async with RuntimeClient.open(runtime) as client:
        return await _apply(client, request, presenter, root, names)


async def _apply(
    client: RuntimeClient,
    request: ApplyRequest,
    presenter: Presenter,
    root: Path,
    names: list[str] | None,
) -> Applied:
    saved = request.saved
    planned = await make_plan(client, root, request.catalog, names, presenter.progress)
    presenter.show(planned, saved is not None)
    plan = planned.plan
    if saved is not None:
        check_saved(saved, plan)
    work = [t for t in plan.tenants if t.has_work]
    if not work:
        return Applied(planned, work, [])
    if plan.counts.total:
        check_destroy(plan, planned.live, request.destroy)
        if saved is None:
            presenter.confirm(plan)
    with presenter.progress("applying", len(work)) as advance:
        results = await apply_tenants(
            client, work, planned.project.tenants, request.commit, lambda _: advance()
        )
    return Applied(planned, work, results)


# --- status -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantStatus:
    name: str
    revision: int
    last_applied: dict[str, Any] | None
    drift: Drift | None = None  # only when compared with a tenants root
    failing_webhooks: list[FailingWebhook] = field(default_factory=list)


async def status(runtime: str, drift_root: Path | None, catalog: Path | None) -> list[TenantStatus]:
    """Every tenant the runtime holds, by name; with `drift_root`, how each stands to it."""
    async with RuntimeClient.open(runtime) as client:
        names = [name for name, _ in await client.list_tenants()]
        live = await client.get_tenants(names)
        labels: dict[str, Drift] = {}
        if drift_root is not None:
            planned = await make_plan(client, drift_root, catalog, None, full=True)
            labels = drift(planned.plan, live)
    rows = {
        name: TenantStatus(
            name,
            tenant.revision,
            tenant.last_applied,
            labels.get(name),
            tenant.failing_webhooks(),
        )
        for name, tenant in live.items()
    }
    for name, label in labels.items():
        rows.setdefault(name, TenantStatus(name, 0, None, label))
    return sorted(rows.values(), key=lambda row: row.name)
