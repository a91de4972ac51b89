"""The partner catalog's own rules, and what an Integration owes its partner.

A catalog lists each partner once, with its configuration and credential
fields; an Integration of that partner sets exactly its configuration
fields, maps only stores it covers, and maps every one when the partner
requires a shop mapping. Credentials are checked against the secrets files
(`secret_refs`). Every problem names the field to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable

from hubops.diagnostics import Diagnostic, did_you_mean
from hubops.manifest.desired import Catalog
from hubops.manifest.load import Source, Sourced
from hubops.manifest.models import Integration, Partner, PartnerCatalog


def check_catalog(catalog: Sourced[PartnerCatalog]) -> tuple[Catalog, list[Diagnostic]]:
    partners: Catalog = {}
    diags: list[Diagnostic] = []
    for index, partner in enumerate(catalog.value.spec.partners):
        source = catalog.source.at("spec", "partners", index)
        if partner.id in partners:
            diags.append(source.diag(f'partner id "{partner.id}" is listed twice', "id"))
            continue
        partners[partner.id] = Sourced(partner, source)
        diags += source.repeats(partner.credential_fields, "credentialFields")
        diags += source.repeats(partner.config_fields, "configFields")
    return partners, diags


def _missing(
    src: Source,
    wanted: Iterable[str],
    present: Container[str],
    field: str,
    message: Callable[[str], str],
) -> list[Diagnostic]:
    """An error for each `wanted` key not `present` in spec.FIELD, at the field (or at spec)."""
    at = ("spec", field) if present else ("spec",)
    return [src.diag(message(key), *at, at_key=True) for key in wanted if key not in present]


def integration_problems(doc: Sourced[Integration], partner: Partner) -> list[Diagnostic]:
    """Config fields and shop mapping of an Integration against its partner's requirements."""
    spec, src = doc.value.spec, doc.source
    allowed = ", ".join(partner.config_fields) or "none"
    diags = [
        src.diag(
            f'config field "{key}" is not one of partner {partner.id}\'s'
            f"{did_you_mean(key, partner.config_fields)} (allowed: {allowed})",
            "spec",
            "config",
            key,
            at_key=True,
        )
        for key in spec.config
        if key not in partner.config_fields
    ]
    diags += _missing(
        src,
        partner.config_fields,
        spec.config,
        "config",
        lambda key: (
            f'missing config field "{key}", required by partner {partner.id}; add it to spec.config'
        ),
    )
    diags += [
        src.diag(
            f'shopMapping names store "{store}", which this integration does not cover; '
            "add it to spec.stores or remove the mapping",
            "spec",
            "shopMapping",
            store,
            at_key=True,
        )
        for store in spec.shop_mapping
        if store not in spec.stores
    ]
    if partner.requires_shop_mapping:
        diags += _missing(
            src,
            spec.stores,
            spec.shop_mapping,
            "shopMapping",
            lambda store: (
                f"partner {partner.id} requires a shop mapping for every store; "
                f'add "{store}: <partner\'s shop id>" under spec.shopMapping'
            ),
        )
    return diags
