"""The v1 manifest kinds as pydantic models: the schema half of validation.

Field names are snake_case in Python and camelCase in YAML (aliases), so
pydantic's error locations and the generated JSON Schemas speak the
manifest's own words. Every model forbids unknown fields. Scalars are
strict where YAML would otherwise coerce silently (`"2"` as a quantity,
`yes` as a boolean). Rules that need more than one field or document
(licensed stores, partners, secrets) live in `validate`. The field types
(names, texts, keys, URLs, time zones) come from `hubops.fields`, which the
runtime's change-set bodies use too.

A few rules of `validate` are also said in the generated JSON Schemas, so
that editors flag them as they are typed: lists that must not repeat an
entry carry `uniqueItems`, `acceptTerms` is `const: true` and webhook URLs
have the https pattern (`json_schema_extra` below). `validate` stays the
one that enforces them, with messages that point at the repeated entry.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from hubops.fields import (
    HTTPS_PATTERN,
    Email,
    FieldKey,
    HttpsUrl,
    Name,
    Quantity,
    RetailerId,
    ShopId,
    Text,
    Timezone,
    UtcDatetime,
    WebhookUrl,
)

ApiVersion = Literal["hubops/v1"]
API_VERSION: ApiVersion = "hubops/v1"
MAX_API_TOKENS = 11

# For the JSON Schemas only: validate reports a repeated entry itself, at its position.
UNIQUE: JsonDict = {"uniqueItems": True}
Names = Annotated[list[Name], Field(json_schema_extra=UNIQUE)]

# The pricing tier a tenant is on (the plan `hubops plan` shows is `plan.model.Plan`).
PricingPlan = Literal["pro", "enterprise"]
Role = Literal["owner", "admin"]
Category = Literal["accounting", "loyalty", "crm", "reservations", "inventory", "online-ordering"]
Scope = Literal[
    "orders:read",
    "orders:write",
    "catalog:read",
    "catalog:write",
    "promotions:read",
    "promotions:write",
]
# Every event type a Webhook may subscribe to; the runtime's outbox reads this list too.
EventType = Literal[
    "order.created",
    "order.status_changed",
    "order.cancelled",
    "catalog.upload_finished",
    "connection.requested",
    "connection.approved",
    "connection.rejected",
    "webhook.disabled",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# Sent to one webhook on request, whatever its `events` list: never subscribed to.
TEST_EVENT = "webhook.test"
# The events about an order (the others are about a catalog upload or a retailer connection).
ORDER_EVENTS = tuple(event for event in EVENT_TYPES if event.startswith("order."))


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )


class Metadata(Model):
    name: Name


class Document(Model):
    """Common envelope of every manifest document."""

    api_version: ApiVersion
    kind: str
    metadata: Metadata


# --- Tenant -----------------------------------------------------------------


class Store(Model):
    id: Name
    name: Text
    timezone: Timezone = "UTC"


class Settings(Model):
    instant_ordering: StrictBool = False
    terms_of_service_url: HttpsUrl | None = None


class IntegrationHubLicense(Model):
    quantity: Quantity | None = None
    stores: Names = []


class Licenses(Model):
    integration_hub: IntegrationHubLicense | None = None


class Admin(Model):
    email: Email
    role: Role


class TenantSpec(Model):
    display_name: Text
    plan: PricingPlan
    settings: Settings = Settings()
    stores: Annotated[list[Store], Field(min_length=1)]
    licenses: Licenses = Licenses()
    admins: list[Admin] = []


class Tenant(Document):
    kind: Literal["Tenant"]
    spec: TenantSpec


# --- Integration ------------------------------------------------------------


class IntegrationSpec(Model):
    partner: Name
    stores: Annotated[Names, Field(min_length=1)]
    enabled: StrictBool = True
    # validate refuses false with the reason; the schema lets editors say so too.
    accept_terms: Annotated[StrictBool, Field(json_schema_extra={"const": True})]
    config: dict[FieldKey, StrictStr] = {}
    shop_mapping: dict[Name, ShopId] = {}
    credentials: Name | None = None


class Integration(Document):
    kind: Literal["Integration"]
    spec: IntegrationSpec


# --- ApiToken ---------------------------------------------------------------


class ApiTokenSpec(Model):
    scopes: Annotated[list[Scope], Field(min_length=1, json_schema_extra=UNIQUE)]
    stores: Names | None = None
    expires_at: UtcDatetime | None = None


class ApiToken(Document):
    kind: Literal["ApiToken"]
    spec: ApiTokenSpec


# --- Webhook ----------------------------------------------------------------


class WebhookSpec(Model):
    # validate checks the URL with the offline SSRF rules (addresses.py), which also admit
    # http to loopback in development; the schema says what production needs: https.
    url: Annotated[WebhookUrl, Field(json_schema_extra={"pattern": HTTPS_PATTERN})]
    events: Annotated[list[EventType], Field(min_length=1, json_schema_extra=UNIQUE)]
    stores: Names | None = None
    enabled: StrictBool = True
    # An Integration of the tenant: its stores are the default (`stores` may narrow them),
    # and events flow only while it is enabled.
    integration: Name | None = None


class Webhook(Document):
    kind: Literal["Webhook"]
    spec: WebhookSpec


# --- SftpUser ---------------------------------------------------------------

# An OpenSSH public key line (`type base64 comment`), checked further in `manifest.ssh_keys`.
PublicKeyLine = Annotated[StrictStr, Field(min_length=1, max_length=16_384)]


class SftpUserSpec(Model):
    public_keys: Annotated[list[PublicKeyLine], Field(min_length=1, max_length=20)]
    stores: list[Name] | None = None


class SftpUser(Document):
    """Logs in over SFTP as `TENANT.NAME` with one of its keys, to upload catalog files."""

    kind: Literal["SftpUser"]
    spec: SftpUserSpec


# --- RetailerConnections ----------------------------------------------------


class RetailerConnectionsSpec(Model):
    approved: list[RetailerId] = []
    rejected: list[RetailerId] = []


class RetailerConnections(Document):
    """The brand's decisions on retailers' connection requests (one per tenant: `default`)."""

    kind: Literal["RetailerConnections"]
    spec: RetailerConnectionsSpec


# --- PartnerCatalog ---------------------------------------------------------


class Partner(Model):
    id: Name
    name: Text
    category: Category
    credential_fields: Annotated[list[FieldKey], Field(json_schema_extra=UNIQUE)] = []
    config_fields: Annotated[list[FieldKey], Field(json_schema_extra=UNIQUE)] = []
    requires_shop_mapping: StrictBool = False
    live_operations: StrictBool = Field(
        default=False,
        description="The partner runs live operational flows: changes to its integrations "
        "and credentials need an owner's approval, whatever its category.",
    )
    docs_url: HttpsUrl | None = Field(
        default=None,
        description="The partner's user guide (https); the Markdown plan links the partner's "
        "name to it.",
    )


class PartnerCatalogSpec(Model):
    partners: list[Partner]


class PartnerCatalog(Document):
    kind: Literal["PartnerCatalog"]
    spec: PartnerCatalogSpec


# --- the decrypted secrets file ---------------------------------------------


class SecretsFile(Model):
    """Shape of a decrypted `*.sops.yaml`; keys are names, values stay in memory only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credentials: dict[Name, dict[FieldKey, StrictStr]] = {}
    tokens: dict[Name, StrictStr] = {}
    webhooks: dict[Name, StrictStr] = {}


TENANT_KINDS: dict[str, type[Document]] = {
    "Tenant": Tenant,
    "Integration": Integration,
    "ApiToken": ApiToken,
    "Webhook": Webhook,
    "SftpUser": SftpUser,
    "RetailerConnections": RetailerConnections,
}
ALL_KINDS: dict[str, type[Document]] = {**TENANT_KINDS, "PartnerCatalog": PartnerCatalog}
