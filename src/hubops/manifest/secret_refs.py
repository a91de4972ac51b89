"""Whether manifests and secrets files agree with each other.

Every secret a manifest names must exist in the tenant's secrets files with
exactly the fields its partner needs, and an entry no manifest uses is worth
a warning (a leftover secret is still a secret to rotate). All of this is
read from the encrypted files' keys, so it works without a decryption key.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hubops.diagnostics import Diagnostic, did_you_mean, display_path
from hubops.manifest.desired import SecretKeys
from hubops.manifest.load import Source, Sourced
from hubops.manifest.models import Integration
from hubops.manifest.secret_checks import GENERATE


def missing_secret(keys: SecretKeys, folder: Path, section: str, name: str) -> str:
    present: dict[str, Iterable[str]] = {
        "credentials": keys.credentials,
        "tokens": keys.tokens,
        "webhooks": keys.webhooks,
    }
    files = ", ".join(keys.files) or (
        display_path(folder / "secrets.sops.yaml") + " (none exists yet)"
    )
    hint = did_you_mean(name, present.get(section, ()))
    what = f" (generate it with `{GENERATE[section]}`)" if section in GENERATE else ""
    return (
        f"{section}.{name} is missing from the secrets file {files}{hint}; "
        f"add it with `sops edit`{what}"
    )


def credential_problems(
    doc: Sourced[Integration], partner: str, fields: list[str], keys: SecretKeys, folder: Path
) -> list[Diagnostic]:
    key, src = doc.value.spec.credentials, doc.source
    if key is None:
        if not fields:
            return []
        return [
            src.diag(
                f'missing field "credentials": partner {partner} needs {", ".join(fields)}; '
                "name an entry of the secrets file's credentials map",
                "spec",
                at_key=True,
            )
        ]
    if not fields:
        return [
            src.diag(
                f"partner {partner} takes no credentials; remove this field",
                "spec",
                "credentials",
                at_key=True,
            )
        ]
    entry = keys.credentials.get(key)
    if entry is None:
        if not keys.complete:
            return []  # a secrets file failed to load; that error says it all
        message = missing_secret(keys, folder, "credentials", key)
        return [src.diag(message, "spec", "credentials")]
    diags = [
        entry.source.diag(
            f'credentials.{key} lacks "{field}", required by partner {partner}; '
            "add it with `sops edit`",
            at_key=True,
        )
        for field in fields
        if field not in entry.value
    ]
    for field in sorted(entry.value - set(fields)):
        hint = did_you_mean(field, fields)
        diags.append(
            entry.source.diag(
                f"credentials.{key}.{field} is not a credential field of partner "
                f"{partner}{hint}; it expects exactly {', '.join(fields)}",
                field,
                at_key=True,
            )
        )
    return diags


def unused_secrets(keys: SecretKeys, used: dict[str, set[str]]) -> list[Diagnostic]:
    tables: dict[str, dict[str, Source]] = {
        "credentials": {k: v.source for k, v in keys.credentials.items()},
        "tokens": keys.tokens,
        "webhooks": keys.webhooks,
    }
    return [
        source.diag(
            f"{section}.{name} is not used by any manifest; remove it or add "
            "the manifest that needs it",
            at_key=True,
            severity="warning",
        )
        for section, table in tables.items()
        for name, source in table.items()
        if name not in used[section]
    ]
