"""`hubops apply`: make the runtime match the manifests, or apply a saved plan exactly."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from hubops.cli.options import (
    catalog_option,
    changed_since_option,
    color_option,
    runtime_option,
    selected_tenants,
    shard_option,
    tenant_option,
    use_color,
)
from hubops.cli.plan import tenant_count
from hubops.cli.progress import progress
from hubops.client import RuntimeClient, describe
from hubops.errors import UsageError
from hubops.plan import planfile
from hubops.plan.model import Counts, Plan, TenantPlan
from hubops.plan.planner import LiveRecord
from hubops.reconcile import Planned, TenantResult, apply_tenants, commit_from_env, make_plan
from hubops.render.diagnostics import echo_diagnostics
from hubops.render.escape import printable
from hubops.render.text import render_text


def check_destroy(plan: Plan, live: dict[str, LiveRecord], max_destroy: int, allow: bool) -> None:
    """Refuse large or tenant-wide deletions unless --allow-destroy says they are intended."""
    if allow:
        return
    destroy = plan.counts.destroy
    if destroy > max_destroy:
        raise UsageError(
            f"this apply would destroy {destroy} resources, more than --max-destroy "
            f"({max_destroy}); review the plan and pass --allow-destroy if that is intended"
        )
    for tenant in plan.tenants:
        held = live[tenant.name].state
        deleted = {c.address for c in tenant.changes if c.action == "delete"}
        stores = {a for a in held if a.startswith("store/")}
        others = {a for a in held if not a.startswith("tenant/")}
        if (stores and stores <= deleted) or (len(others) >= 2 and others <= deleted):
            what = "store" if stores and stores <= deleted else "resource"
            raise UsageError(
                f"this apply would delete every {what} of tenant {tenant.name} "
                f"({len(deleted)} deletions); review the plan and pass --allow-destroy if "
                "that is intended"
            )


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to apply without confirmation: there is no terminal to ask on; pass "
            "--auto-approve (e.g. in CI), or save a plan with `hubops plan --out FILE` and "
            "apply that file"
        )
    answer = click.prompt(
        "Do you want to apply these changes? Only 'yes' will be accepted",
        default="",
        show_default=False,
    )
    if answer.strip() != "yes":
        raise click.exceptions.Abort()


def _verify_saved(saved: Plan, fresh: Plan) -> None:
    """A saved plan applies only if re-planning now gives exactly the same changes."""
    by_name = {t.name: t for t in fresh.tenants}
    for old in saved.tenants:
        new = by_name.get(old.name)
        if new is None:
            raise UsageError(
                f"tenant {old.name} of the saved plan is no longer in {saved.root}; run plan again"
            )
        if new.base_revision != old.base_revision:
            raise UsageError(
                f"tenant {old.name} changed in the runtime since the plan was made (revision "
                f"{old.base_revision} then, {new.base_revision} now); run plan again"
            )
        if (new.changes, new.sends, new.secrets_digest) != (
            old.changes,
            old.sends,
            old.secrets_digest,
        ):
            raise UsageError(
                f"the manifests or secrets of tenant {old.name} changed since the plan was made, "
                "so it no longer describes what would be applied; run plan again"
            )


def _report(results: list[TenantResult], tenants: dict[str, TenantPlan]) -> int:
    done = Counts()
    failed = 0
    for result in sorted(results, key=lambda r: r.name):
        if result.error is None:
            done += tenants[result.name].counts
            click.echo(f"{printable(result.name)}: applied (revision {result.revision})")
        else:
            failed += 1
            click.echo(f"{printable(result.name)}: failed: {printable(result.error)}", err=True)
    click.echo(
        f"Apply complete! Resources: {done.add} added, {done.change} changed, "
        f"{done.destroy} destroyed."
        if not failed
        else f"Applied {len(results) - failed} of {len(results)} tenants; {failed} failed "
        f"(resources applied: {done.add} added, {done.change} changed, {done.destroy} destroyed)."
    )
    return 1 if failed else 0


async def _run(
    runtime: str,
    target: Path,
    names: list[str] | None,
    catalog: Path | None,
    auto_approve: bool,
    max_destroy: int,
    allow_destroy: bool,
    color: bool,
) -> int:
    saved: Plan | None = None
    if target.is_file():
        saved = planfile.loads(target.read_text(encoding="utf-8"), str(target))
        if saved.runtime != describe(runtime):
            raise UsageError(
                f"the plan was made against {saved.runtime}, not {describe(runtime)}; "
                "pass the same --runtime"
            )
        root, names = Path(saved.root), [t.name for t in saved.tenants]
    else:
        root = target
    async with RuntimeClient.open(runtime) as client:
        with progress("Reading live state", tenant_count(root, names)) as advance:
            planned: Planned = await make_plan(
                client, root, catalog, names, describe(runtime), advance
            )
        echo_diagnostics(planned.project.warnings, err=True, summary=False)
        plan = planned.plan
        if saved is not None:
            _verify_saved(saved, plan)
        else:
            click.echo(render_text(plan, color=color), nl=False)
        work = [t for t in plan.tenants if t.has_work]
        if not work:
            if saved is not None:
                click.echo("No changes.")
            return 0
        if plan.counts.total:
            check_destroy(plan, planned.live, max_destroy, allow_destroy)
            if saved is None:
                _confirm(auto_approve)
        with progress("Applying", len(work)) as advance:
            results = await apply_tenants(
                client, work, planned.project.tenants, commit_from_env(), lambda _: advance()
            )
    return _report(results, {t.name: t for t in work})


@click.command("apply")
@click.argument(
    "target",
    required=False,
    default=Path("tenants"),
    envvar="HUBOPS_ROOT",
    type=click.Path(path_type=Path),
    metavar="[ROOT | PLANFILE]",
)
@tenant_option
@catalog_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option(
    "--max-destroy",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Refuse to destroy more resources than this without --allow-destroy.",
)
@click.option("--allow-destroy", is_flag=True, help="Allow large or tenant-wide deletions.")
@changed_since_option
@shard_option
@runtime_option
@color_option
def apply_command(
    target: Path,
    tenants: tuple[str, ...],
    catalog: Path | None,
    auto_approve: bool,
    max_destroy: int,
    allow_destroy: bool,
    changed_since: str | None,
    shard: str | None,
    runtime: str,
    no_color: bool,
) -> int:
    """Apply the manifests under ROOT, or exactly the saved plan PLANFILE."""
    names: list[str] | None = None
    if target.is_file():
        if tenants or changed_since or shard:
            raise UsageError(
                "--tenant, --changed-since and --shard cannot be combined with a plan file; "
                "the plan names its tenants"
            )
    else:
        names = selected_tenants(target, catalog, tenants, changed_since, shard)
    return asyncio.run(
        _run(
            runtime,
            target,
            names,
            catalog,
            auto_approve,
            max_destroy,
            allow_destroy,
            use_color(no_color),
        )
    )
