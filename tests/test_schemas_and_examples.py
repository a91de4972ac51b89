"""The committed schemas match the models, and the examples are real: they validate."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, Repo
from hubops import schemas
from hubops.manifest.models import EVENT_TYPES, TEST_EVENT
from hubops.runtime.webhooks import events

EXAMPLES = REPO / "examples"
HEADER = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def test_committed_schemas_equal_generated() -> None:
    generated = schemas.generate()
    committed = {p.name for p in (REPO / "schemas").glob("*.schema.json")}
    assert committed == set(generated), "run `hubops schema --out schemas`"
    for name, schema in generated.items():
        assert (REPO / "schemas" / name).read_text() == schemas.render(schema), (
            f"schemas/{name} is stale: run `hubops schema --out schemas`"
        )


def test_committed_event_schemas_equal_generated() -> None:
    generated = events.json_schemas()
    folder = REPO / "schemas" / "events"
    assert {p.name for p in folder.glob("*.schema.json")} == set(generated), (
        "run `hubops schema --out schemas`"
    )
    for name, schema in generated.items():
        assert (folder / name).read_text() == schemas.render(schema), (
            f"schemas/events/{name} is stale: run `hubops schema --out schemas`"
        )
    assert set(generated) == {f"{t}.schema.json" for t in (*EVENT_TYPES, TEST_EVENT)}


def test_schema_command_writes_files(tmp_path: Path, hubops) -> None:  # type: ignore[no-untyped-def]
    result = hubops("schema", "--out", str(tmp_path / "out"))
    assert result.code == 0
    assert json.loads((tmp_path / "out" / "tenant.schema.json").read_text())["title"] == "Tenant"
    test_event = json.loads((tmp_path / "out" / "events" / "webhook.test.schema.json").read_text())
    assert test_event["properties"]["type"]["const"] == "webhook.test"


def _manifests() -> list[Path]:
    files = [*sorted((EXAMPLES / "tenants").glob("*/*.yaml")), EXAMPLES / "catalog.yaml"]
    return [f for f in files if not f.name.endswith(".sops.yaml")]


def documents_with_modelines(path: Path) -> list[tuple[str | None, dict[str, object]]]:
    """Each document of a YAML file with the schema its first line names (None: no modeline).

    yaml-language-server reads the modeline of each document, so each needs its own.
    """
    chunks: list[list[str]] = [[]]
    for line in path.read_text().splitlines():
        if line == "---":
            chunks.append([])
        else:
            chunks[-1].append(line)
    out = []
    for chunk in chunks:
        match = HEADER.match(chunk[0]) if chunk else None
        out.append((match.group(1) if match else None, yaml.safe_load("\n".join(chunk))))
    return out


def assert_every_document_names_its_schema(path: Path) -> int:
    """Every document starts with a modeline whose schema exists and accepts it."""
    documents = documents_with_modelines(path)
    for number, (schema_ref, document) in enumerate(documents, start=1):
        assert schema_ref is not None, (
            f"{path.name}: document {number} does not start with "
            "`# yaml-language-server: $schema=...`"
        )
        schema_path = (path.parent / schema_ref).resolve()
        assert schema_path.is_file(), f"{path.name}: document {number}: no {schema_ref}"
        schema = json.loads(schema_path.read_text())
        jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)
    return len(documents)


@pytest.mark.parametrize("path", _manifests(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_document_starts_with_a_schema_modeline_that_accepts_it(
    path: Path,
) -> None:
    assert_every_document_names_its_schema(path)


def test_the_examples_hold_many_documents_per_file() -> None:
    # Guards the test above: files with several documents are where modelines were missing.
    counts = [len(documents_with_modelines(path)) for path in _manifests()]
    assert sum(counts) >= 21 and max(counts) >= 4


def test_examples_validate_with_the_demo_key() -> None:
    env = {
        "SOPS_AGE_KEY_FILE": str(EXAMPLES / "demo.agekey"),
        "PATH": str(Path(sys.executable).parent),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "hubops", "validate", "examples/tenants"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("Valid: 3 tenants.")


def test_examples_are_varied() -> None:
    catalog = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())
    partners = catalog["spec"]["partners"]
    assert len(partners) >= 8
    assert {p["category"] for p in partners} == {
        "accounting",
        "loyalty",
        "crm",
        "reservations",
        "inventory",
        "online-ordering",
    }
    docs = [
        d
        for f in (EXAMPLES / "tenants").glob("*/*.yaml")
        if not f.name.endswith(".sops.yaml")
        for d in yaml.safe_load_all(f.read_text())
    ]
    tenants = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Tenant"}
    assert len(tenants) >= 3
    assert {t["spec"]["plan"] for t in tenants.values()} == {"pro", "enterprise"}
    assert max(len(t["spec"]["stores"]) for t in tenants.values()) >= 10
    assert any(d["kind"] == "Integration" and d["spec"].get("enabled") is False for d in docs)
    assert any(d["kind"] == "ApiToken" and d["spec"].get("stores") for d in docs)
    assert "DEMO KEY" in (EXAMPLES / "demo.agekey").read_text()


def test_every_imported_document_starts_with_a_schema_modeline(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", "state.db").code == 0
    assert hubops("schema", "--out", "schemas").code == 0
    out = repo.root / "imported" / "acme"
    result = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", "state.db")
    assert result.code == 0, result.text
    manifests = sorted(out.glob("*.yaml"))
    assert [p.name for p in manifests] == ["api.yaml", "integrations.yaml", "tenant.yaml"]
    documents = sum(assert_every_document_names_its_schema(path) for path in manifests)
    assert documents == 5  # the Tenant, two Integrations, an ApiToken and a Webhook
    first = (out / "api.yaml").read_text().splitlines()
    assert first[0] == "# yaml-language-server: $schema=../../schemas/apitoken.schema.json"
    assert first[1].startswith("# Imported by `hubops import` from ")
