"""Every validation rule: write the bad manifest, check the message, its file:line:col and exit 1.

Each case edits the valid repository of conftest in one place. `at` names the
file and a text on the line the error must point at (after the edit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conftest import Repo
from hubops.tokens import new_token


@dataclass
class Case:
    id: str
    edits: list[tuple[str, str, str]]
    message: str
    at: tuple[str, str]  # (file, text on the expected line)
    column: int | None = None
    extra: list[str] = field(default_factory=list)
    occurrence: int = 1  # which line holding the `at` text


CASES = [
    # --- schema: fields, types, enums, patterns -----------------------------------------------
    Case(
        "unknown-field-did-you-mean",
        [("tenant.yaml", "  plan: enterprise", "  plna: enterprise")],
        'unknown field "plna" in spec; did you mean "plan"?',
        ("tenant.yaml", "plna:"),
        column=3,
    ),
    Case(
        "unknown-field-no-close-match",
        [("tenant.yaml", "  plan: enterprise", "  plan: enterprise\n  colour: blue")],
        'unknown field "colour" in spec; remove it (allowed here: displayName, plan',
        ("tenant.yaml", "colour:"),
    ),
    Case(
        "enum-with-hint",
        [("tenant.yaml", "plan: enterprise", "plan: entreprise")],
        'spec.plan must be one of "pro", "enterprise", not the text "entreprise"; '
        'did you mean "enterprise"?',
        ("tenant.yaml", "plan: entreprise"),
        column=9,
    ),
    Case(
        "quoted-number",
        [("tenant.yaml", "quantity: 2", 'quantity: "2"')],
        "spec.licenses.integrationHub.quantity must be a whole number",
        ("tenant.yaml", "quantity:"),
    ),
    Case(
        "yaml-1-1-boolean",
        [("tenant.yaml", "instantOrdering: true", "instantOrdering: yes")],
        'spec.settings.instantOrdering must be true or false, not the text "yes"',
        ("tenant.yaml", "instantOrdering"),
    ),
    Case(
        "name-pattern",
        [("tenant.yaml", "- id: acme-002", "- id: Acme_002")],
        'spec.stores[1].id "Acme_002" is not a valid name: use lowercase letters',
        ("tenant.yaml", "Acme_002"),
    ),
    Case(
        "https-terms-url",
        [("tenant.yaml", "https://acme.example/terms", "http://acme.example/terms")],
        "termsOfServiceUrl",
        ("tenant.yaml", "termsOfServiceUrl"),
        extra=["must be an https:// URL"],
    ),
    Case(
        "missing-required-field",
        [("tenant.yaml", "  displayName: Acme Burgers\n", "")],
        'missing required field "displayName" in spec; add it',
        ("tenant.yaml", "spec:"),
        column=1,
    ),
    Case(
        "api-version",
        [("api.yaml", "apiVersion: hubops/v1", "apiVersion: hubops/v2")],
        'apiVersion must be one of "hubops/v1"',
        ("api.yaml", "hubops/v2"),
    ),
    Case(
        "unknown-kind",
        [("api.yaml", "kind: ApiToken", "kind: ApiTokn")],
        'unknown kind "ApiTokn"; did you mean "ApiToken"?',
        ("api.yaml", "kind: ApiTokn"),
    ),
    Case(
        "yaml-syntax",
        [("api.yaml", "scopes: [orders:read, orders:write]", "scopes: [orders:read, orders:write")],
        "YAML syntax error: while parsing a flow sequence (started at line 6, column 11): did not "
        "find expected ',' or ']'",
        ("api.yaml", "stores: [acme-001]"),
    ),
    Case(
        "duplicate-yaml-key",
        [
            (
                "api.yaml",
                "  scopes: [orders:read, orders:write]",
                "  scopes: [orders:read]\n  scopes: [orders:write]",
            )
        ],
        'found duplicate key "scopes"',
        ("api.yaml", "scopes: [orders:write]"),
    ),
    Case(
        "scope-enum",
        [("api.yaml", "orders:write]", "orders:wrte]")],
        'did you mean "orders:write"?',
        ("api.yaml", "orders:wrte"),
    ),
    Case(
        "naive-expiry",
        [("api.yaml", "2099-12-31T00:00:00Z", "2099-12-31T00:00:00")],
        "spec.expiresAt must be a date and time with a time zone",
        ("api.yaml", "expiresAt"),
    ),
    Case(
        "unquoted-config-number",
        [("integrations.yaml", 'companyId: "12345"', "companyId: 12345")],
        "spec.config.companyId must be a string, not the number 12345; put the value in quotes",
        ("integrations.yaml", "companyId"),
    ),
    # --- names and references -----------------------------------------------------------------
    Case(
        "duplicate-integration-name",
        [("integrations.yaml", "  name: opentable", "  name: xero")],
        'Integration "xero" is already declared in tenants/acme/integrations.yaml',
        ("integrations.yaml", "  name: xero"),
        extra=["names must be unique per tenant"],
        occurrence=2,
    ),
    Case(
        "duplicate-store-id",
        [("tenant.yaml", "- id: acme-003", "- id: acme-002")],
        'store id "acme-002" is declared twice',
        ("tenant.yaml", "- id: acme-002"),
        occurrence=2,
    ),
    Case(
        "undeclared-store",
        [("integrations.yaml", "stores: [acme-001, acme-002]", "stores: [acme-001, acme-02]")],
        'store "acme-02" is not declared in the Tenant\'s spec.stores; did you mean "acme-002"?',
        ("integrations.yaml", "acme-02]"),
    ),
    Case(
        "undeclared-store-in-token",
        [("api.yaml", "  stores: [acme-001]\n  expiresAt", "  stores: [acme-009]\n  expiresAt")],
        'store "acme-009" is not declared',
        ("api.yaml", "acme-009"),
    ),
    Case(
        "undeclared-store-in-license",
        [("tenant.yaml", "stores: [acme-001, acme-002]", "stores: [acme-001, acme-004]")],
        'store "acme-004" is not declared',
        ("tenant.yaml", "acme-004"),
    ),
    Case(
        "unlicensed-store",
        [("integrations.yaml", "stores: [acme-001, acme-002]", "stores: [acme-001, acme-003]")],
        'store "acme-003" is not licensed for the Integration Hub',
        ("integrations.yaml", "acme-003"),
    ),
    Case(
        "more-stores-than-quantity",
        [("tenant.yaml", "quantity: 2", "quantity: 1")],
        "2 stores are licensed but quantity is 1; raise quantity or license fewer stores",
        ("tenant.yaml", "stores: [acme-001, acme-002]"),
    ),
    Case(
        "quantity-on-pro",
        [("tenant.yaml", "plan: enterprise", "plan: pro")],
        "quantity is not allowed on the pro plan",
        ("tenant.yaml", "quantity:"),
    ),
    Case(
        "enterprise-needs-quantity",
        [("tenant.yaml", "      quantity: 2\n", "")],
        'missing required field "quantity"',
        ("tenant.yaml", "integrationHub:"),
    ),
    Case(
        "unknown-partner",
        [("integrations.yaml", "partner: xero", "partner: xeroo")],
        'partner "xeroo" is not in the partner catalog; did you mean "xero"?',
        ("integrations.yaml", "partner: xeroo"),
    ),
    Case(
        "missing-config-field",
        [("integrations.yaml", '  config:\n    companyId: "12345"\n', "")],
        'missing config field "companyId", required by partner xero',
        ("integrations.yaml", "spec:"),
    ),
    Case(
        "unknown-config-field",
        [("integrations.yaml", "companyId:", "companyID:")],
        'config field "companyID" is not one of partner xero\'s; did you mean "companyId"?',
        ("integrations.yaml", "companyID"),
    ),
    Case(
        "missing-shop-mapping",
        [("integrations.yaml", "  shopMapping:\n    acme-001: OT-1\n", "")],
        "partner opentable requires a shop mapping for every store",
        ("integrations.yaml", "spec:"),
        occurrence=2,
    ),
    Case(
        "shop-mapping-for-uncovered-store",
        [("integrations.yaml", "    acme-001: OT-1\n", "    acme-001: OT-1\n    acme-002: OT-2\n")],
        'shopMapping names store "acme-002", which this integration does not cover',
        ("integrations.yaml", "acme-002: OT-2"),
    ),
    Case(
        "accept-terms",
        [("integrations.yaml", "acceptTerms: true", "acceptTerms: false")],
        "acceptTerms must be true",
        ("integrations.yaml", "acceptTerms: false"),
    ),
    Case(
        "credentials-required",
        [("integrations.yaml", "  credentials: xero\n", "")],
        'missing field "credentials": partner xero needs client_id, secret_key',
        ("integrations.yaml", "spec:"),
    ),
    Case(
        "credentials-entry-missing",
        [("integrations.yaml", "credentials: xero", "credentials: xeroo")],
        "credentials.xeroo is missing from the secrets file tenants/acme/secrets.sops.yaml; "
        'did you mean "xero"?',
        ("integrations.yaml", "credentials: xeroo"),
    ),
    Case(
        "token-missing",
        [("api.yaml", "name: order-management", "name: order-mgmt")],
        "tokens.order-mgmt is missing from the secrets file",
        ("api.yaml", "name: order-mgmt"),
        extra=["hubops token new"],
    ),
    Case(
        "webhook-secret-missing",
        [("api.yaml", "name: orders-to-pos", "name: orders-pos")],
        "webhooks.orders-pos is missing from the secrets file",
        ("api.yaml", "name: orders-pos"),
    ),
    Case(
        "metadata-name-differs-from-folder",
        [("tenant.yaml", "  name: acme\n", "  name: acme-burgers\n")],
        'metadata.name "acme-burgers" must equal the tenant folder name "acme"',
        ("tenant.yaml", "name: acme-burgers"),
    ),
    Case(
        "second-tenant-document",
        [
            (
                "api.yaml",
                "apiVersion",
                "apiVersion: hubops/v1\nkind: Tenant\nmetadata: {name: acme}\n"
                "spec: {displayName: X, plan: pro, stores: [{id: x, name: X}]}\n---\napiVersion",
            )
        ],
        "a tenant folder holds exactly one Tenant document, but this one has 2",
        ("api.yaml", "kind: Tenant"),
    ),
    Case(
        "bad-timezone",
        [("tenant.yaml", "Europe/Berlin", "Europe/Berln")],
        'spec.stores[0].timezone must be an IANA time zone name such as Europe/Berlin or UTC; did you mean "Europe/Berlin"?',
        ("tenant.yaml", "Europe/Berln"),
    ),
    Case(
        "partner-without-credentials",
        [
            (
                "integrations.yaml",
                "---",
                "---\napiVersion: hubops/v1\nkind: Integration\nmetadata: {name: stamps}\n"
                "spec: {partner: stampme, stores: [acme-001], acceptTerms: true, credentials: xero}\n---",
            )
        ],
        "partner stampme takes no credentials; remove this field",
        ("integrations.yaml", "partner: stampme"),
    ),
    Case(
        "repeated-scope",
        [("api.yaml", "scopes: [orders:read, orders:write]", "scopes: [orders:read, orders:read]")],
        '"orders:read" is listed twice; remove one',
        ("api.yaml", "scopes: [orders:read, orders:read]"),
    ),
    # --- webhooks tied to an integration -----------------------------------------------------
    Case(
        "webhook-unknown-integration",
        [
            (
                "api.yaml",
                "  stores: [acme-001]\n  enabled: true",
                "  enabled: true\n  integration: xeor",
            )
        ],
        'integration "xeor" is not an Integration of this tenant; did you mean "xero"?',
        ("api.yaml", "integration: xeor"),
        column=16,
    ),
    Case(
        "webhook-wider-than-its-integration",
        [
            (
                "api.yaml",
                "  stores: [acme-001]\n  enabled: true",
                "  stores: [acme-001, acme-002]\n  enabled: true\n  integration: opentable",
            )
        ],
        'store "acme-002" is not one of integration "opentable"\'s stores; '
        "a webhook tied to an integration may only narrow its stores",
        ("api.yaml", "stores: [acme-001, acme-002]"),
        column=22,
    ),
    # --- webhook URLs (offline checks) --------------------------------------------------------
    *[
        Case(
            f"webhook-url-{name}",
            [("api.yaml", "https://pos.acme.example/hooks/orders", url)],
            message,
            ("api.yaml", "url:"),
        )
        for name, url, message in [
            ("http", "http://pos.acme.example/hooks", "it must use https"),
            ("localhost", "https://localhost:8443/hooks", 'its host "localhost" is local'),
            ("loopback", "https://127.0.0.1/hooks", "is a loopback address"),
            ("private", "https://10.1.2.3/hooks", "is a private or reserved address"),
            ("decimal-ip", "https://2130706433/hooks", "is a loopback address"),
            ("octal-ip", "https://0177.0.0.1/hooks", "is a loopback address"),
            ("hex-ip", "https://0x7f.0.0.1/hooks", "is a loopback address"),
            ("mapped-ipv6", "https://[::ffff:127.0.0.1]/hooks", "is a loopback address"),
            ("unspecified", "https://0.0.0.0/hooks", "the unspecified address"),
            ("link-local", "https://169.254.169.254/latest", "is a link-local address"),
            ("multicast", "https://[ff02::1]/hooks", "is a multicast address"),
            ("credentials-in-url", "https://user:pw@pos.acme.example/", "must not contain a user"),
        ]
    ],
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case, repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    for file, old, new in case.edits:
        repo.edit(file, old, new)
    result = hubops("validate", "tenants")
    assert result.code == 1, result.text
    lines = [line for line in result.text.splitlines() if case.message in line]
    assert lines, f"expected {case.message!r} in:\n{result.text}"
    file, needle = case.at
    line = repo.line_of(file, needle, case.occurrence)
    prefix = f"tenants/acme/{file}:{line}:"
    assert lines[0].startswith(prefix), f"{lines[0]!r} should start with {prefix!r}"
    if case.column is not None:
        assert lines[0].startswith(f"{prefix}{case.column}: error: ")
    for text in case.extra:
        assert text in lines[0]
    assert "Traceback" not in result.text
    for secret in repo.secret_values():
        assert secret not in result.text


def test_twelve_tokens_is_one_too_many(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    docs = [
        f"apiVersion: hubops/v1\nkind: ApiToken\nmetadata: {{name: t{i:02d}}}\n"
        "spec: {scopes: [orders:read]}\n"
        for i in range(11)
    ]
    repo.write("more-tokens.yaml", "---\n".join(docs))
    secrets = repo.secrets
    secrets["tokens"].update({f"t{i:02d}": new_token() for i in range(11)})  # type: ignore[union-attr]
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1
    errors = [line for line in result.out.splitlines() if "at most 11 ApiTokens" in line]
    assert len(errors) == 1, result.out
    assert errors[0].startswith(
        f"tenants/acme/more-tokens.yaml:{repo.line_of('more-tokens.yaml', 't10')}:"
    )
    assert "this is number 12" in errors[0]


def test_all_errors_reported_together_and_sorted(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit("tenant.yaml", "plan: enterprise", "plan: entreprise")
    repo.edit("api.yaml", "orders:write]", "orders:wrte]")
    repo.edit("integrations.yaml", "acceptTerms: true", "acceptTerms: false")
    result = hubops("validate", "tenants")
    assert result.code == 1
    errors = [line for line in result.out.splitlines() if ": error: " in line]
    assert len(errors) == 3
    assert [e.split(":")[0] for e in errors] == [
        "tenants/acme/api.yaml",
        "tenants/acme/integrations.yaml",
        "tenants/acme/tenant.yaml",
    ]
    assert result.out.splitlines()[-1] == "Found 3 errors in 3 files."


def test_github_annotations(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit("tenant.yaml", "plan: enterprise", "plan: entreprise")
    result = hubops("validate", "tenants", "--format", "github")
    assert result.code == 1
    line = repo.line_of("tenant.yaml", "plan: entreprise")
    annotations = [a for a in result.out.splitlines() if a.startswith("::error ")]
    assert annotations == [
        f"::error file=tenants/acme/tenant.yaml,line={line},col=9,title=hubops validate::"
        'spec.plan must be one of "pro", "enterprise", not the text "entreprise"; '
        'did you mean "enterprise"?'
    ]


def test_warnings_do_not_fail(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit("api.yaml", "2099-12-31T00:00:00Z", "2020-01-01T00:00:00Z")
    result = hubops("validate", "tenants")
    assert result.code == 0, result.text
    assert "warning: expiresAt is in the past" in result.out
