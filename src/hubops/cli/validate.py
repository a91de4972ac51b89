"""`hubops validate`: check manifests, catalog and secrets; exit 0 valid, 1 invalid."""

from __future__ import annotations

from pathlib import Path

import click

from hubops.cli.options import catalog_option, format_option, root_argument, tenant_option
from hubops.errors import ConfigError
from hubops.manifest.project import load_project
from hubops.render.diagnostics import echo_diagnostics


@click.command("validate")
@root_argument
@catalog_option
@tenant_option
@format_option("text", "github", help="github also prints ::error annotations for GitHub Actions.")
@click.option(
    "--no-decrypt",
    is_flag=True,
    help="Check secrets files' structure only, without a key (e.g. for pull requests from forks).",
)
def validate_command(
    root: Path, catalog: Path | None, tenants: tuple[str, ...], fmt: str, no_decrypt: bool
) -> int:
    """Validate the manifests under ROOT (default: ./tenants)."""
    try:
        project = load_project(root, catalog, tenants or None, decrypt=not no_decrypt)
    except ConfigError as exc:
        echo_diagnostics(exc.diagnostics, github=fmt == "github")
        return 1
    echo_diagnostics(project.warnings, github=fmt == "github", summary=False)
    count = len(project.tenants)
    note = " (secrets not decrypted)" if no_decrypt else ""
    click.echo(f"Valid: {count} tenant{'s' if count != 1 else ''}{note}.")
    return 0
