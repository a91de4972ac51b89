"""`hubops catalog upload`: an operator's manual catalog upload, waited for to its outcome."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

import click

from hubops.cli.options import runtime_option
from hubops.client import RuntimeClient
from hubops.diagnostics import display_path
from hubops.errors import UsageError

CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json"}
POLL_SECONDS = 0.2
SHOWN_PROBLEMS = 5


def content_type_of(path: Path) -> str:
    kind = CONTENT_TYPES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"{display_path(path)}: cannot tell whether it is CSV or JSON; name the file "
            "*.csv or *.json"
        )
    return kind


async def upload_and_wait(
    runtime: str, tenant: str, store: str, path: Path, mode: str, timeout: float
) -> tuple[dict[str, Any], bytes | None]:
    """The finished upload and, when it had errors, its error file."""
    async with RuntimeClient.open(runtime) as client:
        upload = await client.upload_catalog(tenant, store, path, mode, content_type_of(path))
        deadline = time.monotonic() + timeout
        while upload["status"] == "processing":
            if time.monotonic() > deadline:
                raise UsageError(
                    f"upload {upload['id']} is still processing after {timeout:g} s; see its "
                    "outcome later in the upload history"
                )
            await asyncio.sleep(POLL_SECONDS)
            upload = await client.get_upload(tenant, upload["id"])
        errors = None
        if upload["errorFile"] is not None:
            errors = await client.upload_errors(tenant, upload["id"])
        return upload, errors


def _problems(errors: bytes) -> list[str]:
    reader = csv.reader(io.StringIO(errors.decode("utf-8")))
    next(reader, None)
    shown = []
    for line, sku, field, error in reader:
        where = f"line {line}" if line else "file"
        what = f" sku {sku}" if sku else ""
        shown.append(f"  {where}{what}{f' ({field})' if field else ''}: {error}")
    return shown


@click.group("catalog")
def catalog_group() -> None:
    """A store's catalog files."""


@catalog_group.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True, metavar="T", help="The tenant.")
@click.option("--store", required=True, metavar="S", help="The store whose catalog it is.")
@click.option(
    "--mode",
    type=click.Choice(["replace", "update"]),
    default="replace",
    show_default=True,
    help="replace: the file is the whole catalog; update: only the skus it lists.",
)
@click.option(
    "--errors-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the error file (line,sku,field,error) here when there are problems.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=15 * 60.0,
    show_default=True,
    help="Seconds to wait for the outcome.",
)
@runtime_option
def upload_command(
    file: Path,
    tenant: str,
    store: str,
    mode: str,
    errors_out: Path | None,
    timeout: float,
    runtime: str,
) -> int:
    """Upload FILE (CSV or JSON) as the store's catalog and wait for the outcome.

    Exit 0 when it succeeded, 1 when it failed or was applied only in part.
    """
    upload, errors = asyncio.run(upload_and_wait(runtime, tenant, store, file, mode, timeout))
    click.echo(
        f"Upload {upload['id']} of {display_path(file)} to {tenant}/{store} ({mode}): "
        f"{upload['status']}; {upload['rows']} rows, {upload['accepted']} accepted, "
        f"{upload['rejected']} rejected."
    )
    if errors is not None:
        problems = _problems(errors)
        for line in problems[:SHOWN_PROBLEMS]:
            click.echo(line, err=True)
        if len(problems) > SHOWN_PROBLEMS:
            click.echo(f"  ... and {len(problems) - SHOWN_PROBLEMS} more problems", err=True)
        if errors_out is not None:
            errors_out.parent.mkdir(parents=True, exist_ok=True)
            errors_out.write_bytes(errors)
            click.echo(f"Wrote the error file to {display_path(errors_out)}.", err=True)
        else:
            click.echo("Write every problem to a file with --errors-out FILE.", err=True)
    return 0 if upload["status"] == "succeeded" else 1
