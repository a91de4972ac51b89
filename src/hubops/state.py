"""The normalized form shared by desired state (manifests) and live state (runtime).

A tenant's state is a mapping `address -> body`. Addresses are the
contract's (`tenant/NAME`, `store/ID`, `license/integrationHub`,
`admin/EMAIL`, `integration/NAME@STORE`, `credentials/NAME`, `token/NAME`,
`webhook/NAME`); bodies are plain JSON data with every secret replaced by a
`{"$sensitive": fingerprint}` marker. Both sides produce exactly this form,
so the diff is one generic function and the runtime can validate a change
set against the same body models the planner fills.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from hubops.manifest.models import EventType, Plan, Role, Scope

Body = dict[str, Any]
State = dict[str, Body]

KINDS = ("tenant", "store", "license", "admin", "integration", "credentials", "token", "webhook")
# Where each kind's secrets sit in its body (field names holding markers).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {"token": ("value",), "webhook": ("secret",)}


class Sensitive(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fingerprint: Annotated[StrictStr, Field(alias="$sensitive", min_length=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantSettingsBody(_Body):
    instantOrdering: StrictBool
    termsOfServiceUrl: StrictStr | None


class TenantBody(_Body):
    displayName: StrictStr
    plan: Plan
    settings: TenantSettingsBody


class StoreBody(_Body):
    name: StrictStr
    timezone: StrictStr


class LicenseBody(_Body):
    quantity: StrictInt | None
    stores: list[StrictStr]


class AdminBody(_Body):
    role: Role


class IntegrationBody(_Body):
    partner: StrictStr
    enabled: StrictBool
    config: dict[StrictStr, StrictStr]
    shopId: StrictStr | None
    credentials: StrictStr | None


class CredentialsBody(_Body):
    """`fields` maps each credential field name to its sensitive marker."""

    fields: dict[StrictStr, Sensitive]


class TokenBody(_Body):
    scopes: list[Scope]
    stores: list[StrictStr] | None
    expiresAt: StrictStr | None
    value: Sensitive


class WebhookBody(_Body):
    url: StrictStr
    events: list[EventType]
    stores: list[StrictStr] | None
    enabled: StrictBool
    secret: Sensitive


BODY_MODELS: dict[str, type[_Body]] = {
    "tenant": TenantBody,
    "store": StoreBody,
    "license": LicenseBody,
    "admin": AdminBody,
    "integration": IntegrationBody,
    "credentials": CredentialsBody,
    "token": TokenBody,
    "webhook": WebhookBody,
}


def address(kind: str, name: str, store: str | None = None) -> str:
    return f"{kind}/{name}@{store}" if store else f"{kind}/{name}"


def parse_address(addr: str) -> tuple[str, str, str | None]:
    """(kind, name, store) of an address; ValueError naming the problem otherwise."""
    kind, sep, rest = addr.partition("/")
    if not sep or kind not in KINDS or not rest:
        raise ValueError(
            f'"{addr}" is not a resource address (kind/name, kinds: {", ".join(KINDS)})'
        )
    if kind != "integration":
        return kind, rest, None  # admin names are e-mail addresses: "@" is part of them
    name, at, store = rest.rpartition("@")
    if not at or not name or not store:
        raise ValueError(f'"{addr}": an integration address is integration/NAME@STORE')
    return kind, name, store


def secret_paths(kind: str, body: Body) -> list[str]:
    """Secret sub-addresses of a body, e.g. `value` or `fields.client_id`."""
    if kind == "credentials":
        return [f"fields.{name}" for name in sorted(body.get("fields", {}))]
    return list(SECRET_FIELDS.get(kind, ()))


def secret_address(addr: str, path: str) -> str:
    """The string a secret's fingerprint is bound to: `credentials/xero#client_id`."""
    return f"{addr}#{path.removeprefix('fields.')}"


Action = Literal["create", "update", "delete"]
