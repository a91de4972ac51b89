"""The partner catalog the tenant page groups partners by (`HUBOPS_CATALOG`, optional).

The runtime holds no catalog of its own (it is configuration, in git), so
the console reads the same `catalog.yaml` the planner does, once, at
start-up. Without it every partner is shown under "uncategorized", and a
shop mapping counts as needed wherever a store has a shop id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubops.manifest.load import read_catalog
from hubops.manifest.partner_rules import check_catalog
from hubops.runtime.settings import CATALOG_ENV, RuntimeConfigError


@dataclass(frozen=True)
class PartnerInfo:
    name: str
    category: str
    requires_shop_mapping: bool


def load(path: Path | None) -> dict[str, PartnerInfo]:
    """Partner id -> what the console shows of it; RuntimeConfigError naming the problem."""
    if path is None:
        return {}
    doc, diags = read_catalog(path)
    checked, more = check_catalog(doc) if doc is not None else ({}, [])
    problems = [d for d in [*diags, *more] if d.severity == "error"]
    if problems:
        first = problems[0]
        raise RuntimeConfigError(f"{CATALOG_ENV}: {first.where()}: {first.message}")
    return {
        pid: PartnerInfo(p.value.name, p.value.category, p.value.requires_shop_mapping)
        for pid, p in checked.items()
    }
