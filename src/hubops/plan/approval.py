"""Which changes need an owner's approval: the one home of that rule.

The Partner Settings page tells admins to ask an owner when a partner
"affects finance, loyalty, online ordering, or live operational flows". A
resource change needs that approval when it

* creates, updates or deletes an `integration/...` or `credentials/...` of a
  partner whose catalog category is in `APPROVAL_CATEGORIES`, or that the
  catalog marks `liveOperations: true`;
* touches a `token/...` that has a `:write` scope before or after the change;
* touches any `webhook/...`, or changes `license/integrationHub`;
* deletes anything (every kind, present or future).

The partner of an integration is its body's `partner` (either side of an
update). Credentials name no partner: `credentials/NAME` belongs to every
integration that references NAME in the desired or in the live state, so
moving credentials from a loyalty partner to a CRM still asks the owner. A
partner the catalog does not know (only possible on the live side) counts as
needing approval, since nothing says it is harmless.

The planner calls this once per change when it builds the plan and stores
the answer on the change: renderers, plan files and the workflow read it,
none of them decides it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from hubops.manifest.models import Partner
from hubops.plan.model import PartnerInfo, ResourceChange
from hubops.state import Body, State

APPROVAL_CATEGORIES = frozenset({"accounting", "loyalty", "online-ordering"})
WRITE_SCOPE_SUFFIX = ":write"


@dataclass(frozen=True)
class ApprovalContext:
    """What the rule needs beyond the change: the catalog, and who uses which credentials."""

    partners: Mapping[str, Partner]
    # credentials name -> ids of the partners whose integrations reference it
    credential_partners: Mapping[str, frozenset[str]]


def partner_needs_approval(partner: Partner | None) -> bool:
    return partner is None or partner.category in APPROVAL_CATEGORIES or partner.live_operations


def credential_partners(states: Iterable[State]) -> dict[str, frozenset[str]]:
    """For each credentials name, the partners of the integrations that reference it."""
    found: dict[str, set[str]] = {}
    for state in states:
        for address, body in state.items():
            if address.startswith("integration/") and isinstance(body.get("credentials"), str):
                found.setdefault(body["credentials"], set()).add(str(body.get("partner")))
    return {name: frozenset(ids) for name, ids in found.items()}


def _bodies(change: ResourceChange) -> list[Body]:
    return [body for body in (change.before, change.after) if body is not None]


def change_partners(change: ResourceChange, context: ApprovalContext) -> frozenset[str]:
    """Ids of the catalog partners an integration or credentials change belongs to."""
    kind, _, name = change.address.partition("/")
    if kind == "integration":
        return frozenset(str(b["partner"]) for b in _bodies(change) if "partner" in b)
    if kind == "credentials":
        return context.credential_partners.get(name, frozenset())
    return frozenset()


def needs_owner_approval(change: ResourceChange, context: ApprovalContext) -> bool:
    if change.action == "delete":
        return True
    kind, _, _ = change.address.partition("/")
    if kind in ("webhook", "license"):
        return True
    if kind == "token":
        return any(
            str(scope).endswith(WRITE_SCOPE_SUFFIX)
            for body in _bodies(change)
            for scope in body.get("scopes") or ()
        )
    if kind in ("integration", "credentials"):
        return any(
            partner_needs_approval(context.partners.get(partner_id))
            for partner_id in change_partners(change, context)
        )
    return False


def mark_approvals(changes: list[ResourceChange], context: ApprovalContext) -> list[ResourceChange]:
    return [replace(c, owner_approval=needs_owner_approval(c, context)) for c in changes]


def involved_partners(
    changes: Iterable[ResourceChange], context: ApprovalContext
) -> dict[str, PartnerInfo]:
    """Name and user guide of each known partner the changes belong to, by id."""
    ids = sorted({p for change in changes for p in change_partners(change, context)})
    return {
        pid: PartnerInfo(context.partners[pid].name, context.partners[pid].docs_url)
        for pid in ids
        if pid in context.partners
    }
