"""Rules for a tenant's secrets files: their shape, and the form of each value.

The shape (which entries exist) is checked on the encrypted file, whose keys
are in clear, so a missing token is reported even without a key. Value forms
(hub_ checksums, whsec_ lengths) need the decrypted values. No message here
quotes a value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hubops.diagnostics import Diagnostic
from hubops.manifest.desired import SecretKeys, SecretValues
from hubops.manifest.load import EncryptedFile, Source, Sourced, validate_model
from hubops.manifest.models import SecretsFile
from hubops.manifest.secrets import DecryptFailure, Secret
from hubops.tokens import token_problem, webhook_secret_problem

# How each kind of secret value is checked, named and minted.
VALUE_FORMS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "tokens": (token_problem, "hub_ token"),
    "webhooks": (webhook_secret_problem, "whsec_ signing secret"),
}
GENERATE = {"tokens": "hubops token new", "webhooks": "hubops webhook-secret new"}


def _without_metadata(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in tree.items() if k != "sops"}


def _first(
    table: Mapping[str, object], section: str, name: str, source: Source, diags: list[Diagnostic]
) -> bool:
    """True when `name` is new; otherwise records that two files define it."""
    if name not in table:
        return True
    diags.append(
        source.diag(
            f"{section}.{name} is also defined in another secrets file of this tenant; "
            "keep each entry in one file",
            at_key=True,
        )
    )
    return False


def secret_keys(files: list[EncryptedFile]) -> tuple[SecretKeys, list[Diagnostic]]:
    keys = SecretKeys(files=[f.source.file for f in files])
    diags: list[Diagnostic] = []
    for file in files:
        shape, problems = validate_model(
            SecretsFile, _without_metadata(file.tree), file.source, echo_values=False
        )
        diags += problems
        if shape is None:
            keys.complete = False
            continue
        for name, fields in shape.credentials.items():
            source = file.source.at("credentials", name)
            if _first(keys.credentials, "credentials", name, source, diags):
                keys.credentials[name] = Sourced(frozenset(fields), source)
        for section, table, names in (
            ("tokens", keys.tokens, shape.tokens),
            ("webhooks", keys.webhooks, shape.webhooks),
        ):
            for name in names:
                source = file.source.at(section, name)
                if _first(table, section, name, source, diags):
                    table[name] = source
    return keys, diags


def secret_values(
    files: list[EncryptedFile], decrypted: dict[Path, dict[str, Any] | DecryptFailure]
) -> tuple[SecretValues | None, list[Diagnostic]]:
    values = SecretValues()
    diags: list[Diagnostic] = []
    complete = True
    for file in files:
        data = decrypted.get(file.path)
        if data is None:
            complete = False
            continue
        if isinstance(data, DecryptFailure):
            diags.append(file.source.diag(f"cannot be decrypted: {data.reason}"))
            complete = False
            continue
        if validate_model(SecretsFile, _without_metadata(file.tree), file.source)[0] is None:
            complete = False  # its keys are wrong: `secret_keys` reported each problem once
            continue
        shape, problems = validate_model(SecretsFile, data, file.source, echo_values=False)
        diags += problems
        if shape is None:
            complete = False
            continue
        for name, fields in shape.credentials.items():
            values.credentials[name] = {k: Secret(v) for k, v in fields.items()}
            for field_name, value in fields.items():
                if not value.strip():
                    diags.append(
                        file.source.diag(
                            f"credentials.{name}.{field_name} is empty; set it with `sops edit`",
                            "credentials",
                            name,
                            field_name,
                        )
                    )
        for section, table in (("tokens", values.tokens), ("webhooks", values.webhooks)):
            check, what = VALUE_FORMS[section]
            entries: dict[str, str] = getattr(shape, section)
            for name, value in entries.items():
                table[name] = Secret(value)
                problem = check(value)
                if problem:
                    diags.append(
                        file.source.diag(
                            f"{section}.{name} is not a valid {what}: {problem}; "
                            f"generate one with `{GENERATE[section]}`",
                            section,
                            name,
                        )
                    )
    return (values if complete else None), diags


def duplicate_tokens(
    tenants: list[tuple[str, SecretValues, SecretKeys]],
) -> list[Diagnostic]:
    """A token value may serve one ApiToken only (the runtime finds tokens by value)."""
    seen: dict[str, str] = {}
    diags: list[Diagnostic] = []
    for tenant, values, keys in tenants:
        for name, secret in sorted(values.tokens.items()):
            digest = hashlib.sha256(secret.reveal().encode()).hexdigest()
            where = f"tokens.{name} of tenant {tenant}"
            if digest in seen and name in keys.tokens:
                diags.append(
                    keys.tokens[name].diag(
                        f"{where} has the same value as {seen[digest]}; every token needs its "
                        "own value (generate one with `hubops token new`)",
                    )
                )
            seen.setdefault(digest, where)
    return diags
