"""Domain rules across a tenant's documents, the partner catalog and its secrets.

Schema rules are already enforced by the models; what remains needs more
than one field: licensed stores, partner requirements, secret references.
Every rule appends to a list instead of raising, so one run reports all
problems, each pointing at the field to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar, cast

from hubops.addresses import webhook_url_problem
from hubops.diagnostics import Diagnostic, did_you_mean
from hubops.manifest.desired import Catalog, SecretKeys, SecretValues, TenantConfig
from hubops.manifest.load import Source, Sourced, TenantSources, file_diag
from hubops.manifest.models import (
    MAX_API_TOKENS,
    ApiToken,
    Document,
    Integration,
    RetailerConnections,
    SftpUser,
    Tenant,
    Webhook,
)
from hubops.manifest.partner_rules import integration_problems
from hubops.manifest.secret_refs import credential_problems, missing_secret, unused_secrets
from hubops.manifest.ssh_keys import key_identity, key_problem

DocT = TypeVar("DocT", bound=Document)


class _TenantRules:
    """One tenant's cross-document checks; collects diagnostics as it goes."""

    def __init__(self, sources: TenantSources, catalog: Catalog | None, keys: SecretKeys) -> None:
        self.sources = sources
        self.catalog = catalog
        self.keys = keys
        self.diags: list[Diagnostic] = []
        # None while the Tenant document is unusable: store references cannot be checked.
        self.store_ids: set[str] | None = set()
        self.licensed: set[str] = set()

    def error(self, source: Source, message: str, *path: str | int, at_key: bool = False) -> None:
        self.diags.append(source.diag(message, *path, at_key=at_key))

    def stores_exist(
        self, stores: Iterable[str], source: Source, *path: str | int, licensed: bool = False
    ) -> None:
        for index, store in enumerate(stores):
            if self.store_ids is None:
                break
            if store not in self.store_ids:
                hint = did_you_mean(store, self.store_ids)
                self.error(
                    source,
                    f'store "{store}" is not declared in the Tenant\'s spec.stores{hint}; '
                    "declare it there or fix the id",
                    *path,
                    index,
                )
            elif licensed and store not in self.licensed:
                self.error(
                    source,
                    f'store "{store}" is not licensed for the Integration Hub; add it to the '
                    "Tenant's spec.licenses.integrationHub.stores (within its quantity)",
                    *path,
                    index,
                )
        self.diags += source.repeats(list(stores), *path)

    # --- Tenant ---------------------------------------------------------------

    def tenant(self, doc: Sourced[Tenant]) -> None:
        spec, src = doc.value.spec, doc.source
        if doc.value.metadata.name != self.sources.name:
            self.error(
                src,
                f'metadata.name "{doc.value.metadata.name}" must equal the tenant folder name '
                f'"{self.sources.name}"; rename one of them',
                "metadata",
                "name",
            )
        store_ids = self.store_ids = set()
        for index, store in enumerate(spec.stores):
            if store.id in store_ids:
                self.error(
                    src, f'store id "{store.id}" is declared twice', "spec", "stores", index, "id"
                )
            store_ids.add(store.id)
        emails: set[str] = set()
        for index, admin in enumerate(spec.admins):
            if admin.email.lower() in emails:
                self.error(
                    src, f'admin "{admin.email}" is listed twice', "spec", "admins", index, "email"
                )
            emails.add(admin.email.lower())
        self.license(doc)

    def license(self, doc: Sourced[Tenant]) -> None:
        spec, src = doc.value.spec, doc.source
        hub = spec.licenses.integration_hub
        if hub is None:
            return
        path = ("spec", "licenses", "integrationHub")
        self.stores_exist(hub.stores, src, *path, "stores")
        self.licensed = set(hub.stores) & (self.store_ids or set())
        if spec.plan == "pro" and hub.quantity is not None:
            self.error(
                src,
                "quantity is not allowed on the pro plan (add-ons are bought on enterprise); "
                "remove it or set spec.plan: enterprise",
                *path,
                "quantity",
                at_key=True,
            )
        elif spec.plan == "enterprise" and hub.quantity is None and hub.stores:
            self.error(
                src,
                f'missing required field "quantity" in {".".join(path)}: on the enterprise plan '
                f"it is the number of add-ons bought (at least {len(set(hub.stores))})",
                *path,
                at_key=True,
            )
        elif hub.quantity is not None and len(set(hub.stores)) > hub.quantity:
            self.error(
                src,
                f"{len(set(hub.stores))} stores are licensed but quantity is {hub.quantity}; "
                "raise quantity or license fewer stores",
                *path,
                "stores",
            )

    # --- Integration ------------------------------------------------------------

    def integration(self, doc: Sourced[Integration]) -> None:
        spec, src = doc.value.spec, doc.source
        self.stores_exist(spec.stores, src, "spec", "stores", licensed=True)
        if spec.accept_terms is not True:
            self.error(
                src,
                "acceptTerms must be true: the partner's terms have to be accepted "
                "before its integration can be configured",
                "spec",
                "acceptTerms",
            )
        if self.catalog is None:
            return  # the catalog itself is broken and already reported
        partner = self.catalog.get(spec.partner)
        if partner is None:
            hint = did_you_mean(spec.partner, self.catalog)
            self.error(
                src,
                f'partner "{spec.partner}" is not in the partner catalog{hint}',
                "spec",
                "partner",
            )
            return
        p = partner.value
        self.diags += integration_problems(doc, p)
        self.credentials(doc, p.id, p.credential_fields)

    def credentials(self, doc: Sourced[Integration], partner: str, fields: list[str]) -> None:
        self.diags += credential_problems(doc, partner, fields, self.keys, self.sources.folder)

    def _missing_secret(self, section: str, name: str) -> str:
        return missing_secret(self.keys, self.sources.folder, section, name)

    # --- ApiToken and Webhook ---------------------------------------------------

    def token(self, doc: Sourced[ApiToken], position: int) -> None:
        spec, src = doc.value.spec, doc.source
        name = doc.value.metadata.name
        if position >= MAX_API_TOKENS:
            self.error(
                src,
                f"a tenant may have at most {MAX_API_TOKENS} ApiTokens; this is number "
                f"{position + 1}; delete one you no longer use",
                "metadata",
                "name",
            )
        self.diags += src.repeats(spec.scopes, "spec", "scopes")
        if spec.stores is not None:
            self.stores_exist(spec.stores, src, "spec", "stores")
        if spec.expires_at is not None and spec.expires_at <= datetime.now(UTC):
            self.diags.append(
                src.diag(
                    "expiresAt is in the past: this token is already expired",
                    "spec",
                    "expiresAt",
                    severity="warning",
                )
            )
        if name not in self.keys.tokens and self.keys.complete:
            self.error(src, self._missing_secret("tokens", name), "metadata", "name")

    def webhook(self, doc: Sourced[Webhook], integrations: dict[str, Sourced[Integration]]) -> None:
        spec, src = doc.value.spec, doc.source
        name = doc.value.metadata.name
        problem = webhook_url_problem(spec.url)
        if problem:
            self.error(src, f"webhook url is not allowed: {problem}", "spec", "url")
        self.diags += src.repeats(spec.events, "spec", "events")
        if spec.stores is not None:
            self.stores_exist(spec.stores, src, "spec", "stores")
        if spec.integration is not None:
            self.webhook_integration(doc, integrations)
        if name not in self.keys.webhooks and self.keys.complete:
            self.error(src, self._missing_secret("webhooks", name), "metadata", "name")

    def webhook_integration(
        self, doc: Sourced[Webhook], integrations: dict[str, Sourced[Integration]]
    ) -> None:
        """A webhook tied to an Integration: the integration exists, and `stores` only
        narrows the integration's stores (the webhook's events follow that integration)."""
        spec, src = doc.value.spec, doc.source
        tied = integrations.get(spec.integration or "")
        if tied is None:
            hint = did_you_mean(spec.integration or "", integrations)
            self.error(
                src,
                f'integration "{spec.integration}" is not an Integration of this tenant{hint}; '
                "declare it or fix the name",
                "spec",
                "integration",
            )
            return
        covered = set(tied.value.spec.stores)
        declared = self.store_ids
        for index, store in enumerate(spec.stores or []):
            # A store not declared at all is reported once, by `stores_exist`.
            if store not in covered and (declared is None or store in declared):
                self.error(
                    src,
                    f'store "{store}" is not one of integration "{spec.integration}"\'s stores; '
                    "a webhook tied to an integration may only narrow its stores",
                    "spec",
                    "stores",
                    index,
                )

    # --- SftpUser and RetailerConnections ----------------------------------------

    def sftp_user(self, doc: Sourced[SftpUser]) -> None:
        spec, src = doc.value.spec, doc.source
        seen: set[str] = set()
        for index, line in enumerate(spec.public_keys):
            problem = key_problem(line)
            if problem is not None:
                self.error(src, f"public key {index + 1} {problem}", "spec", "publicKeys", index)
            elif key_identity(line) in seen:
                self.error(
                    src, "this public key is listed twice; remove one", "spec", "publicKeys", index
                )
            seen.add(key_identity(line))
        if spec.stores is not None:
            self.stores_exist(spec.stores, src, "spec", "stores")

    def connections(self, docs: list[Sourced[RetailerConnections]]) -> None:
        for doc in docs[1:]:
            self.error(
                doc.source,
                "a tenant has one RetailerConnections document (metadata.name: default); "
                f"merge this one into the one in {docs[0].source.file}",
                "kind",
            )
        for doc in docs[:1]:
            spec, src = doc.value.spec, doc.source
            if doc.value.metadata.name != "default":
                self.error(
                    src, 'the RetailerConnections document is named "default"', "metadata", "name"
                )
            self.diags += src.repeats(spec.approved, "spec", "approved")
            self.diags += src.repeats(spec.rejected, "spec", "rejected")
            approved = set(spec.approved)
            for index, retailer in enumerate(spec.rejected):
                if retailer in approved:
                    self.error(
                        src,
                        f'retailer "{retailer}" is both approved and rejected; keep it in one list',
                        "spec",
                        "rejected",
                        index,
                    )


