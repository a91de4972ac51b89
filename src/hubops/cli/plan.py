"""`hubops plan`: show what apply would change; optionally save it as a plan file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from hubops import reconcile
from hubops.cli.options import (
    catalog_option,
    changed_since_option,
    color_option,
    format_option,
    root_argument,
    runtime_option,
    selected_tenants,
    shard_option,
    tenant_option,
    use_color,
)
from hubops.cli.progress import stage_progress
from hubops.errors import UsageError
from hubops.files import write_text
from hubops.plan import planfile
from hubops.render.diagnostics import echo_diagnostics
from hubops.render.markdown import render_markdown
from hubops.render.text import render_text


def write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: its folder cannot be created ({exc.strerror})") from None
    write_text(path, text, replace=True)


@click.command("plan")
@root_argument
@tenant_option
@catalog_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (JSON) for `apply PLANFILE`.",
)
@format_option("text", "json", "markdown")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (0: none, 1: error).",
)
@click.option(
    "--report",
    is_flag=True,
    help="Also send each tenant's counts to the runtime, for the console's tenants page.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Parse and diff every tenant, also those unchanged since their last apply.",
)
@changed_since_option
@shard_option
@runtime_option
@color_option
def plan_command(
    root: Path,
    tenants: tuple[str, ...],
    catalog: Path | None,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    report: bool,
    full: bool,
    changed_since: str | None,
    shard: str | None,
    runtime: str,
    no_color: bool,
) -> int:
    """Show what `apply` would change in the runtime for the tenants under ROOT."""
    names = selected_tenants(root, catalog, tenants, changed_since, shard)
    planned = asyncio.run(
        reconcile.plan(runtime, root, catalog, names, stage_progress, report, full)
    )
    echo_diagnostics(planned.project.warnings, err=True, summary=False)
    plan = planned.plan
    if out is not None:
        write_atomically(out, planfile.dumps(plan))
    if fmt == "json":
        click.echo(planfile.dumps(plan), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(plan), nl=False)
    else:
        click.echo(render_text(plan, color=use_color(no_color)), nl=False)
    if out is not None and fmt != "json":
        click.echo(f"Saved the plan to {out}; apply it with `hubops apply {out}`.", err=True)
    if report:
        click.echo(f"Reported {len(planned.reported)} tenant(s) to the runtime.", err=True)
    return 2 if detailed_exitcode and plan.counts.total else 0
