"""`hubops status`: what the runtime holds per tenant, when and by whom it was last applied,
(with --drift) whether it still matches the manifests (`plan.drift` decides), and which
webhooks are failing or were switched off by the runtime."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from hubops.cli.options import catalog_option, format_option, runtime_option
from hubops.client import describe
from hubops.live import FailingWebhook
from hubops.reconcile import TenantStatus, status
from hubops.render.escape import printable


def _json(row: TenantStatus) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": row.name,
        "revision": row.revision,
        "lastApplied": row.last_applied,
    }
    if row.drift is not None:
        data["drift"] = row.drift
    data["failingWebhooks"] = [
        {
            "name": hook.name,
            "enabled": hook.enabled,
            "failingSince": hook.failing_since,
            "lastError": hook.last_error,
            "disabledReason": hook.disabled_reason,
        }
        for hook in row.failing_webhooks
    ]
    return data


def _failing(tenant: str, hook: FailingWebhook) -> str:
    since = f"failing since {_when(hook.failing_since)}" if hook.failing_since else "failing"
    line = f"  {tenant}/{hook.name}: {since}"
    if hook.last_error:
        line += f" ({hook.last_error})"
    if not hook.enabled:
        line += f"; disabled: {hook.disabled_reason}"
    return printable(line)


def _when(stamp: object) -> str:
    """Seconds are enough in a table; JSON keeps the full timestamp."""
    return f"{str(stamp)[:19]}Z" if stamp else "-"


def _table(rows: list[TenantStatus], with_drift: bool) -> str:
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
@format_option("text", "json")
def status_command(runtime: str, drift_root: Path | None, catalog: Path | None, fmt: str) -> None:
    """Show each tenant in the runtime: revision and last apply (when, by whom, which commit)."""
    rows = asyncio.run(status(runtime, drift_root, catalog))
    if fmt == "json":
        click.echo(json.dumps({"tenants": [_json(r) for r in rows]}, indent=2))
    elif rows:
        click.echo(_table(rows, drift_root is not None))
        failing = [_failing(row.name, hook) for row in rows for hook in row.failing_webhooks]
        if failing:
            click.echo("\nFailing webhooks:")
            click.echo("\n".join(failing))
    else:
        click.echo(f"The {describe(runtime)} holds no tenants yet.")
