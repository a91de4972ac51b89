"""Desired state in the normalized form: validated manifests -> `address -> body`.

Secrets become fingerprint markers. A fingerprint is computed from the
decrypted value when the tenant's secrets files were decrypted, and taken
from what the runtime recorded at the last apply when they were not (their
digest is unchanged, so their values are too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hubops.fingerprint import fingerprint, marker
from hubops.manifest.desired import SecretKeys, SecretValues, TenantConfig
from hubops.manifest.secrets import Secret
from hubops.manifest.ssh_keys import key_identity
from hubops.state import CONNECTIONS_ADDRESS, State, address
from hubops.utc import format_utc

FingerprintOf = Callable[[str], str]


def entry_addresses(keys: SecretKeys) -> list[str]:
    """The secret address of every entry the secrets files hold."""
    out = [
        f"credentials/{name}#{field}"
        for name, entry in keys.credentials.items()
        for field in sorted(entry.value)
    ]
    out += [f"token/{name}#value" for name in keys.tokens]
    out += [f"webhook/{name}#secret" for name in keys.webhooks]
    return sorted(out)


def tree_entry_addresses(tree: Mapping[str, Any]) -> set[str]:
    """Secret addresses of the entries of an encrypted secrets file (its keys are in clear)."""
    out: set[str] = set()
    for name, fields in (tree.get("credentials") or {}).items():
        out.update(f"credentials/{name}#{f}" for f in (fields if isinstance(fields, dict) else {}))
    out.update(f"token/{name}#value" for name in tree.get("tokens") or {})
    out.update(f"webhook/{name}#secret" for name in tree.get("webhooks") or {})
    return out


def secret_value(values: SecretValues, secret_addr: str) -> Secret | None:
    resource, _, field = secret_addr.partition("#")
    kind, _, name = resource.partition("/")
    if kind == "credentials":
        return values.credentials.get(name, {}).get(field)
    if kind == "token":
        return values.tokens.get(name)
    if kind == "webhook":
        return values.webhooks.get(name)
    return None


@dataclass
class Fingerprints:
    """Fingerprint of each secret of one tenant, from values or from the runtime's record."""

    tenant_key: bytes
    values: SecretValues | None
    recorded: dict[str, str]

    def __call__(self, secret_addr: str) -> str:
        if self.values is not None:
            value = secret_value(self.values, secret_addr)
            if value is not None:
                return fingerprint(self.tenant_key, secret_addr, value.reveal())
        return self.recorded[secret_addr]

    def all_entries(self, keys: SecretKeys) -> dict[str, str]:
        return {addr: self(addr) for addr in entry_addresses(keys)}


def _sorted(items: Iterable[str] | None) -> list[str] | None:
    return None if items is None else sorted(set(items))


def desired_state(config: TenantConfig, fp: FingerprintOf) -> State:
    spec = config.tenant.value.spec
    state: State = {
        address("tenant", config.name): {
            "displayName": spec.display_name,
            "plan": spec.plan,
            "settings": {
                "instantOrdering": spec.settings.instant_ordering,
                "termsOfServiceUrl": spec.settings.terms_of_service_url,
            },
        }
    }
    for store in spec.stores:
        state[address("store", store.id)] = {"name": store.name, "timezone": store.timezone}
    hub = spec.licenses.integration_hub
    if hub is not None:
        state[address("license", "integrationHub")] = {
            "quantity": hub.quantity,
            "stores": sorted(set(hub.stores)),
        }
    for admin in spec.admins:
        state[address("admin", admin.email.lower())] = {"role": admin.role}
    for name, integration in config.integrations.items():
        integ = integration.value.spec
        for store_id in integ.stores:
            state[address("integration", name, store_id)] = {
                "partner": integ.partner,
                "enabled": integ.enabled,
                "config": dict(sorted(integ.config.items())),
                "shopId": integ.shop_mapping.get(store_id),
                "credentials": integ.credentials,
            }
        if integ.credentials is not None:
            entry = config.secret_keys.credentials[integ.credentials]
            creds = address("credentials", integ.credentials)
            state[creds] = {"fields": {f: marker(fp(f"{creds}#{f}")) for f in sorted(entry.value)}}
    for name, api_token in config.tokens.items():
        token = api_token.value.spec
        expires = token.expires_at
        state[address("token", name)] = {
            "scopes": sorted(set(token.scopes)),
            "stores": _sorted(token.stores),
            "expiresAt": None if expires is None else format_utc(expires),
            "value": marker(fp(f"token/{name}#value")),
        }
    for name, webhook in config.webhooks.items():
        hook = webhook.value.spec
        state[address("webhook", name)] = {
            "url": hook.url,
            "events": sorted(set(hook.events)),
            "stores": _sorted(hook.stores),
            "enabled": hook.enabled,
            "integration": hook.integration,
            "secret": marker(fp(f"webhook/{name}#secret")),
        }
    for name, user in config.sftp_users.items():
        user_spec = user.value.spec
        state[address("sftp-user", name)] = {
            "publicKeys": sorted({key_identity(line) for line in user_spec.public_keys}),
            "stores": _sorted(user_spec.stores),
        }
    if config.connections is not None:
        decisions = config.connections.value.spec
        state[CONNECTIONS_ADDRESS] = {
            "approved": sorted(set(decisions.approved)),
            "rejected": sorted(set(decisions.rejected)),
        }
    return state
