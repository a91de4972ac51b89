"""JSON Schemas generated from the models, for editors and for other tools.

The committed `schemas/` folder must equal what this generates (a test
checks), so a manifest's `# yaml-language-server: $schema=…` header always
describes what `hubops validate` accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from hubops.manifest.models import (
    ApiToken,
    Integration,
    PartnerCatalog,
    SecretsFile,
    Tenant,
    Webhook,
)
from hubops.plan import planfile

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_KINDS: dict[str, Any] = {
    "tenant": Tenant,
    "integration": Integration,
    "apitoken": ApiToken,
    "webhook": Webhook,
    "partnercatalog": PartnerCatalog,
    "secrets": SecretsFile,
}

AnyTenantDocument = Annotated[
    Tenant | Integration | ApiToken | Webhook, Field(discriminator="kind")
]


def _finish(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": f"{name}.schema.json", "title": title, **schema}


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every kind plus `manifest` (any kind of a tenant folder)."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in _KINDS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        out[f"{name}.schema.json"] = _finish(schema, name, schema.get("title", name))
    manifest = TypeAdapter(AnyTenantDocument).json_schema(by_alias=True, mode="validation")
    out["manifest.schema.json"] = _finish(manifest, "manifest", "hubops tenant manifest")
    out["plan.schema.json"] = _finish(planfile.schema(), "plan", "hubops plan")
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
