"""Request and response bodies of the admin API, as OpenAPI shows them.

Secret values arrive as `SecretStr`, so a request model that ends up in a
log or an exception shows `**********` rather than the value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictInt, StrictStr

from hubops.plan.parts import MAX_PARTS
from hubops.state import Action


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeIn(_In):
    address: StrictStr
    action: Action
    body: dict[str, Any] | None = Field(
        default=None, description="The whole body for create and update; absent for delete."
    )
    secrets: dict[StrictStr, SecretStr] | None = Field(
        default=None,
        description="Secret values keyed by the body path of their marker "
        "(`value`, `secret`, `fields.FIELD`).",
    )


class ChangeSetPart(_In):
    """Which part of a change set too large for one request this body is (see docs)."""

    upload: StrictStr = Field(
        pattern=r"^[A-Za-z0-9_-]{16,64}$",
        description="Chosen by the client, the same in every part of one change set.",
    )
    index: StrictInt = Field(ge=0, lt=MAX_PARTS, description="0-based; the last part is sent last.")
    count: StrictInt = Field(ge=2, le=MAX_PARTS)


class ChangeSetIn(_In):
    baseRevision: StrictInt = Field(ge=0)
    changes: list[ChangeIn]
    secretsDigest: StrictStr | None = Field(default=None, max_length=200)
    appliedFingerprints: dict[StrictStr, StrictStr] | None = None
    configDigest: StrictStr | None = Field(
        default=None,
        max_length=200,
        description="Digest of the files the change set was planned from; recorded with the "
        "revision it makes, so a later plan can tell the tenant is unchanged.",
    )
    commit: StrictStr | None = Field(default=None, max_length=200)
    part: ChangeSetPart | None = Field(
        default=None,
        description="Present when the change set is sent in parts: the runtime keeps each "
        "part and applies all of them atomically when the last one arrives.",
    )


class ChangeSetOut(BaseModel):
    revision: int
    changeSet: str


class StagedPartOut(BaseModel):
    upload: str
    received: int = Field(description="Parts of this upload the runtime now holds.")
    count: int


class TenantSummary(BaseModel):
    name: str
    revision: int


class SecretsRecord(BaseModel):
    digest: str | None
    fingerprints: dict[str, str]


class ConfigRecord(BaseModel):
    digest: str | None = Field(description="Configuration digest the last apply recorded.")
    revision: int | None = Field(description="The revision that apply made.")


class LastApplied(BaseModel):
    at: datetime
    by: str
    commit: str | None


class TenantOut(BaseModel):
    name: str
    revision: int
    state: dict[str, dict[str, Any]]
    secrets: SecretsRecord
    config: ConfigRecord
    lastApplied: LastApplied | None
    pendingConnections: list[str] = Field(
        default_factory=list,
        description="Retailer ids whose connection requests await review (informational).",
    )


class TenantStates(BaseModel):
    items: list[TenantOut] = Field(
        description="The named tenants the runtime holds, sorted by name; one it does not "
        "hold is left out."
    )


class FingerprintKeyOut(BaseModel):
    key: str = Field(description="base64 of the 32-byte fingerprint key")


class AuditChange(BaseModel):
    address: str
    action: Action


class AuditRecord(BaseModel):
    id: str
    revision: int
    at: datetime
    by: str
    commit: str | None
    changes: list[AuditChange]


class AuditPage(BaseModel):
    items: list[AuditRecord]
    nextCursor: str | None


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: Any


class ErrorBody(BaseModel):
    error: ErrorInfo
