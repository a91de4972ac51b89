"""JSON Schemas generated from the models, for editors and for other tools.

The committed `schemas/` folder must equal what this generates (a test
checks), so a manifest's `# yaml-language-server: $schema=…` header always
describes what `hubops validate` accepts.

Two things differ from pydantic's own output, both so that plain JSON Schema
validators (editors among them) refuse what the models refuse and name the
field at fault:

* a dict whose keys have a pattern (a store id, a token name) says it with
  `propertyNames`; pydantic's `patternProperties` lets any other key through;
* `manifest.schema.json`, any document of a tenant folder, picks the kind's
  schema with `if`/`then` on `kind`. pydantic's `oneOf` with an OpenAPI
  `discriminator` is ignored by JSON Schema validators, which then report
  the branches' errors ("scopes was unexpected") instead of the field that
  is wrong. It is built from `TENANT_KINDS`, so a new kind needs no change here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from hubops.manifest.models import ALL_KINDS, TENANT_KINDS, Document, SecretsFile
from hubops.plan import planfile

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class SchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, with constrained dict keys said as `propertyNames`."""

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        json_schema = super().dict_schema(schema)
        patterns: dict[str, Any] | None = json_schema.pop("patternProperties", None)
        if patterns:
            ((pattern, values),) = patterns.items()
            json_schema.setdefault("propertyNames", {})["pattern"] = pattern
            json_schema["additionalProperties"] = values
        return json_schema


MODELINE = "# yaml-language-server: $schema="


def file_name(kind: str) -> str:
    """The schema file of one kind: `ApiToken` -> `apitoken.schema.json`."""
    return f"{kind.lower()}.schema.json"


def _files() -> dict[str, type[BaseModel]]:
    """File name -> model: one schema per kind and one for the secrets file."""
    files: dict[str, type[BaseModel]] = {file_name(k): model for k, model in ALL_KINDS.items()}
    files[file_name("secrets")] = SecretsFile
    return files


def _finish(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": f"{name}.schema.json", "title": title, **schema}


def any_kind(kinds: Mapping[str, type[Document]]) -> dict[str, Any]:
    """One schema for a document of any of `kinds`, dispatching on `kind` with if/then."""
    refs, top = models_json_schema(
        [(model, "validation") for model in kinds.values()],
        by_alias=True,
        schema_generator=SchemaGenerator,
    )
    return {
        "description": "Any document of a tenant folder; `kind` selects its schema.",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": list(kinds)}},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": refs[(model, "validation")],
            }
            for kind, model in kinds.items()
        ],
        "$defs": top["$defs"],
    }


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every kind plus `manifest` (any kind of a tenant folder)."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in _files().items():
        schema = model.model_json_schema(
            by_alias=True, mode="validation", schema_generator=SchemaGenerator
        )
        stem = name.removesuffix(".schema.json")
        out[name] = _finish(schema, stem, schema.get("title", stem))
    manifest = any_kind(TENANT_KINDS)
    out["manifest.schema.json"] = _finish(manifest, "manifest", "hubops tenant manifest")
    out["plan.schema.json"] = _finish(planfile.schema(), "plan", "hubops plan")
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(folder: Path, files: Mapping[str, dict[str, Any]] | None = None) -> list[Path]:
    """Write `files` (file name -> schema; default: `generate()`) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in (generate() if files is None else files).items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
