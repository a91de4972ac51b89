"""`hubops status`: what the runtime holds per tenant, when and by whom it was last applied,
and (with --drift) whether it still matches the manifests."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from hubops.cli.options import catalog_option, runtime_option
from hubops.client import RuntimeClient, describe
from hubops.reconcile import make_plan
from hubops.render.escape import printable


@dataclass
class Row:
    name: str
    revision: int
    last_applied: dict[str, Any] | None
    drift: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "revision": self.revision,
            "lastApplied": self.last_applied,
        }
        if self.drift is not None:
            data["drift"] = self.drift
        return data


async def gather(runtime: str, drift_root: Path | None, catalog: Path | None) -> list[Row]:
    async with RuntimeClient.open(runtime) as client:
        names = [name for name, _ in await client.list_tenants()]
        live = await client.get_tenants(names)
        rows = {n: Row(n, t.revision, t.last_applied) for n, t in live.items()}
        if drift_root is not None:
            planned = await make_plan(client, drift_root, catalog, None, describe(runtime))
            for tenant in planned.plan.tenants:
                row = rows.setdefault(tenant.name, Row(tenant.name, 0, None))
                if tenant.base_revision == 0:
                    row.drift = "not applied"
                else:
                    row.drift = "drifted" if tenant.changes else "in-sync"
            for row in rows.values():
                row.drift = row.drift or "unmanaged"
    return sorted(rows.values(), key=lambda r: r.name)


def _when(stamp: object) -> str:
    """Seconds are enough in a table; JSON keeps the full timestamp."""
    return f"{str(stamp)[:19]}Z" if stamp else "-"


def _table(rows: list[Row], with_drift: bool) -> str:
    header = ["TENANT", "REVISION", "LAST APPLIED", "BY", "COMMIT"] + (
        ["DRIFT"] if with_drift else []
    )
    lines = [header]
    for row in rows:
        applied = row.last_applied or {}
        cells = [
            row.name,
            str(row.revision),
            _when(applied.get("at")),
            str(applied.get("by") or "-"),
            str(applied.get("commit") or "-")[:12],
        ]
        lines.append([printable(c) for c in cells] + ([row.drift or "-"] if with_drift else []))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


@click.command("status")
@runtime_option
@click.option(
    "--drift",
    "drift_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="ROOT",
    help="Also compare with the manifests under ROOT: in-sync, drifted, not applied, unmanaged.",
)
@catalog_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def status_command(runtime: str, drift_root: Path | None, catalog: Path | None, fmt: str) -> None:
    """Show each tenant in the runtime: revision and last apply (when, by whom, which commit)."""
    rows = asyncio.run(gather(runtime, drift_root, catalog))
    if fmt == "json":
        click.echo(json.dumps({"tenants": [r.as_json() for r in rows]}, indent=2))
    elif rows:
        click.echo(_table(rows, drift_root is not None))
    else:
        click.echo(f"The {describe(runtime)} holds no tenants yet.")
