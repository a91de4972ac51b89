"""The v1 manifest kinds as pydantic models: the schema half of validation.

Field names are snake_case in Python and camelCase in YAML (aliases), so
pydantic's error locations and the generated JSON Schemas speak the
manifest's own words. Every model forbids unknown fields. Scalars are
strict where YAML would otherwise coerce silently (`"2"` as a quantity,
`yes` as a boolean). Rules that need more than one field or document
(licensed stores, partners, secrets) live in `validate`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic.alias_generators import to_camel

API_VERSION = "hubops/v1"
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
NAME_RULE = (
    "lowercase letters, digits and '-', 1 to 63 characters, "
    "starting and ending with a letter or digit"
)
MAX_API_TOKENS = 11

Name = Annotated[StrictStr, Field(pattern=NAME_PATTERN)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=200)]
HttpsUrl = Annotated[StrictStr, Field(pattern=r"^https://[^\s/?#]+[^\s]*$", max_length=2048)]
Email = Annotated[StrictStr, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]

Plan = Literal["pro", "enterprise"]
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
EventType = Literal["order.created", "order.status_changed", "order.cancelled"]


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

    api_version: Literal["hubops/v1"]
    kind: str
    metadata: Metadata


# --- Tenant -----------------------------------------------------------------


class Store(Model):
    id: Name
    name: Text
    timezone: StrictStr = "UTC"


class Settings(Model):
    instant_ordering: StrictBool = False
    terms_of_service_url: HttpsUrl | None = None


class IntegrationHubLicense(Model):
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    stores: list[Name] = []


class Licenses(Model):
    integration_hub: IntegrationHubLicense | None = None


class Admin(Model):
    email: Email
    role: Role


class TenantSpec(Model):
    display_name: Text
    plan: Plan
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
    stores: Annotated[list[Name], Field(min_length=1)]
    enabled: StrictBool = True
    accept_terms: StrictBool
    config: dict[StrictStr, StrictStr] = {}
    shop_mapping: dict[Name, Annotated[StrictStr, Field(min_length=1)]] = {}
    credentials: Name | None = None


class Integration(Document):
    kind: Literal["Integration"]
    spec: IntegrationSpec


# --- ApiToken ---------------------------------------------------------------


class ApiTokenSpec(Model):
    scopes: Annotated[list[Scope], Field(min_length=1)]
    stores: list[Name] | None = None
    expires_at: AwareDatetime | None = None


class ApiToken(Document):
    kind: Literal["ApiToken"]
    spec: ApiTokenSpec


# --- Webhook ----------------------------------------------------------------


class WebhookSpec(Model):
    url: Annotated[StrictStr, Field(min_length=1, max_length=2048)]
    events: Annotated[list[EventType], Field(min_length=1)]
    stores: list[Name] | None = None
    enabled: StrictBool = True


class Webhook(Document):
    kind: Literal["Webhook"]
    spec: WebhookSpec


# --- PartnerCatalog ---------------------------------------------------------


class Partner(Model):
    id: Name
    name: Text
    category: Category
    credential_fields: list[Annotated[StrictStr, Field(min_length=1)]] = []
    config_fields: list[Annotated[StrictStr, Field(min_length=1)]] = []
    requires_shop_mapping: StrictBool = False


class PartnerCatalogSpec(Model):
    partners: list[Partner]


class PartnerCatalog(Document):
    kind: Literal["PartnerCatalog"]
    spec: PartnerCatalogSpec


# --- the decrypted secrets file ---------------------------------------------


class SecretsFile(Model):
    """Shape of a decrypted `*.sops.yaml`; keys are names, values stay in memory only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credentials: dict[Name, dict[StrictStr, StrictStr]] = {}
    tokens: dict[Name, StrictStr] = {}
    webhooks: dict[Name, StrictStr] = {}


TENANT_KINDS: dict[str, type[Document]] = {
    "Tenant": Tenant,
    "Integration": Integration,
    "ApiToken": ApiToken,
    "Webhook": Webhook,
}
ALL_KINDS: dict[str, type[Document]] = {**TENANT_KINDS, "PartnerCatalog": PartnerCatalog}