def _of_kind(docs: list[Sourced[Document]], cls: type[DocT]) -> list[Sourced[DocT]]:
    return [cast(Sourced[DocT], d) for d in docs if isinstance(d.value, cls)]


def _unique(docs: list[Sourced[DocT]], diags: list[Diagnostic]) -> dict[str, Sourced[DocT]]:
    found: dict[str, Sourced[DocT]] = {}
    for doc in docs:
        name = doc.value.metadata.name
        if name in found:
            diags.append(
                doc.source.diag(
                    f'{doc.value.kind} "{name}" is already declared in {found[name].source.file}; '
                    "names must be unique per tenant",
                    "metadata",
                    "name",
                )
            )
            continue
        found[name] = doc
    return found


def check_tenant(
    sources: TenantSources,
    catalog: Catalog | None,
    keys: SecretKeys,
    values: SecretValues | None,
) -> tuple[TenantConfig | None, list[Diagnostic]]:
    """All cross-document rules of one tenant; a config only when there is no error."""
    rules = _TenantRules(sources, catalog, keys)
    tenants = _of_kind(sources.documents, Tenant)
    if not tenants:
        rules.store_ids = None
        if not sources.broken_kinds & {"Tenant", "*"}:  # else its failure is reported already
            rules.diags.append(
                file_diag(
                    sources.folder,
                    "tenant folder has no Tenant document; add one (kind: Tenant, "
                    f"metadata.name: {sources.name}) to a .yaml file in it",
                )
            )
    if len(tenants) > 1:
        for doc in tenants:
            rules.error(
                doc.source,
                "a tenant folder holds exactly one Tenant document, but this one has "
                f"{len(tenants)}; keep one",
                "kind",
            )
    if tenants:
        rules.tenant(tenants[0])
    integrations = _unique(_of_kind(sources.documents, Integration), rules.diags)
    tokens = _unique(_of_kind(sources.documents, ApiToken), rules.diags)
    webhooks = _unique(_of_kind(sources.documents, Webhook), rules.diags)
    for integration in integrations.values():
        rules.integration(integration)
    for position, token in enumerate(tokens.values()):
        rules.token(token, position)
    for webhook in webhooks.values():
        rules.webhook(webhook, integrations)
    sftp_users = _unique(_of_kind(sources.documents, SftpUser), rules.diags)
    for user in sftp_users.values():
        rules.sftp_user(user)
    connections = _of_kind(sources.documents, RetailerConnections)
    rules.connections(connections)
    used_credentials = {
        c for i in integrations.values() if (c := i.value.spec.credentials) is not None
    }
    if not sources.broken_kinds:
        used = {"credentials": used_credentials, "tokens": set(tokens), "webhooks": set(webhooks)}
        rules.diags += unused_secrets(keys, used)
    if not tenants or any(d.severity == "error" for d in rules.diags):
        return None, rules.diags
    config = TenantConfig(
        name=sources.name,
        folder=sources.folder,
        tenant=tenants[0],
        integrations=integrations,
        tokens=tokens,
        webhooks=webhooks,
        sftp_users=sftp_users,
        connections=connections[0] if connections else None,
        secret_keys=keys,
        secrets=values,
    )
    return config, rules.diags
