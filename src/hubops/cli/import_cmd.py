"""`hubops import`: write manifests for a tenant the runtime already holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from hubops.cli.options import runtime_option
from hubops.client import RuntimeClient, describe, is_remote
from hubops.diagnostics import display_path
from hubops.errors import UsageError
from hubops.fields import NAME_RULE, is_name
from hubops.importer import import_tenant
from hubops.live import LiveTenant
from hubops.render.escape import printable


async def _fetch(runtime: str, name: str) -> LiveTenant:
    async with RuntimeClient.open(runtime) as client:
        return await client.get_tenant(name)


@click.command("import")
@click.option("--tenant", "name", required=True, metavar="NAME", help="The tenant to import.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the manifests into (normally ROOT/NAME).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace manifests and the secrets template already in DIR (never through a link).",
)
@runtime_option
def import_command(name: str, out: Path, runtime: str, force: bool) -> None:
    """Write manifests (and a secrets template) for a tenant from the runtime's live state."""
    if not is_name(name):
        raise UsageError(f"--tenant is not a valid tenant name: use {NAME_RULE}")
    live = asyncio.run(_fetch(runtime, name))
    if live.revision == 0:
        raise UsageError(f"the runtime holds no tenant named {name}")
    where = describe(runtime) if is_remote(runtime) else f"the {describe(runtime)}"
    origin = f"revision {live.revision} of tenant {name} in {where}"
    written, warnings = import_tenant(name, live.state, out, origin, force)
    for warning in warnings:
        click.echo(f"warning: {printable(warning)}", err=True)
    for path in written:
        click.echo(f"wrote {printable(display_path(path))}")
    click.echo(
        "Fill in the secrets template and encrypt it with sops; then `hubops plan` shows "
        "no changes for this tenant.",
        err=True,
    )
