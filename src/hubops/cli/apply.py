"""`hubops apply`: make the runtime match the manifests, or apply a saved plan exactly.

What apply refuses is decided in the core (`plan.guards`, called by
`reconcile.apply`); this command reads the flags and the plan file, shows
the plan, asks for `yes`, and reports each tenant's outcome.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
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
from hubops.cli.progress import Advance, stage_progress
from hubops.errors import UsageError
from hubops.plan import planfile
from hubops.plan.guards import DestroyLimit
from hubops.plan.model import Counts, Plan
from hubops.reconcile import Applied, ApplyRequest, Planned, Stage, apply, commit_from_env
from hubops.render.diagnostics import echo_diagnostics
from hubops.render.escape import printable
from hubops.render.text import render_text


@dataclass(frozen=True)
class Terminal:
    """`reconcile.Presenter` for a person (or CI) at a terminal."""

    color: bool
    auto_approve: bool

    def progress(self, stage: Stage, total: int) -> AbstractContextManager[Advance]:
        return stage_progress(stage, total)

    def show(self, planned: Planned, saved: bool) -> None:
        echo_diagnostics(planned.project.warnings, err=True, summary=False)
        if not saved:
            click.echo(render_text(planned.plan, color=self.color), nl=False)

    def confirm(self, plan: Plan) -> None:
        if self.auto_approve:
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


def _report(applied: Applied, saved: bool) -> int:
    if not applied.work:
        if saved:
            click.echo("No changes.")
        return 0
    tenants = {t.name: t for t in applied.work}
    done = Counts()
    failed = 0
    for result in sorted(applied.results, key=lambda r: r.name):
        if result.error is None:
            done += tenants[result.name].counts
            click.echo(f"{printable(result.name)}: applied (revision {result.revision})")
        else:
            failed += 1
            click.echo(f"{printable(result.name)}: failed: {printable(result.error)}", err=True)
    total = len(applied.results)
    click.echo(
        f"Apply complete! Resources: {done.add} added, {done.change} changed, "
        f"{done.destroy} destroyed."
        if not failed
        else f"Applied {total - failed} of {total} tenants; {failed} failed "
        f"(resources applied: {done.add} added, {done.change} changed, {done.destroy} destroyed)."
    )
    return 1 if failed else 0


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
    saved: Plan | None = None
    names: list[str] | None = None
    if target.is_file():
        if tenants or changed_since or shard:
            raise UsageError(
                "--tenant, --changed-since and --shard cannot be combined with a plan file; "
                "the plan names its tenants"
            )
        saved = planfile.loads(target.read_text(encoding="utf-8"), str(target))
    else:
        names = selected_tenants(target, catalog, tenants, changed_since, shard)
    request = ApplyRequest(
        root=target,
        catalog=catalog,
        names=names,
        saved=saved,
        destroy=DestroyLimit(max_destroy, allow_destroy),
        commit=commit_from_env(),
    )
    terminal = Terminal(color=use_color(no_color), auto_approve=auto_approve)
    applied = asyncio.run(apply(runtime, request, terminal))
    return _report(applied, saved is not None)
