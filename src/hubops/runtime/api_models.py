"""Request and response bodies of the admin API, as OpenAPI shows them.

Secret values arrive as `SecretStr`, so a request model that ends up in a
log or an exception shows `**********` rather than the value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictInt, StrictStr

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


class ChangeSetIn(_In):
    baseRevision: StrictInt = Field(ge=0)
    changes: list[ChangeIn]
    secretsDigest: StrictStr | None = None
    appliedFingerprints: dict[StrictStr, StrictStr] | None = None
    commit: StrictStr | None = Field(default=None, max_length=200)


class ChangeSetOut(BaseModel):
    revision: int
    changeSet: str


class TenantSummary(BaseModel):
    name: str
    revision: int


class SecretsRecord(BaseModel):
    digest: str | None
    fingerprints: dict[str, str]


class LastApplied(BaseModel):
    at: datetime
    by: str
    commit: str | None


class TenantOut(BaseModel):
    name: str
    revision: int
    state: dict[str, dict[str, Any]]
    secrets: SecretsRecord
    lastApplied: LastApplied | None


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


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: Any


class ErrorBody(BaseModel):
    error: ErrorInfo
