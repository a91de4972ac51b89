"""The JSON Schemas refuse what `validate` refuses, and name the same field.

Editors check manifests with the committed `schemas/` alone, through a plain
JSON Schema validator. Each case writes one mistake into the valid repository
of conftest, then checks that the schema the file's documents are checked with
refuses it with every error at the field at fault, and that `hubops validate`
refuses it too, pointing at the same line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.exceptions import ValidationError, best_match

from conftest import REPO, Repo

SCHEMAS = REPO / "schemas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def errors(document: Any, schema_name: str) -> list[ValidationError]:
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    return list(validator.iter_errors(json.loads(json.dumps(document, default=str))))


def shown(found: list[ValidationError]) -> list[ValidationError]:
    """What a validator reports for each error: under anyOf (a nullable field), the
    branch that fits best. A `oneOf` over all kinds has no best branch, so it stays
    at the document's root, which is what the discriminator-based schema did."""
    return [best_match([error]) for error in found]


@dataclass
class Mistake:
    id: str
    file: str  # relative to the repository root
    old: str
    new: str
    field: tuple[str | int, ...]  # where in its document the schema must report it
    at: str = ""  # text on the line validate must point at; default: `new`

    @property
    def line_text(self) -> str:
        return self.at or self.new


TENANT, INTEGRATIONS, API = (
    "tenants/acme/tenant.yaml",
    "tenants/acme/integrations.yaml",
    "tenants/acme/api.yaml",
)

MISTAKES = [
    Mistake(
        "repeated-scope",
        API,
        "scopes: [orders:read, orders:write]",
        "scopes: [orders:read, orders:read]",
        ("spec", "scopes"),
    ),
    Mistake(
        "repeated-event",
        API,
        "events: [order.created, order.status_changed, order.cancelled]",
        "events: [order.created, order.created]",
        ("spec", "events"),
    ),
    Mistake(
        "repeated-token-store",
        API,
        "  scopes: [orders:read, orders:write]\n  stores: [acme-001]",
        "  scopes: [orders:read, orders:write]\n  stores: [acme-001, acme-001]",
        ("spec", "stores"),
        at="stores: [acme-001, acme-001]",
    ),
    Mistake(
        "repeated-webhook-store",
        API,
        "  stores: [acme-001]\n  enabled: true",
        "  stores: [acme-001, acme-001]\n  enabled: true",
        ("spec", "stores"),
        at="stores: [acme-001, acme-001]",
    ),
    Mistake(
        "repeated-integration-store",
        INTEGRATIONS,
        "stores: [acme-001, acme-002]",
        "stores: [acme-001, acme-001]",
        ("spec", "stores"),
    ),
    Mistake(
        "repeated-licensed-store",
        TENANT,
        "stores: [acme-001, acme-002]",
        "stores: [acme-001, acme-001]",
        ("spec", "licenses", "integrationHub", "stores"),
    ),
    Mistake(
        "repeated-config-field",
        "catalog.yaml",
        "configFields: [companyId]",
        "configFields: [companyId, companyId]",
        ("spec", "partners", 0, "configFields"),
    ),
    Mistake(
        "repeated-credential-field",
        "catalog.yaml",
        "credentialFields: [client_id, secret_key]",
        "credentialFields: [client_id, client_id]",
        ("spec", "partners", 0, "credentialFields"),
    ),
    Mistake(
        "terms-not-accepted",
        INTEGRATIONS,
        "  acceptTerms: true\n  config:",
        "  acceptTerms: false\n  config:",
        ("spec", "acceptTerms"),
        at="acceptTerms: false",
    ),
    Mistake(
        "shop-mapping-key-not-a-store-id",
        INTEGRATIONS,
        "acme-001: OT-1",
        "Acme_001: OT-1",
        ("spec", "shopMapping"),
    ),
    Mistake(
        "webhook-over-http",
        API,
        "url: https://pos.acme.example/hooks/orders",
        "url: http://pos.acme.example/hooks/orders",
        ("spec", "url"),
    ),
    Mistake(
        "token-api-version",
        API,
        "apiVersion: hubops/v1\nkind: ApiToken",
        "apiVersion: hubops/v2\nkind: ApiToken",
        ("apiVersion",),
        at="apiVersion: hubops/v2",
    ),
    Mistake(
        "webhook-api-version",
        API,
        "apiVersion: hubops/v1\nkind: Webhook",
        "apiVersion: hubops/v2\nkind: Webhook",
        ("apiVersion",),
        at="apiVersion: hubops/v2",
    ),
    Mistake(
        "unknown-kind",
        INTEGRATIONS,
        "kind: Integration",
        "kind: Integrashun",
        ("kind",),
    ),
    Mistake(
        "field-of-another-kind",
        API,
        "  scopes: [orders:read, orders:write]",
        "  scopes: [orders:read, orders:write]\n  events: [order.created]",
        ("spec",),
        at="events: [order.created]",
    ),
]


