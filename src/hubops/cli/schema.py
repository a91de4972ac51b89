"""`hubops schema`: write the JSON Schemas of every kind."""

from __future__ import annotations

from pathlib import Path

import click

from hubops import schemas
from hubops.diagnostics import display_path


@click.command("schema")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Folder to write the *.schema.json files into.",
)
def schema_command(out: Path) -> None:
    """Write JSON Schemas generated from the manifest models."""
    for path in schemas.write(out):
        click.echo(f"wrote {display_path(path)}")
