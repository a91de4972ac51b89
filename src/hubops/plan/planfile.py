"""The plan as a file: the JSON form written by `plan --out` and read by `apply PLANFILE`.

Its pydantic models are the source of `schemas/plan.schema.json`. A plan
file holds bodies with sensitive markers and the fingerprints of what apply
will send, never a secret value and never the key the fingerprints use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hubops import __version__
from hubops.errors import UsageError
from hubops.fields import HttpsUrl
from hubops.plan.model import (
    MISSING,
    Counts,
    FieldChange,
    PartnerInfo,
    Plan,
    ResourceChange,
    TenantPlan,
)

FORMAT_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SummaryFile(_Model):
    add: int
    change: int
    destroy: int


class FieldChangeFile(_Model):
    path: str = Field(description="Dotted path inside the body, e.g. settings.instantOrdering.")
    before: Any = Field(default=None, description="Absent when the field is added.")
    after: Any = Field(default=None, description="Absent when the field is removed.")
    beforeAbsent: bool = False
    afterAbsent: bool = False


class ChangeFile(_Model):
    address: str = Field(description="Resource address, e.g. integration/xero@acme-001.")
    action: Literal["create", "update", "delete"]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fieldChanges: list[FieldChangeFile] = []
    ownerApproval: bool = Field(
        description="The change needs an owner's approval (partner category or live "
        "operations, a write-scoped token, a webhook, the license, or a delete)."
    )


class PartnerFile(_Model):
    name: str
    docsUrl: HttpsUrl | None = Field(default=None, description="The partner's user guide.")


class TenantFile(_Model):
    name: str
    baseRevision: int = Field(description="Live revision the plan was made against (0: new).")
    summary: SummaryFile
    changes: list[ChangeFile]
    ownerApprovals: int = Field(
        ge=0, description="How many of the changes need an owner's approval."
    )
    partners: dict[str, PartnerFile] = Field(
        default_factory=dict,
        description="The catalog partners of the integration and credentials changes, by id.",
    )
    secretsDigest: str | None = Field(
        default=None, description="Digest of the secrets files, when apply will record it."
    )
    entryFingerprints: dict[str, str] | None = None
    sends: dict[str, str] = Field(
        default_factory=dict,
        description="Fingerprint of every secret value apply will send, by secret address.",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Notes that are no change, e.g. connection requests awaiting review.",
    )
    configDigest: str | None = Field(
        default=None,
        description="Digest of the tenant's files, the catalog and the hubops version, when "
        "apply will record it.",
    )
    skipped: bool = Field(
        default=False,
        description="Reported unchanged without being parsed: its files, the catalog, the "
        "hubops version and its live revision are those of its last apply.",
    )


class PlanFile(_Model):
    """A saved hubops plan."""

    formatVersion: Literal[1]
    hubopsVersion: str
    createdAt: datetime
    root: str
    runtime: str
    summary: SummaryFile
    ownerApprovals: int = Field(ge=0, description="How many changes need an owner's approval.")
    skipped: int = Field(
        default=0, ge=0, description="How many tenants were reported unchanged without parsing."
    )
    tenants: list[TenantFile]


def _summary(counts: Counts) -> SummaryFile:
    return SummaryFile(add=counts.add, change=counts.change, destroy=counts.destroy)


def _field(change: FieldChange) -> FieldChangeFile:
    return FieldChangeFile(
        path=change.path,
        before=None if change.before is MISSING else change.before,
        after=None if change.after is MISSING else change.after,
        beforeAbsent=change.before is MISSING,
        afterAbsent=change.after is MISSING,
    )


def to_file(plan: Plan) -> PlanFile:
    return PlanFile(
        formatVersion=FORMAT_VERSION,
        hubopsVersion=__version__,
        createdAt=plan.created_at,
        root=plan.root,
        runtime=plan.runtime,
        summary=_summary(plan.counts),
        ownerApprovals=plan.owner_approvals,
        skipped=plan.skipped,
        tenants=[
            TenantFile(
                name=t.name,
                baseRevision=t.base_revision,
                summary=_summary(t.counts),
                changes=[
                    ChangeFile(
                        address=c.address,
                        action=c.action,
                        before=c.before,
                        after=c.after,
                        fieldChanges=[_field(f) for f in c.fields],
                        ownerApproval=c.owner_approval,
                    )
                    for c in t.changes
                ],
                ownerApprovals=t.owner_approvals,
                partners={
                    pid: PartnerFile(name=p.name, docsUrl=p.docs_url)
                    for pid, p in t.partners.items()
                },
                secretsDigest=t.secrets_digest,
                entryFingerprints=t.entry_fingerprints,
                sends=t.sends,
                notes=t.notes,
                configDigest=t.config_digest,
                skipped=t.skipped,
            )
            for t in plan.tenants
        ],
    )


def dumps(plan: Plan) -> str:
    return to_file(plan).model_dump_json(indent=2) + "\n"


def from_file(data: PlanFile) -> Plan:
    return Plan(
        tenants=[
            TenantPlan(
                name=t.name,
                base_revision=t.baseRevision,
                changes=[
                    ResourceChange(
                        c.address,
                        c.action,
                        c.before,
                        c.after,
                        tuple(
                            FieldChange(
                                f.path,
                                MISSING if f.beforeAbsent else f.before,
                                MISSING if f.afterAbsent else f.after,
                            )
                            for f in c.fieldChanges
                        ),
                        c.ownerApproval,
                    )
                    for c in t.changes
                ],
                partners={pid: PartnerInfo(p.name, p.docsUrl) for pid, p in t.partners.items()},
                secrets_digest=t.secretsDigest,
                entry_fingerprints=t.entryFingerprints,
                sends=t.sends,
                notes=t.notes,
                config_digest=t.configDigest,
                skipped=t.skipped,
            )
            for t in data.tenants
        ],
        created_at=data.createdAt,
        root=data.root,
        runtime=data.runtime,
    )


def loads(text: str, source: str) -> Plan:
    try:
        return from_file(PlanFile.model_validate_json(text))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise UsageError(
            f"{source} is not a hubops plan file (format {FORMAT_VERSION}): {where}: "
            f"{first['msg']}; make it with `hubops plan --out FILE`"
        ) from None


def schema() -> dict[str, Any]:
    return PlanFile.model_json_schema(by_alias=True, mode="validation")