def schema_of(file: str) -> str:
    return "partnercatalog.schema.json" if file == "catalog.yaml" else "manifest.schema.json"


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_schema_and_validate_refuse_the_mistake_at_its_field(
    mistake: Mistake,
    repo: Repo,
    hubops,  # type: ignore[no-untyped-def]
) -> None:
    path = repo.root / mistake.file
    text = path.read_text()
    assert text.count(mistake.old) >= 1, mistake.old
    for document in yaml.safe_load_all(text):
        assert not errors(document, schema_of(mistake.file)), "the repository starts valid"
    path.write_text(text.replace(mistake.old, mistake.new, 1))

    found = [
        error
        for document in yaml.safe_load_all(path.read_text())
        for error in errors(document, schema_of(mistake.file))
    ]
    assert found, f"{schema_of(mistake.file)} accepts the mistake"
    reported = shown(found)
    assert {tuple(e.absolute_path) for e in reported} == {mistake.field}, [
        (list(e.absolute_path), e.message) for e in reported
    ]

    result = hubops("validate", "tenants")
    assert result.code == 1, result.text
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if mistake.line_text in text)
    diagnostics = [t for t in result.text.splitlines() if t.startswith(f"{mistake.file}:{line}:")]
    assert diagnostics, f"no diagnostic at {mistake.file}:{line}:\n{result.text}"


def test_a_wrong_api_version_is_not_reported_as_unexpected_fields() -> None:
    document = {
        "apiVersion": "hubops/v2",
        "kind": "ApiToken",
        "metadata": {"name": "order-management"},
        "spec": {"scopes": ["orders:read"]},
    }
    messages = [e.message for e in shown(errors(document, "manifest.schema.json"))]
    assert messages == ["'hubops/v1' was expected"], messages


def test_a_document_without_kind_is_refused_for_its_kind() -> None:
    document = {"apiVersion": "hubops/v1", "metadata": {"name": "x"}, "spec": {}}
    reported = shown(errors(document, "manifest.schema.json"))
    assert [e.message for e in reported] == ["'kind' is a required property"]


@pytest.mark.parametrize(
    ("secrets", "field"),
    [
        ({"tokens": {"Order Management": "x"}}, ("tokens",)),
        ({"webhooks": {"orders_to_pos": "x"}}, ("webhooks",)),
        ({"credentials": {"Xero!": {"client_id": "x"}}}, ("credentials",)),
        ({"credentials": {"xero": {"client_id": 5}}}, ("credentials", "xero", "client_id")),
    ],
    ids=["token-name", "webhook-name", "credentials-name", "credential-value"],
)
def test_secrets_schema_refuses_names_validate_refuses(
    secrets: dict[str, Any],
    field: tuple[str, ...],
    repo: Repo,
    hubops,  # type: ignore[no-untyped-def]
) -> None:
    reported = shown(errors(secrets, "secrets.schema.json"))
    assert reported and {tuple(e.absolute_path) for e in reported} == {field}
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1, result.text
    assert "secrets.sops.yaml" in result.text


def test_every_kind_of_a_tenant_folder_is_dispatched() -> None:
    """A new kind in TENANT_KINDS gets its own if/then branch and its own schema file."""
    from hubops.manifest.models import TENANT_KINDS

    manifest = schema("manifest.schema.json")
    assert manifest["properties"]["kind"]["enum"] == list(TENANT_KINDS)
    dispatched = [branch["if"]["properties"]["kind"]["const"] for branch in manifest["allOf"]]
    assert dispatched == list(TENANT_KINDS)
    assert "oneOf" not in manifest and "discriminator" not in json.dumps(manifest)
    for kind in TENANT_KINDS:
        assert (SCHEMAS / f"{kind.lower()}.schema.json").is_file()


def test_schemas_use_no_keyword_validators_ignore() -> None:
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        text = path.read_text()
        jsonschema.Draft202012Validator.check_schema(json.loads(text))
        assert "discriminator" not in text, path.name
        assert "patternProperties" not in text, f"{path.name}: use propertyNames for key patterns"


def test_every_example_document_validates_against_the_manifest_schema() -> None:
    files = sorted((REPO / "examples" / "tenants").glob("*/*.yaml"))
    documents = [
        document
        for file in files
        if not file.name.endswith(".sops.yaml")
        for document in yaml.safe_load_all(file.read_text())
    ]
    assert len(documents) >= 20
    for document in documents:
        assert not errors(document, "manifest.schema.json"), document["metadata"]
    catalog = yaml.safe_load((REPO / "examples" / "catalog.yaml").read_text())
    assert not errors(catalog, "partnercatalog.schema.json")
