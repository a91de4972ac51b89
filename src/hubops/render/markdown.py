"""The Markdown plan, for a pull-request comment.

One collapsible section per changed tenant, its counts in the summary, and
below its changes the partners they involve, each linked to its user guide;
the last line is the text plan's closing line, verbatim, preceded by the
count of changes that need an owner's approval when there are any. GitHub
refuses comments over 65,536 characters, so when the plan is bigger the
longest sections are cut first (with a note), and if even the section
headers do not fit, the last tenants are summarised in one line.
"""

from __future__ import annotations

from itertools import accumulate

from hubops.plan.model import Counts, Plan, TenantPlan
from hubops.render.escape import code_block, html_text
from hubops.render.links import markdown_link
from hubops.render.text import tenant_lines, unchanged_line

GITHUB_COMMENT_LIMIT = 65_536
MARKER = "<!-- hubops-plan -->"


def _counts(counts: Counts) -> str:
    return f"{counts.add} to add, {counts.change} to change, {counts.destroy} to destroy"


def approval_line(plan: Plan) -> str:
    """`Needs owner approval: N changes in M tenants.`, or "" when no change needs it."""
    if not plan.owner_approvals:
        return ""
    # SPEC 12 fixes the words at every count, so a workflow can match the line exactly.
    return (
        f"Needs owner approval: {plan.owner_approvals} changes in {plan.approval_tenants} tenants."
    )


def _partners(tenant: TenantPlan) -> str:
    if not tenant.partners:
        return ""
    ordered = sorted(tenant.partners.values(), key=lambda p: p.name.casefold())
    return "\n\nPartners: " + ", ".join(markdown_link(p.name, p.docs_url) for p in ordered)


def _section(tenant: TenantPlan, lines: list[str], keep: int) -> str:
    cut = ""
    if keep < len(lines):
        cut = (
            f"\n\n_{len(lines) - keep} more lines not shown to stay within GitHub's comment "
            "size limit; the JSON plan has everything._"
        )
    block = code_block(lines[:keep], "diff") if keep else ""
    summary = f"<b>{html_text(tenant.name)}</b>: {_counts(tenant.counts)}"
    partners = _partners(tenant)
    return f"<details><summary>{summary}</summary>\n\n{block}{cut}{partners}\n\n</details>\n"


def render_markdown(
    plan: Plan, title: str = "hubops plan", limit: int = GITHUB_COMMENT_LIMIT
) -> str:
    changed = plan.changed
    head = f"{MARKER}\n### {title}\n\n"
    line = unchanged_line(plan)
    foot = f"{line}\n\n" if line else ""
    notes = [f"> **{t.name}**: {note}\n" for t in plan.tenants for note in t.notes]
    if notes:
        foot = "".join(notes) + "\n" + foot
    if approval_line(plan):
        foot += approval_line(plan) + "\n\n"
    foot += plan.counts.sentence() + "\n"
    lines = [list(tenant_lines(t, indent="")) for t in changed]
    keep = [len(body) for body in lines]
    parts = [_section(t, body, len(body)) + "\n" for t, body in zip(changed, lines, strict=True)]
    size = sum(map(len, parts))
    budget = limit - len(head) - len(foot) - 200  # room for the "not shown" line
    while size > budget and any(keep):
        longest = max(range(len(keep)), key=keep.__getitem__)
        keep[longest] //= 2
        size -= len(parts[longest])
        parts[longest] = _section(changed[longest], lines[longest], keep[longest]) + "\n"
        size += len(parts[longest])
    shown = len(parts)
    if size > budget:
        shown = sum(1 for total in accumulate(map(len, parts)) if total <= budget)
    rest = ""
    if shown < len(changed):
        hidden = changed[shown:]
        total = Counts()
        for tenant in hidden:
            total += tenant.counts
        rest = (
            f"_{len(hidden)} more tenants with changes not shown ({_counts(total)}); "
            "the JSON plan has everything._\n\n"
        )
    return head + "".join(parts[:shown]) + rest + foot
