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

from conftest import REPO
from hubops import schemas

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


def test_schema_command_writes_files(tmp_path: Path, hubops) -> None:  # type: ignore[no-untyped-def]
    result = hubops("schema", "--out", str(tmp_path / "out"))
    assert result.code == 0
    assert json.loads((tmp_path / "out" / "tenant.schema.json").read_text())["title"] == "Tenant"


def _manifests() -> list[Path]:
    files = [*sorted((EXAMPLES / "tenants").glob("*/*.yaml")), EXAMPLES / "catalog.yaml"]
    return [f for f in files if not f.name.endswith(".sops.yaml")]


@pytest.mark.parametrize("path", _manifests(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_examples_carry_a_schema_header_that_accepts_them(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    match = HEADER.match(first)
    assert match, f"{path.name} must start with a yaml-language-server header"
    schema_path = (path.parent / match.group(1)).resolve()
    schema = json.loads(schema_path.read_text())
    for document in yaml.safe_load_all(path.read_text()):
        jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)


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
