"""The in-memory plan: what would change, per tenant, as plain data.

Renderers only read it; `apply` only sends it. The serialized form (the JSON
plan file) is a separate type in `planfile`, so this one can change freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hubops.state import Action, Body

ACTION_SYMBOLS: dict[str, str] = {"create": "+", "update": "~", "delete": "-"}


class _Missing:
    """A field that is absent on one side of an update (added or removed)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    address: str
    action: Action
    before: Body | None = None
    after: Body | None = None
    fields: tuple[FieldChange, ...] = ()
    # Set when the plan is built (`approval.needs_owner_approval`), so every format and a
    # saved plan carry the same answer.
    owner_approval: bool = False


@dataclass(frozen=True)
class PartnerInfo:
    """What a plan shows of a catalog partner its changes involve (name, user guide)."""

    name: str
    docs_url: str | None = None


@dataclass(frozen=True)
class Counts:
    add: int = 0
    change: int = 0
    destroy: int = 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.destroy

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.add + other.add, self.change + other.change, self.destroy + other.destroy
        )

    def sentence(self) -> str:
        if not self.total:
            return "No changes."
        return f"Plan: {self.add} to add, {self.change} to change, {self.destroy} to destroy."


@dataclass
class TenantPlan:
    name: str
    base_revision: int
    changes: list[ResourceChange] = field(default_factory=list)
    # Digest of the tenant's secrets files, and the fingerprints of every entry in them,
    # when they were decrypted for this plan (recorded by apply); None when unchanged.
    secrets_digest: str | None = None
    entry_fingerprints: dict[str, str] | None = None
    # Fingerprints of the secret values this plan sends (secret address -> fingerprint).
    sends: dict[str, str] = field(default_factory=dict)
    # The catalog partners of the integration and credentials changes, by partner id.
    partners: dict[str, PartnerInfo] = field(default_factory=dict)
    # Things to know that are no change, e.g. connection requests awaiting review.
    notes: list[str] = field(default_factory=list)
    # The configuration digest apply records (set when the runtime's record is not it).
    config_digest: str | None = None
    # Reported unchanged without parsing: its files, the catalog, the hubops version and
    # its live revision are those of its last apply (SPEC 8).
    skipped: bool = False

    @property
    def counts(self) -> Counts:
        actions = [c.action for c in self.changes]
        return Counts(actions.count("create"), actions.count("update"), actions.count("delete"))

    @property
    def owner_approvals(self) -> int:
        return sum(1 for c in self.changes if c.owner_approval)

    @property
    def has_work(self) -> bool:
        """Resource changes, or a new secrets or configuration digest to record."""
        return (
            bool(self.changes) or self.secrets_digest is not None or self.config_digest is not None
        )


@dataclass
class Plan:
    tenants: list[TenantPlan]
    created_at: datetime
    root: str
    runtime: str

    @property
    def counts(self) -> Counts:
        total = Counts()
        for tenant in self.tenants:
            total += tenant.counts
        return total

    @property
    def changed(self) -> list[TenantPlan]:
        return [t for t in self.tenants if t.changes]

    @property
    def owner_approvals(self) -> int:
        return sum(t.owner_approvals for t in self.tenants)

    @property
    def approval_tenants(self) -> int:
        """How many tenants hold a change that needs an owner's approval."""
        return sum(1 for t in self.tenants if t.owner_approvals)

    @property
    def skipped(self) -> int:
        """How many tenants were reported unchanged without being parsed."""
        return sum(1 for t in self.tenants if t.skipped)

    def noted(self) -> list[TenantPlan]:
        """Tenants without changes that have notes to show."""
        return [t for t in self.tenants if t.notes and not t.changes]
