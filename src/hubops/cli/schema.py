"""`hubops schema`: write the JSON Schemas of every kind, and of every webhook event's body."""

from __future__ import annotations

from pathlib import Path

import click

from hubops import schemas
from hubops.diagnostics import display_path
from hubops.runtime.webhooks import events


@click.command("schema")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Folder to write the *.schema.json files into.",
)
def schema_command(out: Path) -> None:
    """Write JSON Schemas generated from the manifest models and the event models (events/)."""
    for path in [*schemas.write(out), *schemas.write(out / "events", events.json_schemas())]:
        click.echo(f"wrote {display_path(path)}")
