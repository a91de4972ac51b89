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

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from hubops import fields
from hubops.manifest.models import EventType, PricingPlan, Role, Scope

Body = dict[str, Any]
State = dict[str, Body]

# Long enough for integration/NAME@STORE and admin/EMAIL; the runtime's column holds 400.
MAX_ADDRESS = 400
KINDS = (
    "tenant",
    "store",
    "license",
    "admin",
    "integration",
    "credentials",
    "token",
    "webhook",
    "sftp-user",
    "connections",
)
CONNECTIONS_ADDRESS = "connections/default"
# Informational fields the runtime adds to live bodies as it reads them (a webhook's endpoint
# health, an admin's invitation status): never managed, never part of a plan.
COMPUTED_FIELDS: dict[str, tuple[str, ...]] = {"webhook": ("health",), "admin": ("status",)}
# Where each kind's secrets sit in its body (field names holding markers).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {"token": ("value",), "webhook": ("secret",)}


class Sensitive(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fingerprint: Annotated[StrictStr, Field(alias="$sensitive", min_length=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantSettingsBody(_Body):
    instantOrdering: StrictBool
    termsOfServiceUrl: fields.HttpsUrl | None


class TenantBody(_Body):
    displayName: fields.Text
    plan: PricingPlan
    settings: TenantSettingsBody


class StoreBody(_Body):
    name: fields.Text
    timezone: fields.Timezone


class LicenseBody(_Body):
    quantity: fields.Quantity | None
    stores: list[fields.Name]


class AdminBody(_Body):
    role: Role


class IntegrationBody(_Body):
    partner: fields.Name
    enabled: StrictBool
    config: dict[fields.FieldKey, StrictStr]
    shopId: fields.ShopId | None
    credentials: fields.Name | None


class CredentialsBody(_Body):
    """`fields` maps each credential field name to its sensitive marker."""

    fields: dict[fields.FieldKey, Sensitive]


class TokenBody(_Body):
    scopes: list[Scope]
    stores: list[fields.Name] | None
    expiresAt: fields.UtcTimestamp | None
    value: Sensitive


class WebhookBody(_Body):
    url: fields.WebhookUrl
    events: list[EventType]
    stores: list[fields.Name] | None
    enabled: StrictBool
    secret: Sensitive
    # An Integration the webhook follows (its stores by default, its enabled flag); the
    # default keeps change sets of earlier clients valid.
    integration: fields.Name | None = None


class SftpUserBody(_Body):
    """`publicKeys` as `type base64` (comments dropped: renaming one is no change)."""

    publicKeys: list[Annotated[StrictStr, Field(min_length=1, max_length=16_384)]]
    stores: list[fields.Name] | None


class ConnectionsBody(_Body):
    """The decisions made in git; requests awaiting review are beside the state, not in it."""

    approved: list[fields.RetailerId]
    rejected: list[fields.RetailerId]


BODY_MODELS: dict[str, type[_Body]] = {
    "tenant": TenantBody,
    "store": StoreBody,
    "license": LicenseBody,
    "admin": AdminBody,
    "integration": IntegrationBody,
    "credentials": CredentialsBody,
    "token": TokenBody,
    "webhook": WebhookBody,
    "sftp-user": SftpUserBody,
    "connections": ConnectionsBody,
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


def address_problem(addr: str) -> str | None:
    """Why `addr` is not an address a manifest could produce, or None.

    The runtime refuses such addresses, so live state only ever holds what
    `plan` can diff and `import` can write back as manifests.
    """
    if len(addr) > MAX_ADDRESS or fields.has_control(addr):
        return f"an address has at most {MAX_ADDRESS} characters and no control characters"
    try:
        kind, name, store = parse_address(addr)
    except ValueError:
        kind = addr.partition("/")[0]
        if kind == "integration":
            return "an integration address is integration/NAME@STORE"
        return f"a resource address is KIND/NAME, with KIND one of {', '.join(KINDS)}"
    if kind == "license":
        return None if name == "integrationHub" else "the only license is license/integrationHub"
    if kind == "admin":
        if not fields.is_email(name) or name != name.lower():
            return "an admin address is admin/EMAIL, with a lower-case e-mail address"
        return None
    if not fields.is_name(name) or (store is not None and not fields.is_name(store)):
        return f"names and store ids in addresses must be valid names ({fields.NAME_RULE})"
    return None


def secret_paths(kind: str, body: Body) -> list[str]:
    """Secret sub-addresses of a body, e.g. `value` or `fields.client_id`."""
    if kind == "credentials":
        return [f"fields.{name}" for name in sorted(body.get("fields", {}))]
    return list(SECRET_FIELDS.get(kind, ()))


def secret_address(addr: str, path: str) -> str:
    """The string a secret's fingerprint is bound to: `credentials/xero#client_id`."""
    return f"{addr}#{path.removeprefix('fields.')}"


Action = Literal["create", "update", "delete"]
