"""How long `hubops validate` takes on a large config repository, and where the time goes.

Generates N tenants (default 1,000 x 10 stores) with real sops-encrypted
secrets files, validates them, and prints the time split into YAML parsing,
decryption and checks. It also times the two parsers on the same files, which is
why valid files go through libyaml and only files with problems through
ruamel.yaml, and, as the baseline of decryption, the sops binary on a sample
of the same secrets files (what every file cost before age-only files were
decrypted in-process).

    python bench/validate_scale.py [--tenants 1000] [--stores 10]

The generated repository is cached under bench/.cache (encrypting a thousand
files takes a while); --fresh regenerates it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyrage
import yaml
from ruamel.yaml import YAML

from hubops.manifest import sops_age
from hubops.manifest.age_keys import find_keys
from hubops.manifest.project import Timings, load_project
from hubops.manifest.secrets import decrypt_many, encrypt, sops_binary
from hubops.manifest.yamlio import load_documents
from hubops.tokens import new_token, new_webhook_secret

HERE = Path(__file__).resolve().parent
CATALOG = Path(__file__).resolve().parent.parent / "examples" / "catalog.yaml"


def tenant_files(index: int, stores: int) -> tuple[dict[str, str], dict[str, object]]:
    name = f"tenant-{index:05d}"
    ids = [f"s{index:05d}-{n:03d}" for n in range(stores)]
    licensed = ids[: max(1, stores - 2)]
    store_lines = "\n".join(
        f"    - {{id: {sid}, name: Store {n}, timezone: Europe/Berlin}}"
        for n, sid in enumerate(ids)
    )
    tenant = f"""apiVersion: hubops/v1
kind: Tenant
metadata:
  name: {name}
