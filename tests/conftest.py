"""Shared fixtures: a real age key, real sops encryption, and a small valid config repository.

Tests change one thing in the valid repository and check what a user sees.
The fixtures of a live `hubops serve` (`server`, `admin`, `tenant`) are in
`partner_env.py`; the one with a webhook and its loopback receiver (`hub`) in
`webhook_hub.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest
import yaml

from databases import fresh_database
from hubops.cli import run
from hubops.manifest.secrets import encrypt
from hubops.tokens import new_token, new_webhook_secret

pytest_plugins = ["partner_env", "console_env", "webhook_hub"]

REPO = Path(__file__).resolve().parent.parent
# What `hubops plan` prints for the one tenant of `repo` once applied and not changed since.
UNCHANGED_SINCE_APPLY = "1 tenant unchanged (1 not parsed: as at its last apply).\nNo changes.\n"

CATALOG = """\
apiVersion: hubops/v1
kind: PartnerCatalog
metadata: {name: default}
spec:
  partners:
    - id: xero
      name: Xero
      category: accounting
      credentialFields: [client_id, secret_key]
      configFields: [companyId]
    - id: opentable
      name: OpenTable
      category: reservations
      credentialFields: [client_id, client_secret]
      requiresShopMapping: true
    - id: stampme
      name: StampMe
      category: loyalty
"""

TENANT = """\
apiVersion: hubops/v1
kind: Tenant
metadata:
  name: acme
spec:
  displayName: Acme Burgers
  plan: enterprise
  settings:
    instantOrdering: true
    termsOfServiceUrl: https://acme.example/terms
  stores:
    - id: acme-001
      name: Acme Downtown
      timezone: Europe/Berlin
    - id: acme-002
      name: Acme Airport
    - id: acme-003
      name: Acme Unlicensed
  licenses:
    integrationHub:
      quantity: 2
      stores: [acme-001, acme-002]
  admins:
    - email: ops@acme.example
      role: owner
"""

INTEGRATIONS = """\
apiVersion: hubops/v1
kind: Integration
metadata:
  name: xero
spec:
  partner: xero
  stores: [acme-001, acme-002]
  enabled: true
  acceptTerms: true
  config:
    companyId: "12345"
  credentials: xero
---
apiVersion: hubops/v1
kind: Integration
metadata:
  name: opentable
spec:
  partner: opentable
  stores: [acme-001]
  acceptTerms: true
  shopMapping:
    acme-001: OT-1
  credentials: opentable
"""

API = """\
apiVersion: hubops/v1
kind: ApiToken
metadata:
  name: order-management
spec:
  scopes: [orders:read, orders:write]
  stores: [acme-001]
  expiresAt: 2099-12-31T00:00:00Z
---
apiVersion: hubops/v1
kind: Webhook
metadata:
  name: orders-to-pos
spec:
  url: https://pos.acme.example/hooks/orders
  events: [order.created, order.status_changed, order.cancelled]
  stores: [acme-001]
  enabled: true
"""


@dataclass
class AgeKey:
    identity: str
    recipient: str
    path: Path


def make_age_key(folder: Path, name: str = "key.txt") -> AgeKey:
    identity = pyrage.x25519.Identity.generate()
    path = folder / name
    path.write_text(f"{identity}\n")
    return AgeKey(str(identity), str(identity.to_public()), path)


@pytest.fixture
def age_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> AgeKey:
    key = make_age_key(tmp_path_factory.mktemp("keys"))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.delenv("HUBOPS_ALLOW_LOOPBACK_WEBHOOKS", raising=False)
    return key


def sops_encrypt(plain: dict[str, object], dest: Path, recipient: str) -> None:
    """Encrypt with the real sops binary; the plaintext only passes through a pipe."""
    dest.write_bytes(encrypt(yaml.safe_dump(plain).encode(), [recipient]))


@dataclass
class Repo:
    """A config repository on disk: catalog.yaml and tenants/acme/."""

    root: Path
    key: AgeKey
    secrets: dict[str, dict[str, object]]

    @property
    def tenants(self) -> Path:
        return self.root / "tenants"

    @property
    def tenant(self) -> Path:
        return self.tenants / "acme"

    def file(self, name: str) -> Path:
        return self.tenant / name

    def write(self, name: str, text: str) -> Path:
        path = self.file(name)
        path.write_text(text)
        return path

    def edit(self, name: str, old: str, new: str) -> Path:
        path = self.file(name)
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))
        return path

    def set_secrets(
        self, secrets: dict[str, dict[str, object]], recipient: str | None = None
    ) -> None:
        self.secrets = secrets
        sops_encrypt(secrets, self.file("secrets.sops.yaml"), recipient or self.key.recipient)

    def secret_values(self) -> list[str]:
        out: list[str] = []
        for section in self.secrets.values():
            for value in section.values():
                out += [str(v) for v in value.values()] if isinstance(value, dict) else [str(value)]
        return out

    def line_of(self, name: str, needle: str, occurrence: int = 1) -> int:
        seen = 0
        for number, line in enumerate(self.file(name).read_text().splitlines(), start=1):
            if needle in line:
                seen += 1
                if seen == occurrence:
                    return number
        raise AssertionError(f"{needle!r} not in {name}")


def default_secrets() -> dict[str, dict[str, object]]:
    return {
        "credentials": {
            "xero": {"client_id": "xero-client-TESTSECRET1", "secret_key": "xero-key-TESTSECRET2"},
            "opentable": {
                "client_id": "ot-client-TESTSECRET3",
                "client_secret": "ot-secret-TESTSECRET4",
            },
        },
        "tokens": {"order-management": new_token()},
        "webhooks": {"orders-to-pos": new_webhook_secret()},
    }


@pytest.fixture
def repo(tmp_path: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    root = tmp_path / "config"
    (root / "tenants" / "acme").mkdir(parents=True)
    (root / "catalog.yaml").write_text(CATALOG)
    r = Repo(root, age_key, {})
    r.write("tenant.yaml", TENANT)
    r.write("integrations.yaml", INTEGRATIONS)
    r.write("api.yaml", API)
    r.set_secrets(default_secrets())
    monkeypatch.chdir(root)
    yield r


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test's runtime (SQLite in `tmp_path`, or PostgreSQL)."""
    with fresh_database(tmp_path) as url:
        yield url


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def hubops(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the CLI in-process; returns exit code and what it printed."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def pytest_configure(config: pytest.Config) -> None:
    os.environ.pop("HUBOPS_ALLOW_LOOPBACK_WEBHOOKS", None)
