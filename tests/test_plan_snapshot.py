"""Plan reads the tenants root once, with one definition of which files are secrets files."""

from __future__ import annotations

import json
import shutil

from conftest import Repo

DB = "state.db"


def test_a_dot_file_beside_the_secrets_is_no_secrets_file(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    # Loading skips dot-files, so the digest apply records must skip them too.
    shutil.copy(repo.file("secrets.sops.yaml"), repo.file(".draft.sops.yaml"))
    planned = hubops("plan", "tenants", "--runtime", DB, "--format", "json")
    assert planned.code == 0, planned.text
    (tenant,) = json.loads(planned.out)["tenants"]
    assert tenant["changes"] == [] and tenant["secretsDigest"] is None
    applied = hubops("apply", "tenants", "--auto-approve", "--runtime", DB)
    assert applied.code == 0 and applied.out.strip().endswith("No changes."), applied.text