spec:
  displayName: Tenant {index}
  plan: enterprise
  settings: {{instantOrdering: true, termsOfServiceUrl: https://t{index}.example/terms}}
  stores:
{store_lines}
  licenses:
    integrationHub:
      quantity: {len(licensed)}
      stores: [{", ".join(licensed)}]
  admins:
    - {{email: ops@t{index}.example, role: owner}}
"""
    mapping = "\n".join(f"    {sid}: UE-{sid}" for sid in licensed[:3])
    integrations = f"""apiVersion: hubops/v1
kind: Integration
metadata: {{name: xero}}
spec:
  partner: xero
  stores: [{", ".join(licensed)}]
  acceptTerms: true
  config: {{companyId: "{index}"}}
  credentials: xero
---
apiVersion: hubops/v1
kind: Integration
metadata: {{name: ubereats}}
spec:
  partner: ubereats
  stores: [{", ".join(licensed[:3])}]
  enabled: false
  acceptTerms: true
  shopMapping:
{mapping}
  credentials: ubereats
"""
    api = f"""apiVersion: hubops/v1
kind: ApiToken
metadata: {{name: orders}}
spec: {{scopes: [orders:read, orders:write]}}
---
apiVersion: hubops/v1
kind: ApiToken
metadata: {{name: store-dev}}
spec: {{scopes: [catalog:read], stores: [{ids[0]}], expiresAt: 2099-01-01T00:00:00Z}}
---
apiVersion: hubops/v1
kind: Webhook
metadata: {{name: orders-to-pos}}
spec:
  url: https://pos.t{index}.example/hooks
  events: [order.created, order.status_changed, order.cancelled]
"""
    secrets: dict[str, object] = {
        "credentials": {
            "xero": {"client_id": f"bench-{index}", "secret_key": f"bench-key-{index}"},
            "ubereats": {"client_id": f"bench-ue-{index}", "client_secret": f"bench-ue-{index}"},
        },
        "tokens": {"orders": new_token(), "store-dev": new_token()},
        "webhooks": {"orders-to-pos": new_webhook_secret()},
    }
    return {"tenant.yaml": tenant, "integrations.yaml": integrations, "api.yaml": api}, secrets


def _encrypt(plain: dict[str, object], dest: Path, recipient: str) -> None:
    dest.write_bytes(encrypt(yaml.safe_dump(plain).encode(), [recipient]))


def generate(root: Path, tenants: int, stores: int) -> Path:
    """Write the repository (cached); returns the age key file."""
    key_file = root / "bench.agekey"
    marker = root / ".complete"
    if marker.exists():
        return key_file
    shutil.rmtree(root, ignore_errors=True)
    (root / "tenants").mkdir(parents=True)
    shutil.copy(CATALOG, root / "catalog.yaml")
    identity = pyrage.x25519.Identity.generate()
    key_file.write_text(f"{identity}\n")
    recipient = str(identity.to_public())
    jobs = []
    for index in range(tenants):
        files, secrets = tenant_files(index, stores)
        folder = root / "tenants" / f"tenant-{index:05d}"
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        jobs.append((secrets, folder / "secrets.sops.yaml"))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        list(pool.map(lambda job: _encrypt(job[0], job[1], recipient), jobs))
    elapsed = time.perf_counter() - started
    print(f"generated {tenants} tenants in {root} (sops encrypt: {elapsed:.1f} s)")
    marker.touch()
    return key_file


def compare_parsers(root: Path) -> tuple[float, float, int]:
    files = [
        p for p in sorted((root / "tenants").glob("*/*.yaml")) if not p.name.endswith(".sops.yaml")
    ]
    texts = [p.read_text() for p in files]
    started = time.perf_counter()
    for text in texts:
        load_documents(text)
    fast = time.perf_counter() - started
    rt = YAML(typ="rt")
    started = time.perf_counter()
    for text in texts:
        list(rt.load_all(text))
    slow = time.perf_counter() - started
    return fast, slow, len(files)


def binary_baseline(root: Path, sample: int) -> tuple[float, int]:
    """Seconds the sops binary takes for `sample` of the secrets files, threaded as before."""
    files = sorted((root / "tenants").glob("*/secrets.sops.yaml"))[:sample]
    trees = {path: yaml.safe_load(path.read_text()) for path in files}
    previous = os.environ.get("HUBOPS_SOPS")
    os.environ["HUBOPS_SOPS"] = previous or sops_binary()  # the binary for every file
    try:
        started = time.perf_counter()
        results = decrypt_many(trees)
        elapsed = time.perf_counter() - started
    finally:
        if previous is None:
            del os.environ["HUBOPS_SOPS"]
    assert all(isinstance(r, dict) for r in results.values()), "the binary must decrypt them"
    return elapsed, len(files)


def in_process_count(root: Path) -> tuple[int, int]:
    files = sorted((root / "tenants").glob("*/secrets.sops.yaml"))
    keys = find_keys()
    done = sum(isinstance(sops_age.decrypt_file(p, keys), dict) for p in files) if keys else 0
    return done, len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--sample", type=int, default=100, help="secrets files the sops binary decrypts (baseline)"
    )
    args = parser.parse_args(argv)
    root = args.workdir or HERE / ".cache" / f"validate-{args.tenants}x{args.stores}"
    if args.fresh:
        shutil.rmtree(root, ignore_errors=True)
    key_file = generate(root, args.tenants, args.stores)
    os.environ["SOPS_AGE_KEY_FILE"] = str(key_file)

    timings = Timings()
    started = time.perf_counter()
    project = load_project(root / "tenants", timings=timings)
    total = time.perf_counter() - started
    assert len(project.tenants) == args.tenants, "every generated tenant must validate"

    def share(seconds: float) -> str:
        return f"{seconds:7.2f} s  {100 * seconds / total:5.1f} %"

    print(
        f"validate {args.tenants} tenants x {args.stores} stores "
        f"({os.cpu_count()} cores): {total:.2f} s wall"
    )
    print(f"  YAML parsing (libyaml)  {share(timings.parse)}")
    done, secrets_files = in_process_count(root)
    print(
        f"  decryption              {share(timings.sops)}   "
        f"({done} of {secrets_files} files in-process)"
    )
    print(f"  checks                  {share(timings.checks)}")
    print(f"  positions (ruamel)      {share(timings.positions)}   (only files with problems)")
    fast, slow, count = compare_parsers(root)
    print(
        f"parsers on the same {count} manifest files: libyaml {fast:.2f} s, "
        f"ruamel round-trip {slow:.2f} s ({slow / fast:.1f}x)"
    )
    print(f"validate / libyaml parsing of the manifests: {total / fast:.1f}x (target: at most 10x)")
    seconds, sampled = binary_baseline(root, args.sample)
    estimate = seconds / sampled * secrets_files
    print(
        f"baseline: the sops binary on {sampled} of the secrets files: {seconds:.2f} s "
        f"(all {secrets_files}: about {estimate:.1f} s, {estimate / max(timings.sops, 1e-9):.0f}x "
        "the decryption above)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
