"""The text plan: one block per changed tenant, the contract's symbols, the closing line."""

from __future__ import annotations

from collections.abc import Iterator

import click

from hubops.plan.model import ACTION_SYMBOLS, Plan, TenantPlan
from hubops.render.escape import printable
from hubops.render.values import field_line

COLORS = {"create": "green", "update": "yellow", "delete": "red"}
OWNER_APPROVAL = "  (owner approval)"


def tenant_lines(tenant: TenantPlan, color: bool = False, indent: str = "  ") -> Iterator[str]:
    for change in tenant.changes:
        line = f"{ACTION_SYMBOLS[change.action]} {printable(change.address)}"
        line = click.style(line, fg=COLORS[change.action]) if color else line
        yield indent + line + (OWNER_APPROVAL if change.owner_approval else "")
        for field in change.fields:
            yield f"{indent}    {printable(field_line(field))}"


def note_lines(tenant: TenantPlan, indent: str = "  ") -> Iterator[str]:
    for note in tenant.notes:
        yield f"{indent}Note: {note}"


def unchanged_line(plan: Plan) -> str | None:
    """`N tenants unchanged.`, saying how many of them were not parsed (SPEC 8)."""
    unchanged = len(plan.tenants) - len(plan.changed)
    if not unchanged or not (plan.changed or plan.skipped):
        return None
    line = f"{unchanged} tenant{'s' if unchanged != 1 else ''} unchanged"
    if plan.skipped:
        its = "its" if plan.skipped == 1 else "their"
        line += f" ({plan.skipped} not parsed: as at {its} last apply)"
    return line + "."


def render_text(plan: Plan, color: bool = False) -> str:
    lines: list[str] = []
    for tenant in plan.tenants:
        if not tenant.changes and not tenant.notes:
            continue
        counts = tenant.counts
        title = f"Tenant {printable(tenant.name)}"
        title += f" (revision {tenant.base_revision})" if tenant.base_revision else " (new)"
        lines.append(click.style(title, bold=True) if color else title)
        lines.extend(tenant_lines(tenant, color))
        lines.extend(note_lines(tenant))
        lines.append(f"  {counts.sentence()}")
        lines.append("")
    line = unchanged_line(plan)
    if line:
        lines.append(line)
    lines.append(plan.counts.sentence())
    return "\n".join(lines) + "\n"
