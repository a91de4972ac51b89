"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path

import click

root_argument = click.argument(
    "root",
    required=False,
    default=Path("tenants"),
    envvar="HUBOPS_ROOT",
    type=click.Path(path_type=Path),
)

catalog_option = click.option(
    "--catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Partner catalog (default: ROOT/../catalog.yaml).",
)

tenant_option = click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="NAME",
    help="Only this tenant (repeatable).",
)
